"""A real PostgreSQL outage under gunicorn (issue 21, finding 6): the app reaches PostgreSQL through a
TCP relay on this machine, and the relay is shut (its port refuses, its live connections are cut), as
when the database server goes down. Every citizen post gets the 503 form with the answers and the same
nonce, a post without a CSRF session keeps its answers too, every page is a 503 with a body (never a
bare 500), nothing is logged as an error; once the relay is back, the kept form is stored once.

PostgreSQL only (TEST_DATABASE_URL): SQLite has no connection to refuse; its outage (a lock held too
long) is tests/faults/test_faults.py, and a refused connection in-process is test_outage.py.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import threading

import pytest
from sipas_client import Citizen, fill_form
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from tests.conftest import _empty_tables, _test_config
from tests.public.conftest import build_org

VI_MESSAGE = "Hệ thống đang tạm thời gián đoạn"


class Relay:
    """A TCP relay 127.0.0.1:port -> upstream that can be shut (refusing, cutting) and opened again."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = 0
        self.listener: socket.socket | None = None
        self.live: list[socket.socket] = []
        self.lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def shut(self) -> None:
        # shutdown() wakes the thread blocked in accept(); a bare close() would leave the port listening.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            for sock in self.live:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.live.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.live += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                target.sendall(chunk)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


@pytest.fixture(scope="module")
def outage(_schema, database_url, tmp_path_factory):
    if not database_url.startswith("postgresql"):
        pytest.skip("a refused connection needs a database server: PostgreSQL (TEST_DATABASE_URL)")
    from bench_server import Database, Server, base_env

    instance = tmp_path_factory.mktemp("outage")
    app = create_app(_test_config(database_url, instance))
    with app.app_context():
        _empty_tables()
        org = build_org()
        tokens = {"short": org.short.qr_token, "full": org.full.qr_token}
        db.session.commit()
        url = make_url(database_url)
        relay = Relay((url.host or "127.0.0.1", url.port or 5432))
        relay.open()
        relayed = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
        database = Database("postgresql", relayed, instance, base_env(relayed, instance))
        with Server(database, workers=1, threads=2) as server:
            yield server, relay, tokens
        with contextlib.suppress(OSError):
            relay.shut()
        _empty_tables()
        db.session.remove()
        db.engine.dispose()


HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _once(server, method: str, page: str, form: dict | None = None):
    visitor = Citizen("127.0.0.1", server.port, forwarded_for="198.51.100.23")
    try:
        return visitor.request(method, page, form)
    finally:
        visitor.close()


def _hidden(body: str) -> dict[str, list[str]]:
    return {name: [value] for name, value in HIDDEN.findall(body)}


def test_citizens_keep_their_answers_through_a_postgresql_outage(outage):
    server, relay, tokens = outage
    path = f"/s/{tokens['full']}"
    citizen = Citizen("127.0.0.1", server.port, forwarded_for="198.51.100.21")
    form = fill_form(citizen.request("GET", path).body, random.Random(21))
    form["q-COMMENT"] = ["Giữ lại qua sự cố"]
    relay.shut()
    try:
        sent = citizen.request("POST", path, form)
        assert sent.status == 503, sent.body[:300]
        assert VI_MESSAGE in sent.body and "Giữ lại qua sự cố" in sent.body
        assert f'name="nonce" value="{form["nonce"][0]}"' in sent.body
        # A stranger's post without a CSRF session: the handler keeps the answers without the database.
        refused = _once(server, "POST", path, {"q-COMMENT": ["Không mất"], "nonce": ["s" * 22]})
        assert refused.status == 400 and "Không mất" in refused.body
        # The login page and the redirect to it need no database; the rest are a 503 with a page.
        for page, status in (("/", 503), (path, 503), (f"/k/{tokens['short']}", 503),
                             ("/thanks?n=" + "x" * 22, 503), ("/admin/counters", 302), ("/auth/login", 200)):
            reply = _once(server, "GET", page)
            assert reply.status == status, (page, reply.status)
            assert reply.body.strip(), page  # never a bare answer
        assert _once(server, "GET", "/healthz").status == 503
    finally:
        relay.open()
    kept = {**form, **_hidden(sent.body)}  # the 503 page's fresh CSRF token, the same nonce
    again = citizen.request("POST", path, kept)
    citizen.close()
    assert again.status == 303, again.body[:300]
    assert server.stored_nonces().count(form["nonce"][0]) == 1
    problems = [line for line in server.log_lines(200) if "Traceback" in line or " ERROR " in line
                or "[ERROR]" in line]
    assert not problems, problems
