"""Static files are compressed once per worker (issue 15, item 7): the 1.5 MB plotly bundle cost
0.2-0.3 s of CPU on every request; pages are still compressed afresh every time."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from app.extensions import compress

BUNDLE = "/static/vendor/plotly-cartesian.min.js"


def _get(client, path: str, **headers):
    # Closed at once: a static response holds its file until then.
    response = client.get(path, headers=headers)
    response.close()
    return response


def test_a_static_bundle_is_compressed_once_and_again_when_the_file_changes(app, client):
    path = Path(app.static_folder) / "vendor" / "plotly-cartesian.min.js"
    original = path.read_bytes()
    first = _get(client, BUNDLE, **{"Accept-Encoding": "gzip"})
    second = _get(client, BUNDLE, **{"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == second.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(first.data) == gzip.decompress(second.data) == original
    kept = [key for key in compress.cache._items if key.startswith("gzip;" + BUNDLE)]
    assert len(kept) == 1
    # A new file (a deployment) has another modification time, so another key.
    stat = path.stat()
    try:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        third = _get(client, BUNDLE, **{"Accept-Encoding": "gzip"})
        assert gzip.decompress(third.data) == original
        assert len([key for key in compress.cache._items if key.startswith("gzip;" + BUNDLE)]) == 2
    finally:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_pages_and_partial_requests_are_not_kept(app, client):
    before = set(compress.cache._items)
    page = _get(client, "/", **{"Accept-Encoding": "gzip"})
    assert page.status_code in (200, 302)
    partial = _get(client, BUNDLE, **{"Accept-Encoding": "gzip", "Range": "bytes=0-99"})
    assert partial.status_code == 206
    assert set(compress.cache._items) == before
