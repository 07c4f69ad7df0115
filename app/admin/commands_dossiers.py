"""`flask dossiers import FILE`, `timeliness`, `purge-contacts --before DATE`, `demo`.

The import is the admin page's (dossiers.import_dossiers): CSV or XLSX, every row checked, all
stored or none, every error listed with its row and column.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from app.extensions import db
from app.inputs import exit_with_errors as _fail
from app.inputs import exit_with_import_report
from app.models import Agency
from app.services.dossiers import (
    demo_dossier_list,
    import_dossiers,
    purge_contacts_before,
    timeliness_by_agency_month,
)


@click.group("dossiers")
def dossiers_cli():
    """Dossier lists of the one-stop system: import, timeliness, contact purge."""


@dossiers_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def dossiers_import(file):
    """Check every row of a CSV or XLSX dossier list, then store all of them or none."""
    report = import_dossiers(Path(file).read_bytes(), Path(file).name, None)
    if not report.ok:
        db.session.rollback()
        exit_with_import_report(report)
    db.session.commit()
    click.echo(f"dossiers: {report.stored} dossier(s) stored from {report.rows} row(s)")


@dossiers_cli.command("timeliness")
@click.option("--agency", default=None, help="Agency code (default: every agency).")
@click.option("--start", default=None, help="First month, YYYY-MM.")
@click.option("--end", default=None, help="Last month, YYYY-MM.")
@with_appcontext
def dossiers_timeliness(agency, start, end):
    """Per agency (its own dossiers) and month: completed, on time, late, on-time %, apologies."""
    query = select(Agency.id, Agency.code)
    if agency is not None:
        query = query.where(Agency.code == agency)
    codes = dict(db.session.execute(query).all())
    if not codes:
        _fail(f"timeliness: unknown agency code {agency!r}")
    click.echo("agency\tmonth\tcompleted\ton_time\tlate\ton_time_pct\tapologies")
    for (agency_id, month), t in sorted(timeliness_by_agency_month(codes, start, end).items(),
                                        key=lambda kv: (codes[kv[0][0]], kv[0][1])):
        share = "" if t.on_time_share is None else f"{t.on_time_share:.1f}"
        click.echo(f"{codes[agency_id]}\t{month}\t{t.completed}\t{t.on_time}\t{t.late}\t{share}\t{t.apologies}")


@dossiers_cli.command("purge-contacts")
@click.option("--before", required=True, help="Delete the contacts of dossiers completed before this date "
              "(YYYY-MM-DD).")
@with_appcontext
def dossiers_purge_contacts(before):
    """Delete the holders' contacts of dossiers completed before a date (audited)."""
    try:
        day = date.fromisoformat(before)
    except ValueError:
        _fail(f"purge-contacts: --before expects a date like 2025-06-30, got {before!r}")
    deleted = purge_contacts_before(day)
    db.session.commit()
    click.echo(f"purge-contacts: {deleted} contact(s) deleted")


@dossiers_cli.command("demo")
@click.option("--months", default=3, show_default=True, help="The last months with responses to cover.")
@click.option("--response-rate", default=0.5, show_default=True, type=click.FloatRange(0.01, 1),
              help="Dossiers per agency-month = responses / this.")
@click.option("--seed", default=2024, show_default=True, help="Random seed (same seed, same list).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the CSV here instead of importing it.")
@with_appcontext
def dossiers_demo(months, response_rate, seed, output):
    """A made-up dossier list matching the demo's responses (contacts at example.org), imported."""
    data = demo_dossier_list(months, response_rate, seed)
    if output:
        Path(output).write_bytes(data)
        rows = data.count(b"\n") - 1
        click.echo(f"demo: {rows} dossier(s) written to {output}")
        return
    report = import_dossiers(data, "demo-dossiers.csv", None)
    if not report.ok:
        db.session.rollback()
        _fail([str(error) for error in report.errors])
    db.session.commit()
    click.echo(f"demo: {report.stored} dossier(s) imported")
