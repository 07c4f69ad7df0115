"""`flask reports warm`: build and save the reports' aggregate tables as a deployment step."""

from __future__ import annotations

import time

import click

from app.reports import bp
from app.services import reports as rs


@bp.cli.command("warm")
def warm() -> None:
    """Compute the aggregate tables of every questionnaire (default filters) into the instance folder."""
    for code, weighting, seconds in rs.warm_designs(time.perf_counter):
        click.echo(f"{code} ({weighting}): {seconds:.1f} s")
