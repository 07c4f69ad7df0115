"""`flask volumes import FILE` and `flask volumes export`: dossier volumes from the command line.

The import is the browser's (registry.import_volumes_csv): every row checked, all stored or none,
every error listed. The export writes the same columns, so that its file imports again.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from app.extensions import db
from app.inputs import exit_with_errors as _fail
from app.inputs import exit_with_import_report, read_text_file
from app.models import Agency
from app.services.registry import export_volumes_rows, import_volumes_csv, subtree_ids


@click.group("volumes")
def volumes_cli():
    """Dossier volumes (agency, service_point, month, dossiers) in and out as CSV."""


@volumes_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def volumes_import(file):
    """Check every row, then store all of them or none (a figure already stored is replaced)."""
    try:
        text = read_text_file(file)
    except ValueError as exc:
        _fail(str(exc))
    report = import_volumes_csv(io.StringIO(text, newline=""), Path(file).name, None)
    if not report.ok:
        db.session.rollback()
        exit_with_import_report(report)
    db.session.commit()
    click.echo(f"volumes: {report.stored} figure(s) stored from {report.rows} row(s)")


@volumes_cli.command("export")
@click.option("--agency", default=None, help="Agency code; its whole subtree is exported.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: standard output).")
@with_appcontext
def volumes_export(agency, output):
    """Write every stored figure as CSV, in the columns the import reads."""
    agency_ids = None
    if agency is not None:
        agency_id = db.session.scalar(select(Agency.id).where(Agency.code == agency))
        if agency_id is None:
            _fail(f"export: unknown agency code {agency!r}")
        agency_ids = subtree_ids(agency_id)
    rows = list(export_volumes_rows(agency_ids))
    if output:
        with open(output, "w", encoding="utf-8", newline="") as stream:
            csv.writer(stream).writerows(rows)
    else:
        csv.writer(sys.stdout).writerows(rows)
        sys.stdout.flush()
    click.echo(f"export: {len(rows) - 1} figure(s)", err=True)
