"""`flask` commands (FLASK_APP=app): the demo county, the worker and cron, and maintenance."""

from __future__ import annotations

import click
from flask import Flask, current_app

from notifications import sweep as sweeping
from notifications import worker
from ops import demo, demo_clock
from petitions.extensions import db, settings
from petitions.measures import facts, shared, stats


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the demo county and demo accounts (safe to run again)."""
        loaded = demo.load(settings().demo_password)
        click.echo(
            f"demo county: +{loaded.units} units, +{loaded.categories} categories, "
            f"+{loaded.rules} routing rules, +{loaded.users} accounts"
        )

    @app.cli.command("demo-clock")
    @click.option("--yellow-in", default=30, show_default=True, help="Seconds until the yellow card.")
    @click.option("--due-in", default=90, show_default=True, help="Seconds until the red card.")
    def demo_clock_command(yellow_in: int, due_in: int) -> None:
        """File a demo petition whose clock turns yellow and red within a minute or two."""
        petition, note = demo_clock.petition_about_to_cross(yellow_in, due_in)
        click.echo(
            f"{petition.tracking_no}: yellow in {yellow_in} s, red in {due_in} s "
            f"(unit {petition.unit.code}); watch the worker's console and /supervision/"
        )
        if note:
            click.echo(note)

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Run the queued jobs, then stop.")
    @click.option("--simple", is_flag=True, help="Run jobs in this process instead of a forked one.")
    def worker_command(burst: bool, simple: bool) -> None:
        """One RQ worker on the queue, with RQ's scheduler (any number may run, on any machine)."""
        worker.run_worker(current_app._get_current_object(), burst=burst, fork=not simple)

    @app.cli.command("cron")
    def cron_command() -> None:
        """The periodic jobs: the sweep, unrated closures, the measures, the purge (run exactly one)."""
        worker.run_cron(current_app._get_current_object())

    @app.cli.command("settle-measures")
    def settle_measures() -> None:
        """Add up the months whose measures can no longer change (the cron does it hourly)."""
        added = stats.settle()
        click.echo(f"added up: {', '.join(added)}" if added else "nothing to add up")

    @app.cli.command("refresh-public-measures")
    def refresh_public_measures() -> None:
        """Compute the public page's and the stats API's figures anew in Redis (the cron does it)."""
        done = shared.refresh_hot()
        click.echo(f"refreshed: {', '.join(done)}" if done else "nothing refreshed (another process is at it)")

    @app.cli.command("rebuild-facts")
    def rebuild_facts() -> None:
        """Make the measures' facts anew from the record (after loading data in bulk)."""
        facts.rebuild()
        db.session.commit()
        click.echo("measure facts rebuilt")

    @app.cli.command("sweep")
    def sweep() -> None:
        """Run the sweep once now (levels, cards, reminders, outbox jobs)."""
        click.echo(sweeping.run())
