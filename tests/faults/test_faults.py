"""Faults under load, short versions (a few seconds each; the long ones are benchmarks/load_faults.py).

A response the citizen was thanked for is stored; nothing is stored twice; a
citizen who sends again after a lost answer is thanked, not shown an error.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from faults import database_locked, drop_connections, kill_worker
from load_submit import Stats, session_loop
from sipas_client import Citizen, fill_form


def _load(server, seconds: float, clients: int = 6) -> tuple[Stats, list[threading.Thread], set[str]]:
    before = set(server.stored_nonces())
    stats = Stats()
    deadline = time.monotonic() + seconds
    paths = list(server.paths.values())
    threads = [threading.Thread(target=session_loop, daemon=True,
                                args=(stats, deadline, 50 + i, server.port, paths, 0.05))
               for i in range(clients)]
    for thread in threads:
        thread.start()
    return stats, threads, before


def _finish(server, stats: Stats, threads, before: set[str]) -> None:
    for thread in threads:
        thread.join(60)
    stored = [n for n in server.stored_nonces() if n not in before]
    assert len(stored) == len(set(stored)), "a response stored twice"
    assert set(stats.thanked) == set(stored), "thanked and stored differ"
    assert stats.sessions > 0


def test_a_worker_killed_mid_load_loses_nothing(server):
    stats, threads, before = _load(server, 4)
    time.sleep(1.5)
    killed = kill_worker(server)
    _finish(server, stats, threads, before)
    assert killed not in server.workers()
    # Citizens whose answer was cut off sent it again; none saw a server error.
    server_errors = [k for k in stats.errors if k.startswith(("submit 5", "open form 5", "thank-you 5"))]
    assert not server_errors, stats.errors


def test_the_database_locked_for_a_moment_makes_citizens_wait_not_fail(server):
    stats, threads, before = _load(server, 4)
    time.sleep(1)
    with database_locked(server):
        time.sleep(1.5)
    _finish(server, stats, threads, before)
    assert dict(stats.errors) == {}


def _open(server, path):
    citizen = Citizen("127.0.0.1", server.port, forwarded_for="198.51.100.7")
    page = citizen.request("GET", path)
    citizen.close()
    return citizen, fill_form(page.body, random.Random(3))


def test_a_post_sent_again_after_a_timeout_is_stored_once(server):
    path = server.paths["short"]
    citizen, form = _open(server, path)
    # The first attempt: the phone gives up before the answer arrives.
    impatient = Citizen("127.0.0.1", server.port, timeout=0.001, cookies=dict(citizen.cookies),
                        forwarded_for="198.51.100.7")
    try:
        impatient.request("POST", path, form)
    except OSError:
        pass
    impatient.close()
    # The citizen presses "send" again, twice, with the very same form.
    replies = [citizen.request("POST", path, form) for _ in range(2)]
    assert [r.status for r in replies] == [303, 303]
    assert citizen.request("GET", replies[-1].location).status == 200
    citizen.close()
    assert server.stored_nonces().count(form["nonce"][0]) == 1


def test_the_same_form_sent_on_five_connections_at_once_is_stored_once(server):
    path = server.paths["full"]
    opener, form = _open(server, path)
    replies, barrier = [], threading.Barrier(5)

    def send():
        twin = Citizen("127.0.0.1", server.port, cookies=dict(opener.cookies), forwarded_for="198.51.100.8")
        barrier.wait()
        replies.append(twin.request("POST", path, form))
        twin.close()

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(r.status for r in replies) == [303] * 5
    assert server.stored_nonces().count(form["nonce"][0]) == 1


def test_postgresql_connections_cut_between_requests_are_reopened(server):
    if server.database.kind != "postgresql":
        pytest.skip("connection cuts are a PostgreSQL fault; SQLite has no server to lose")
    path = server.paths["short"]
    citizen, form = _open(server, path)
    assert drop_connections(server) >= 1
    reply = citizen.request("POST", path, form)
    citizen.close()
    assert reply.status == 303  # pool_pre_ping found the dead connection and opened a new one
    assert server.stored_nonces().count(form["nonce"][0]) == 1
