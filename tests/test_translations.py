"""Every user-visible word in both languages: each message the code and templates mark for translation
has a Vietnamese translation in app/translations/vi (English is the source text)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "pgettext": ((1, "c"), 2)}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]


def _marked_messages() -> set[str]:
    """The singular text of every message marked in app/ (what pybabel extract would find)."""
    found = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / "app"), METHODS, keywords={**KEYWORDS}):
        found.add(message[0] if isinstance(message, tuple) else message)
    return {m for m in found if m}


def test_every_marked_message_has_a_vietnamese_translation():
    with (ROOT / "app/translations/vi/LC_MESSAGES/messages.po").open("rb") as file:
        catalog = read_po(file)
    untranslated = []
    for text in sorted(_marked_messages()):
        entry = catalog.get(text)
        strings = entry.string if entry is not None else None
        if isinstance(strings, tuple | list):
            ok = all(strings)
        else:
            ok = bool(strings)
        if not ok:
            untranslated.append(text)
    assert untranslated == []
