"""Turning an uploaded file into text, and an import report into a page."""

from __future__ import annotations

import io

from flask import render_template
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.inputs import first_control_character
from app.services.exchange import ImportReport, Problem, problem_of, translated


class UploadError(ValueError):
    """The upload is not UTF-8 text, or holds a control character."""


def text_stream(upload: FileStorage) -> io.StringIO:
    """The upload as text (UTF-8, with or without a byte-order mark)."""
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadError(Problem("the file is not UTF-8 text", source=upload.filename)) from exc
    # Where an imported file's text enters: no NUL or other control character reaches a cell.
    found = first_control_character(text)
    if found is not None:
        raise UploadError(Problem("line %(line)s holds a control character (U+%(code)s), which is not "
                                  "allowed in an imported file", source=upload.filename or "upload",
                                  line=found[0], code=found[1]))
    return io.StringIO(text, newline="")


def finish_import(report: ImportReport, title: str, back: str):
    """Commit a clean import or roll everything back, and show the report."""
    if report.ok:
        db.session.commit()
    else:
        db.session.rollback()
    status = 200 if report.ok else 422
    return render_template("admin/import_report.html", report=report, title=title, back=back,
                           messages=[translated(message) for message in report.errors]), status


def run_import(form, importer, title: str, back: str, **kwargs):
    """Validate an upload form, run an importer over the file and show its report."""
    try:
        stream = text_stream(form.file.data)
    except UploadError as exc:
        report = ImportReport()
        report.add(problem_of(exc))
        return finish_import(report, title, back)
    return finish_import(importer(stream, form.file.data.filename or "upload.csv", **kwargs), title, back)
