"""A citizen as an HTTP client: open a QR page, fill the form the way a person would, submit.

Standard library only (http.client), one keep-alive connection per simulated
client, one fresh cookie jar (session, CSRF token) per citizen. Used by
benchmarks/load_submit.py, the fault benchmarks and tests/faults/.
"""

from __future__ import annotations

import html
import http.client
import random
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
RADIO = re.compile(r'<input type="radio" name="(q-[^"]+)" value="([^"]*)"( required)?')
CHECKBOX = re.compile(r'<input type="checkbox" name="(q-[^"]+)" value="([^"]*)"')
TEXTAREA = re.compile(r'<textarea[^>]*name="(q-[^"]+)"')
SERVICE = re.compile(r'<select id="service" name="service">(.*?)</select>', re.S)
OPTION = re.compile(r'<option value="([^"]+)"')
COMMENTS = ("Cán bộ nhiệt tình, hướng dẫn rõ ràng.", "Thủ tục nhanh gọn.", "Chờ hơi lâu.",
            "Phòng chờ cần thêm ghế.", "")


@dataclass
class Reply:
    """One HTTP exchange: status, Location, body, and how long it took (seconds)."""

    status: int
    location: str
    body: str
    seconds: float


@dataclass
class Citizen:
    """One person's visit over one connection: their cookies persist between requests."""

    host: str
    port: int
    timeout: float = 10.0
    cookies: dict[str, str] = field(default_factory=dict)
    conn: http.client.HTTPConnection | None = None
    forwarded_for: str | None = None

    def request(self, method: str, path: str, body: dict | None = None) -> Reply:
        """Send one request (reconnecting once if a kept-alive connection was closed)."""
        headers = {"Accept-Language": "vi"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        data = None
        if body is not None:
            data = urlencode(body, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.perf_counter()
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, http.client.IncompleteRead, BrokenPipeError,
                    ConnectionResetError):
                self.close()
                # Only a request that never reached a worker is resent here; see send_once.
                if attempt == 2 or method != "GET":
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return Reply(response.status, response.headers.get("Location", ""), text,
                     time.perf_counter() - start)

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def fill_form(page: str, rng: random.Random, full: bool = True) -> dict[str, list[str]]:
    """The hidden fields plus answers: every rating, sometimes a comment, a service if offered."""
    form: dict[str, list[str]] = {name: [html.unescape(value)] for name, value in HIDDEN.findall(page)}
    choices: dict[str, list[str]] = {}
    required: set[str] = set()
    for name, value, is_required in RADIO.findall(page):
        if value:
            choices.setdefault(name, []).append(html.unescape(value))
        if is_required:
            required.add(name)
    for name, values in choices.items():
        # Citizens mostly agree (4-5), some are unhappy; optional questions are sometimes skipped.
        if name in required or full or rng.random() < 0.7:
            weights = [3 if v in ("4", "5") else 1 for v in values]
            form[name] = [rng.choices(values, weights)[0]]
    boxes: dict[str, list[str]] = {}
    for name, value in CHECKBOX.findall(page):
        boxes.setdefault(name, []).append(html.unescape(value))
    for name, values in boxes.items():
        form[name] = rng.sample(values, k=min(len(values), rng.randint(0, 2)))
    for name in TEXTAREA.findall(page):
        form[name] = [rng.choice(COMMENTS)]
    services = SERVICE.search(page)
    if services:
        offered = OPTION.findall(services.group(1))
        if offered:
            form["service"] = [rng.choice(offered)]
    return form


def survey_path(url: str) -> str:
    """The path of a counter address printed on its poster."""
    return urlsplit(url).path
