"""Import errors that read in the reader's language.

A `Problem` is a str (the English text the command line, the logs and the API show, unchanged)
that also keeps its message id, its values and where it was found, so that a page can render it
in the reader's language (`translated`). Messages are English msgids in the vi catalogue.
"""

from __future__ import annotations

from flask_babel import gettext


class Problem(str):
    """One error of an import: English as a str, and `translated()` for the pages."""

    msgid: str
    params: dict
    source: str | None
    row: int | None
    column: str | None

    def __new__(cls, msgid: str, *, source: str | None = None, row: int | None = None,
                column: str | None = None, **params) -> Problem:
        text = msgid % params if params else msgid
        where = _where_english(source, row, column)
        self = super().__new__(cls, f"{where}: {text}" if where else text)
        self.msgid, self.params, self.source, self.row, self.column = msgid, params, source, row, column
        return self

    def at(self, source: str | None = None, row: int | None = None, column: str | None = None) -> Problem:
        """The same message, found at a place in a file."""
        return Problem(self.msgid, source=source, row=row, column=column, **self.params)

    def translated(self) -> str:
        """The message in the current request's language (a value that is a Problem is translated too)."""
        params = {key: value.translated() if isinstance(value, Problem) else value
                  for key, value in self.params.items()}
        text = gettext(self.msgid, **params) if params else gettext(self.msgid)
        if self.source is None and self.row is None:
            return text
        if self.row is None:
            return gettext("%(source)s: %(text)s", source=self.source, text=text)
        if self.column is None:
            return gettext("%(source)s: row %(row)s: %(text)s", source=self.source, row=self.row, text=text)
        return gettext("%(source)s: row %(row)s, column %(column)s: %(text)s", source=self.source,
                       row=self.row, column=self.column, text=text)


def _where_english(source: str | None, row: int | None, column: str | None) -> str:
    parts = [source] if source else []
    if row is not None:
        parts.append(f"row {row}" + (f", column {column}" if column is not None else ""))
    return ": ".join(parts)


def problem_of(error: Exception) -> Problem:
    """The Problem an exception was raised with (ValueError(Problem(...))), or its text as one."""
    first = error.args[0] if error.args else ""
    return first if isinstance(first, Problem) else Problem("%(text)s", text=str(error))


def translated(message: str) -> str:
    """A report's message for a page: a Problem in the reader's language; any other text as it is."""
    return message.translated() if isinstance(message, Problem) else message
