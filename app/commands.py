"""Command-line interface: one group per domain, each a thin wrapper over a service."""

from __future__ import annotations

import csv
import io
import itertools
import sys
from datetime import date, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from analysis.errors import QuestionnaireError
from app.extensions import db
from app.inputs import exit_with_errors as _fail
from app.inputs import exit_with_import_report, read_text_file
from app.services.exchange import (
    ExportError,
    ExportFilter,
    export_rows,
    import_responses,
    statfiles,
    write_csv,
)
from app.services.exchange import demo as demo_service
from app.services.questionnaires import (
    QuestionnaireConflict,
    publish_questionnaire,
    validate_file,
    xlsform,
)
from app.services.registry import counter_url, counters_on_air

# ---------------------------------------------------------------- surveys

@click.group("surveys")
def surveys_cli():
    """Validate and load questionnaire files (FORMATS.md §1)."""


def _validate_all(files: tuple[str, ...]):
    loaded, errors = [], []
    for path in files:
        try:
            loaded.append(validate_file(path))
        except QuestionnaireError as exc:
            errors.extend(exc.errors)
    return loaded, errors


@surveys_cli.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def surveys_validate(files):
    """Check questionnaire files; print every error with its file and key path."""
    loaded, errors = _validate_all(files)
    if errors:
        _fail(errors + [f"{len(errors)} error(s); the file(s) are not valid."])
    for questionnaire in loaded:
        click.echo(f"ok: {questionnaire.code} version {questionnaire.version} "
                   f"({len(questionnaire.likert_codes())} criteria)")


@surveys_cli.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@with_appcontext
def surveys_load(files):
    """Publish questionnaire files; if any is invalid, nothing is loaded."""
    loaded, errors = _validate_all(files)
    if errors:
        _fail(errors + [f"{len(errors)} error(s); nothing was loaded."])
    try:
        results = [publish_questionnaire(q) for q in loaded]
    except QuestionnaireConflict as exc:
        db.session.rollback()
        _fail([str(exc), "nothing was loaded."])
    db.session.commit()
    for version, created in results:
        state = "published" if created else "already published, unchanged"
        click.echo(f"{version.questionnaire.code} version {version.version}: {state}")


@surveys_cli.command("import-xlsform")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def surveys_import_xlsform(file):
    """Publish the questionnaire an XLSForm (.xlsx) describes; every problem is listed, nothing stored."""
    path = Path(file)
    if path.stat().st_size > xlsform.MAX_BYTES:
        _fail(f"{path.name}: larger than {xlsform.MAX_BYTES // 1_000_000} MB")
    try:
        questionnaire = xlsform.import_xlsform(path.read_bytes(), path.name)
    except xlsform.XLSFormError as exc:
        _fail(exc.problems + [f"{len(exc.problems)} problem(s); nothing was loaded."])
    try:
        version, created = publish_questionnaire(questionnaire)
    except QuestionnaireConflict as exc:
        db.session.rollback()
        _fail([str(exc), "nothing was loaded."])
    db.session.commit()
    state = "published" if created else "already published, unchanged"
    click.echo(f"{version.questionnaire.code} version {version.version}: {state}")


@surveys_cli.command("export-xlsform")
@click.argument("code")
@click.option("--version", "number", type=int, default=None, help="Version (default: the latest).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True, help="The .xlsx to write.")
@with_appcontext
def surveys_export_xlsform(code, number, output):
    """Write a questionnaire version as an XLSForm (survey, choices and settings sheets)."""
    version = xlsform.stored_version(code, number)
    if version is None:
        _fail(f"export: no questionnaire {code!r}" + (f" version {number}" if number else ""))
    Path(output).write_bytes(xlsform.export_version(version))
    click.echo(f"export: {code} version {version.version} written to {output}", err=True)


# ---------------------------------------------------------------- demo

@click.command("demo")
@click.option("--seed", default=2024, show_default=True, help="Random seed (same seed, same data).")
@click.option("--responses", default=50_000, show_default=True, help="How many responses.")
@click.option("--end-month", default=None, help="Last month of the year of data, YYYY-MM "
              "(default: the previous month).")
@click.option("--if-empty", is_flag=True, help="Do nothing when agencies already exist.")
@with_appcontext
def demo_command(seed, responses, end_month, if_empty):
    """Build the demo province with a year of responses."""
    if not demo_service.database_is_empty():
        if if_empty:
            click.echo("demo: the database already has agencies; nothing done.")
            return
        _fail("demo: the database already has agencies; use an empty database.")
    end = None
    if end_month:
        try:
            end = datetime.strptime(end_month, "%Y-%m").date()
        except ValueError:
            _fail(f"demo: --end-month must look like 2025-06, got {end_month!r}")
    summary = demo_service.build_demo(seed=seed, responses=responses, end_month=end)
    db.session.commit()
    click.echo(f"demo: {summary.agencies} agencies, {summary.counters} counters, "
               f"{summary.services} services, {summary.responses} responses")


# ---------------------------------------------------------------- responses

@click.group("responses")
def responses_cli():
    """Import and export responses (FORMATS.md §2 CSV)."""


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} must be a date like 2025-06-30, got {value!r}")


@responses_cli.command("export")
@click.option("--survey", required=True, help="Questionnaire code.")
@click.option("--agency", default=None, help="Agency code; its whole subtree is exported.")
@click.option("--from", "date_from", default=None, help="First day (inclusive), YYYY-MM-DD.")
@click.option("--to", "date_to", default=None, help="Last day (inclusive), YYYY-MM-DD.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: standard output; required for sav and dta).")
@click.option("--format", "fmt", type=click.Choice(["csv", "sav", "dta"]), default="csv", show_default=True,
              help="csv (FORMATS.md §2), sav (SPSS) or dta (Stata), labelled.")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Language of the SPSS and Stata variable and value labels.")
@with_appcontext
def responses_export(survey, agency, date_from, date_to, output, fmt, lang):
    """Write responses as CSV, SPSS or Stata (dates are in the configured TIMEZONE)."""
    spec = ExportFilter(survey, agency, _parse_date(date_from, "--from"), _parse_date(date_to, "--to"))
    if fmt != "csv":
        _export_statistical(spec, fmt, lang, output)
        return
    rows = export_rows(spec, current_app.config["TIMEZONE"])
    try:
        header = next(rows)
    except ExportError as exc:
        _fail(f"export: {exc}")
    if output:
        with open(output, "w", encoding="utf-8", newline="") as stream:
            count = write_csv(itertools.chain([header], rows), stream)
    else:
        count = write_csv(itertools.chain([header], rows), sys.stdout)
        sys.stdout.flush()
    click.echo(f"export: {count} responses", err=True)


def _export_statistical(spec: ExportFilter, fmt: str, lang: str, output: str | None) -> None:
    if not output:
        _fail(f"export: --format {fmt} writes a binary file: give --output FILE")
    try:
        table = statfiles.statistical_table(spec, current_app.config["TIMEZONE"], lang)
    except ExportError as exc:
        _fail(f"export: {exc}")
    statfiles.write_statistical_file(table, fmt, output)
    click.echo(f"export: {len(table.frame)} responses, {len(table.frame.columns)} variables ({fmt})",
               err=True)


@responses_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def responses_import(file):
    """Check every row, then store all of them or none."""
    try:
        text = read_text_file(file)
    except ValueError as exc:
        _fail(str(exc))
    report = import_responses(io.StringIO(text, newline=""), Path(file).name)
    if not report.ok:
        db.session.rollback()
        exit_with_import_report(report)
    db.session.commit()
    click.echo(f"import: {report.stored} responses stored")


# ---------------------------------------------------------------- counters

@click.group("counters")
def counters_cli():
    """Counters (service points) and their QR addresses."""


@counters_cli.command("list")
@click.option("--format", "fmt", type=click.Choice(["csv", "table"]), default="table",
              show_default=True)
@with_appcontext
def counters_list(fmt):
    """List active counters: code, agency, name, public QR url."""
    counters = counters_on_air()
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["code", "agency", "name", "url"])
        for c in counters:
            writer.writerow([c.code, c.agency.code, c.name_vi, counter_url(c)])
        return
    for c in counters:
        click.echo(f"{c.code:<22} {c.agency.code:<16} {c.name_vi:<14} {counter_url(c)}")
