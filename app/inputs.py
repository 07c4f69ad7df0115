"""Input checks where text enters the app: control characters, and ids and page numbers in range.

One check runs before every request (`init_app`): the path, the query string,
the form (names, values and file names) and a JSON body may not hold a NUL or
any other control character. Multi-line text (form values, JSON strings) may
hold tab, newline and carriage return; the path and the query string none at
all. Such a request is refused with a 400 whose page says why, in the
visitor's language; nothing reaches a view, so nothing is stored (PostgreSQL
refuses NUL in text and in JSON, so a stored one would break every page that
reads it). Lone surrogates (possible only through JSON's \\ud800 escapes) are
refused the same way. Uploaded files are checked where they are decoded
(`refuse_control_characters`, used by the admin uploads and the CLI import).

Ids in a URL go through the `id` converter (1 … 2**31 - 1, PostgreSQL's
integer): anything else is a 404 before a view runs. Ids and page numbers in a
query string go through `query_id` and `query_page`.

Only the JSON APIs (`JSON_PATHS`) take a JSON body: a page's form sent as JSON
is a 415 (Flask-WTF would read it as the form, and fail on anything but a flat
object).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest, NotFound, UnsupportedMediaType
from werkzeug.routing import IntegerConverter

# PostgreSQL's integer; SQLite's is wider, so this bound suits both.
MAX_ID = 2**31 - 1
# Far beyond any listing's last page; bounds OFFSET (page x size) well inside 64 bits.
MAX_PAGE = 1_000_000

# Unicode's control characters (C0, DEL, C1) and surrogates; LINE also allows tab, newline and CR.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_IN_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_INTEGER = re.compile(r"[+-]?[0-9]{1,40}")
_DIGITS = re.compile(r"[0-9]{1,40}")
# The JSON APIs: the only paths whose views read a JSON body.
JSON_PATHS = ("/api/", "/admin/api/")


class ControlCharacters(BadRequest):
    """A request holding a control character: a 400 whose page names the place."""

    def __init__(self, where: str) -> None:
        super().__init__(_("The request contains a control character (such as a NUL byte) in %(where)s, "
                           "which is not allowed. Please remove it and try again.", where=where))
        self.detail = self.description


def control_character(text: str, multiline: bool = True) -> str | None:
    """The first control character in the text (tab, newline and CR allowed when multiline), or None."""
    found = (_CONTROL_IN_LINES if multiline else _CONTROL).search(text)
    return found.group() if found else None


def first_control_character(text: str) -> tuple[int, str] | None:
    """The line number (from 1) and the code point (e.g. "0000") of the text's first control character
    other than tab, newline and CR, or None."""
    found = _CONTROL_IN_LINES.search(text)
    if found is None:
        return None
    return text.count("\n", 0, found.start()) + 1, f"{ord(found.group()):04X}"


def refuse_control_characters(text: str, source: str) -> str:
    """The text of a file, or ValueError naming the line of its first control character."""
    found = first_control_character(text)
    if found is None:
        return text
    # English, like the command line's other import errors.
    raise ValueError(f"{source}: line {found[0]} holds a control character (U+{found[1]}), "
                     "which is not allowed in an imported file")


def read_text_file(path: str) -> str:
    """An imported file's text (UTF-8, a BOM allowed), or ValueError saying why it cannot be read."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as stream:
            text = stream.read()
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: the file is not UTF-8 text") from exc
    return refuse_control_characters(text, Path(path).name)


def _json_has_control(value, depth: int = 0) -> bool:
    if depth > 100:  # the JSON parser refuses deeper nesting long before this
        return False
    if isinstance(value, str):
        return control_character(value) is not None
    if isinstance(value, dict):
        return any(control_character(k) is not None or _json_has_control(v, depth + 1)
                   for k, v in value.items())
    if isinstance(value, list):
        return any(_json_has_control(v, depth + 1) for v in value)
    return False


def _place_with_control_character() -> str | None:
    """Where the current request holds a control character, worded for the page, or None."""
    if control_character(request.path, multiline=False):
        return _("the address")
    if any(control_character(k, False) or control_character(v, False)
           for k, v in request.args.items(multi=True)):
        return _("the address")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if any(control_character(k, False) or control_character(v)
               for k, v in request.form.items(multi=True)):
            return _("the form")
        if any(control_character(f.filename or "", False) for f in request.files.values()):
            return _("a file name")
        if request.is_json and _json_has_control(request.get_json(silent=True)):
            return _("the data sent")
    return None


class FormNotJson(UnsupportedMediaType):
    """A JSON body sent to a page that reads a form: a 415 whose page says so."""

    def __init__(self) -> None:
        super().__init__(_("This page accepts a form, not JSON data."))
        self.detail = self.description


def _check_request() -> None:
    place = _place_with_control_character()
    if place is not None:
        raise ControlCharacters(place)
    # Flask-WTF reads a JSON body as the form's data, and fails on any JSON but a flat object; only the
    # JSON APIs read JSON, so a page's form never does.
    if request.is_json and request.method != "GET" and not request.path.startswith(JSON_PATHS):
        raise FormNotJson()


class IdConverter(IntegerConverter):
    """`<id:name>`: a database id, 1 … 2**31 - 1; any other number is a 404 (no route matches)."""

    def __init__(self, url_map, **kwargs) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


def whole_number(text: str | None, low: int = 0, high: int = MAX_ID) -> int | None:
    """The ASCII whole number the text is, when it lies in low … high; else None. No request needed:
    services use it too. (`str.isdigit()` is no guard: "²" passes it and int("²") raises.)"""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def id_number(text: str | None) -> int | None:
    """A database id (1 … 2**31 - 1) from a form or an address, or None: no row has any other."""
    return whole_number(text, 1, MAX_ID)


def parse_id(text: str | None) -> int | None:
    """An id from text: None when absent or not a whole number; NotFound when outside 1 … 2**31 - 1."""
    text = (text or "").strip()
    if not _INTEGER.fullmatch(text):
        return None
    value = int(text)
    if not 1 <= value <= MAX_ID:
        raise NotFound(_("No such record: the number is out of range."))
    return value


def query_id(name: str) -> int | None:
    """An id in the query string (`?agency=12`): None when absent or not a number, 404 when out of range."""
    return parse_id(request.args.get(name))


def form_id(name: str) -> int | None:
    """An id in the form or the query string (request.values), like query_id."""
    return parse_id(request.values.get(name))


def query_page(name: str = "page") -> int:
    """A page number in the query string: 1 when absent, not a number or below 1; 404 beyond MAX_PAGE."""
    text = (request.args.get(name) or "").strip()
    if not _INTEGER.fullmatch(text):
        return 1
    value = int(text)
    if value > MAX_PAGE:
        raise NotFound(_("No such page."))
    return max(1, value)


def init_app(app: Flask) -> None:
    """Register the id converter and the control-character check of every request."""
    app.url_map.converters["id"] = IdConverter
    app.before_request(_check_request)


def exit_with_errors(lines: list[str] | str, code: int = 1):
    """End a `flask` command: each error line on stderr, then exit with `code` (nothing was stored)."""
    import click

    for line in [lines] if isinstance(lines, str) else lines:
        click.echo(line, err=True)
    sys.exit(code)


def exit_with_import_report(report) -> None:
    """End a `flask` import that stored nothing: its errors (as many as the report kept, then how many
    more), and the count; `report` has errors, error_count and rows like every import report."""
    more = report.error_count - len(report.errors)
    tail = [f"... and {more} more error(s)"] if more else []
    exit_with_errors([str(error) for error in report.errors] + tail
                     + [f"{report.error_count} error(s) in {report.rows} row(s); nothing was imported"])
