"""`flask` commands registered on the app."""

from __future__ import annotations

import click
from flask import Flask, current_app


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo county and demo accounts (safe to run again)."""
        from ops import demo

        loaded = demo.load(current_app.config["DEMO_PASSWORD"])
        click.echo(
            f"demo county: +{loaded.units} units, +{loaded.categories} categories, "
            f"+{loaded.rules} routing rules, +{loaded.users} accounts"
        )

    @app.cli.command("demo-clock")
    @click.option("--yellow-in", default=30, show_default=True, help="Seconds until the yellow card.")
    @click.option("--due-in", default=90, show_default=True, help="Seconds until the red card.")
    def demo_clock(yellow_in: int, due_in: int) -> None:
        """File a demo petition whose clock turns yellow and red within a minute or two."""
        from ops import demo_clock as demo

        petition, note = demo.petition_about_to_cross(yellow_in, due_in)
        click.echo(
            f"{petition.tracking_no}: yellow in {yellow_in} s, red in {due_in} s "
            f"(unit {petition.unit.code}); watch the worker's console and /supervision/"
        )
        if note:
            click.echo(note)

    @app.cli.command("settle-measures")
    def settle_measures() -> None:
        """Add up the months whose measures can no longer change (rq cron does it hourly)."""
        from petitions.measures import stats

        added = stats.settle()
        click.echo(f"added up: {', '.join(added)}" if added else "nothing to add up")

    @app.cli.command("rebuild-facts")
    def rebuild_facts() -> None:
        """Make the measures' facts anew from the record (after loading data in bulk)."""
        from petitions.extensions import db
        from petitions.measures import facts

        facts.rebuild()
        db.session.commit()
        click.echo("measure facts rebuilt")

    @app.cli.command("sweep")
    def sweep() -> None:
        """Run the sweep once now (levels, cards, reminders, outbox jobs)."""
        from notifications import sweep as sweeping

        click.echo(sweeping.run())
