"""The survey page stays small and self-contained: every byte it loads, from our own host."""

from __future__ import annotations

import re

import pytest

BUDGET = 60 * 1024  # bytes, uncompressed: HTML, CSS, JS, images and fonts together
ASSET = re.compile(r'<(?:link|script|img|source)\b[^>]*\b(?:href|src)="([^"]+)"')


def page_weight(client, url: str) -> tuple[int, list[str]]:
    """Bytes of the page and of every file it references, and those files' addresses."""
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assets = ASSET.findall(html)
    total = len(page.data)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        total += len(response.data)
        response.close()
    return total, assets


@pytest.mark.parametrize("prefix", ["/s/", "/k/"])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_full_sipas_page_fits_the_budget_and_loads_nothing_from_elsewhere(client, org, prefix, lang):
    total, assets = page_weight(client, f"{prefix}{org.full.qr_token}?lang={lang}")
    assert total <= BUDGET, f"{total} bytes"
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets)


def test_css_loads_no_remote_files_or_fonts(client, org):
    for name in ("app.css", "survey.css"):
        response = client.get(f"/static/{name}")
        css = response.get_data(as_text=True)
        response.close()
        assert "url(" not in css and "@import" not in css and "@font-face" not in css


COMPRESSED_BUDGET = 30 * 1024  # bytes transferred (issue 16): the page and its files, compressed


@pytest.mark.parametrize("counter", ["short", "full"])
@pytest.mark.parametrize("prefix", ["/s/", "/k/"])
def test_form_page_is_at_most_30_kb_transferred_compressed(client, org, counter, prefix):
    gzip = {"Accept-Encoding": "gzip"}
    page = client.get(f"{prefix}{getattr(org, counter).qr_token}?lang=en", headers=gzip)
    assert page.status_code == 200 and page.headers.get("Content-Encoding") == "gzip"
    total = len(page.data)
    for asset in ASSET.findall(_gunzip(page.data)):
        response = client.get(asset, headers=gzip)
        assert response.status_code == 200, asset
        total += len(response.data)
        response.close()
    assert total <= COMPRESSED_BUDGET, f"{total} bytes"


def _gunzip(data: bytes) -> str:
    import gzip

    return gzip.decompress(data).decode()
