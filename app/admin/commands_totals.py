"""`flask totals export` and `flask totals key`: this installation's signed totals for the national roll-up;
`flask totals trust` and `flask totals import` in a national installation.

The file (docs/FORMATS.md §7) holds per-cell sums, never an answer; FILE.sig beside it is the Ed25519
signature the national office checks with the public key `flask totals key` prints (docs/DEPLOY.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.extensions import db
from app.services.totals import (
    TotalsExportError,
    TotalsImportRefused,
    TotalsRequest,
    export_totals,
    import_totals,
    public_key_pem,
    trust_unit_key,
)


def _columns(text: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip())


@click.group("totals")
def totals_cli():
    """Per-cell sums of a questionnaire over a period, signed, for the national roll-up."""


@totals_cli.command("export")
@click.option("--from", "month_from", required=True, help="First month, YYYY-MM (in TIMEZONE).")
@click.option("--to", "month_to", required=True, help="Last month, YYYY-MM (inclusive).")
@click.option("--survey", default=None, help="Questionnaire code (default: the only published one).")
@click.option("--version", type=int, default=None,
              help="Questionnaire version (default: the latest published).")
@click.option("--unit", default=None, help="This installation's unit code (default: TOTALS_UNIT, or the "
                                           "code of the only top-level agency).")
@click.option("--calibration", default="",
              help="Calibration columns: channel or single-choice question codes.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True,
              help="The Parquet file to write; the signature goes to FILE.sig.")
@with_appcontext
def totals_export(month_from, month_to, survey, version, unit, calibration, output):
    """Write the totals file and its detached signature; nothing is written on an error."""
    request = TotalsRequest(month_from=month_from, month_to=month_to, survey=survey, version=version,
                            unit=unit, calibration=_columns(calibration))
    try:
        result = export_totals(request)
    except TotalsExportError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    path = Path(output)
    # Each file whole or not at all: written beside, then renamed over.
    for target, data in ((path, result.data), (Path(f"{output}.sig"), result.signature)):
        partial = target.with_name(target.name + ".part")
        partial.write_bytes(data)
        os.replace(partial, target)
    if result.key_created:
        click.echo("totals: a new signing key was created; send `flask totals key` to the national office",
                   err=True)
    click.echo(f"totals: {result.survey} v{result.version}, unit {result.unit}, {month_from} to {month_to}: "
               f"{result.responses} responses in {result.rows} cells -> {output} (+ {output}.sig)")


@totals_cli.command("key")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the public key here (default: standard output).")
@with_appcontext
def totals_key(output):
    """Print this installation's public key (PEM), creating the key pair on first use."""
    public, created = public_key_pem()
    if created:
        click.echo("totals: a new signing key was created", err=True)
    if output:
        Path(output).write_bytes(public)
    else:
        click.echo(public.decode("ascii"), nl=False)


@totals_cli.command("trust")
@click.argument("unit")
@click.argument("key_file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def totals_trust(unit, key_file):
    """Register UNIT's public key (what `flask totals key` printed there); a national installation's units
    are its top-level agencies. Audited."""
    try:
        trust_unit_key(unit, Path(key_file).read_bytes(), None)
    except TotalsImportRefused as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"totals: the public key of unit {unit} is registered")


@totals_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--signature", type=click.Path(dir_okay=False), default=None,
              help="The detached signature (default: FILE.sig).")
@with_appcontext
def totals_import(file, signature):
    """Import a unit's signed totals file into this national installation; nothing is stored on a refusal
    (a bad signature, an unknown unit, another questionnaire, an overlapping period). The same unit and
    period again replaces the older file (audited)."""
    sig_path = Path(signature or f"{file}.sig")
    sig = sig_path.read_bytes() if sig_path.exists() else None
    try:
        outcome = import_totals(Path(file).read_bytes(), sig, Path(file).name, None)
    except TotalsImportRefused as exc:
        db.session.rollback()
        click.echo(f"error: {file}: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    row = outcome.stored
    what = f"replaces import {outcome.replaced.id}" if outcome.replaced is not None else "new"
    click.echo(f"totals: unit {row.agency.code}, {row.questionnaire_code} v{row.questionnaire_version}, "
               f"{row.period_from} to {row.period_to}: {row.responses} responses, import {row.id} ({what})")
