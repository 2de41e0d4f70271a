"""`flask` commands registered on the app."""

from __future__ import annotations

import click
from flask import Flask, current_app


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo county and demo accounts (safe to run again)."""
        from petitions import demo

        loaded = demo.load(current_app.config["DEMO_PASSWORD"])
        click.echo(
            f"demo county: +{loaded.units} units, +{loaded.categories} categories, "
            f"+{loaded.rules} routing rules, +{loaded.users} accounts"
        )
