"""Words for codes the pages show: agency levels, channels (lazy, so they follow the reader's language)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

LEVEL_LABELS = {
    "ministry": _l("Ministry"),
    "province": _l("Province"),
    "department": _l("Department"),
    "district": _l("District"),
    "commune": _l("Commune"),
}

CHANNEL_LABELS = {
    "qr": _l("QR code"),
    "kiosk": _l("Kiosk"),
    "paper": _l("Paper form"),
    "online": _l("Online"),
    "import": _l("Imported file"),
}


def level_label(code: str) -> str:
    """An agency level in words (the code itself when unknown)."""
    return str(LEVEL_LABELS.get(code, code))


# Why the citizen path flagged a response as suspicious (app.services.collect.abuse).
SUSPICION_LABELS = {
    "honeypot": _l("a hidden field was filled in (likely a robot)"),
    "burst": _l("many responses from one device in a short time"),
    "repeat": _l("the same answers again from one device"),
}
