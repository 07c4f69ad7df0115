"""`flask reports warm|rebuild`: build the report cells every report reads (app.services.reports.cells)."""

from __future__ import annotations

import time

import click

from app.reports import bp
from app.services.reports import estimates as rs


@bp.cli.command("warm")
def warm() -> None:
    """Build the report cells of versions that have none yet (after an upgrade; a deployment step)."""
    for code, version, seconds in rs.build_cells(time.perf_counter):
        click.echo(f"{code} v{version}: {seconds:.1f} s")


@bp.cli.command("rebuild")
def rebuild() -> None:
    """Recompute every version's report cells from the responses (after changing responses by hand)."""
    for code, version, seconds in rs.build_cells(time.perf_counter, force=True):
        click.echo(f"{code} v{version}: rebuilt in {seconds:.1f} s")
