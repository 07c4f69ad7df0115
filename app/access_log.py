"""gunicorn's access log without receipt or case codes: the log keeps the client's address, so it
must not also keep what identifies a dossier or a response (issue 21).

`gunicorn --logger-class app.access_log.RedactingLogger` (the Makefile's `make run`, and
deploy/gunicorn.conf.py) writes the path with a receipt code replaced by `-`, no query string
(`/thanks?n=<nonce>` names a stored response) and the Referer cut to its path, redacted the same way.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from gunicorn.glogging import Logger

# Path segments that carry a code tied to one dossier or response: /r/<receipt code>, and a survey
# campaign's /i/<invitation code> (issue 19: whoever holds it may answer for the sampled dossier).
_CODED_PATH = re.compile(r"^(/r/|/i/)[^/]*")
_CODED_ANYWHERE = re.compile(r"(/r/|/i/)[^/?#\s\"]*")
REDACTED = "-"


def redact_path(path: str) -> str:
    """A request path with any receipt code replaced (the query string is never kept)."""
    return _CODED_PATH.sub(lambda m: m.group(1) + REDACTED, path.split("?", 1)[0])


def redact_referer(referer: str) -> str:
    """A Referer header as the path alone, redacted (it can hold a receipt address too)."""
    if not referer or referer == "-":
        return "-"
    return redact_path(urlsplit(referer).path or "/")


class RedactingLogger(Logger):
    """gunicorn's logger, with the request line, path, query and referer atoms redacted."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_path(environ.get("PATH_INFO") or "")
        atoms["U"] = path
        atoms["q"] = ""
        atoms["r"] = f"{environ.get('REQUEST_METHOD', '-')} {path} {environ.get('SERVER_PROTOCOL', '-')}"
        atoms["f"] = redact_referer(environ.get("HTTP_REFERER", "-"))
        # The header and environ atoms too (%({referer}i)s, %({raw_uri}e)s, %({query_string}e)s...).
        for key, value in list(atoms.items()):
            if key.startswith("{") and isinstance(value, str):
                atoms[key] = _CODED_ANYWHERE.sub(lambda m: m.group(1) + REDACTED, value.split("?", 1)[0])
        return atoms
