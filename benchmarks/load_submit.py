"""Citizen submissions under load: gunicorn on SQLite (WAL) and PostgreSQL, nothing lost.

    .venv/bin/python benchmarks/load_submit.py [--db sqlite|postgresql|both] [--clients 32]
        [--duration 20] [--think 1.0]

For each database it builds a fresh one (a SQLite file in a temporary
directory; a PostgreSQL database it creates and drops), migrates it, loads
the standard questionnaires and a small demo province, and starts gunicorn
with deploy/gunicorn.conf.py on 127.0.0.1 (APP_ENV=production, rate limits
in Redis when it answers). Each simulated citizen comes from its own
address (X-Forwarded-For behind FORWARDED_HOPS=1, as behind nginx), so the
rate limits and burst checks work as they do in production.

Four phases, each bounded in time, on the same server:

1. healthz: N clients call /healthz back to back (the yardstick);
2. submissions: N clients post filled forms back to back (each client opens
   each counter's form once, then posts it again and again with a fresh
   nonce and address, as a kiosk flushing its queue): the submission
   throughput, compared with /healthz;
3. sessions: N clients run whole citizen sessions back to back: open the QR
   page, fill the short form or the full SIPAS form, post it, follow the
   redirect to the thank-you page;
4. latency: N citizens with a think time between opening the form and
   sending it (compressed from the real half-minute), as a busy morning.

It reports requests per second and p50/p95/p99 per kind of request, errors,
and the ratio of submissions per second to /healthz per second. Finally it
reads the database: every thanked nonce must be stored exactly once, and no
response may be stored without the citizen having been thanked.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import secrets
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_server import Server, prepared_database  # noqa: E402
from sipas_client import Citizen, fill_form  # noqa: E402

THANKS_MARKER = 'class="thanks'


@dataclass
class Stats:
    """Latencies by kind of request, errors, and the nonces thanked (thread-safe)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    thanked: list[str] = field(default_factory=list)
    sessions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float) -> None:
        """Keep one request's latency."""
        with self.lock:
            self.latencies[kind].append(seconds)

    def error(self, kind: str) -> None:
        """Count one failed request."""
        with self.lock:
            self.errors[kind] += 1

    def thank(self, nonce: str) -> None:
        """A citizen saw the thank-you page for this nonce."""
        with self.lock:
            self.thanked.append(nonce)
            self.sessions += 1


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank), in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank] * 1000


def new_citizen(port: int, rng: random.Random, timeout: float = 10.0) -> Citizen:
    """A citizen with a fresh session and an address of their own."""
    address = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return Citizen("127.0.0.1", port, timeout=timeout, forwarded_for=address)


def citizen_session(port: int, path: str, rng: random.Random, stats: Stats, think: float,
                    retries: int = 3, timeout: float = 10.0) -> None:
    """Open the form, think, send it (again with the same nonce if the answer was lost), read thanks."""
    person = new_citizen(port, rng, timeout)
    try:
        page = person.request("GET", path)
        stats.record("open form", page.seconds)
        if page.status != 200:
            stats.error(f"open form {page.status}")
            return
        form = fill_form(page.body, rng)
        if think:
            time.sleep(rng.uniform(0.5 * think, 1.5 * think))
        sent = send_once(person, path, form, stats, retries)
        if sent is None:
            return
        thanks = follow(person, sent.location, stats)
        if thanks is None:
            return
        stats.record("thank-you", thanks.seconds)
        if thanks.status == 200 and THANKS_MARKER in thanks.body:
            stats.thank(form["nonce"][0])
        else:
            stats.error(f"thank-you {thanks.status}")
    except (OSError, http.client.HTTPException) as exc:
        stats.error(f"connection: {type(exc).__name__}")
    finally:
        person.close()


def follow(person: Citizen, location: str, stats: Stats, attempts: int = 3):
    """Open the thank-you page; a citizen whose page did not load reloads it."""
    for attempt in range(1, attempts + 1):
        try:
            page = person.request("GET", location)
        except (OSError, http.client.HTTPException) as exc:
            person.close()
            stats.error(f"thank-you lost ({type(exc).__name__}), reloaded")
        else:
            if page.status < 500 or attempt == attempts:
                return page
            stats.error(f"thank-you {page.status}, reloaded")
        if attempt == attempts:
            return None
        time.sleep(0.2 * attempt)
    return None


def send_once(person: Citizen, path: str, form: dict, stats: Stats, retries: int):
    """POST the form; on a lost answer, post the very same form again, like pressing send twice."""
    for attempt in range(1, retries + 1):
        try:
            sent = person.request("POST", path, form)
        except (OSError, http.client.HTTPException) as exc:
            person.close()
            stats.error(f"submit lost ({type(exc).__name__}), resent")
            if attempt == retries:
                return None
            time.sleep(0.2 * attempt)
            continue
        stats.record("submit", sent.seconds)
        if sent.status == 303 and "/thanks" in sent.location:
            return sent
        if sent.status in (500, 502, 503) and attempt < retries:
            stats.error(f"submit {sent.status}, resent")
            time.sleep(0.2 * attempt)
            continue
        stats.error(f"submit {sent.status}")
        return None
    return None


def open_forms(port: int, paths: list[str]) -> tuple[dict[str, str], dict[str, dict]]:
    """Open each counter's form once (before the clock starts): the session cookie and the filled forms."""
    rng = random.Random(7)
    opener = new_citizen(port, rng)
    forms = {path: fill_form(opener.request("GET", path).body, rng) for path in paths}
    opener.close()
    return opener.cookies, forms


def submit_loop(stats: Stats, deadline: float, seed: int, port: int, opened: tuple) -> None:
    """Post forms back to back, as a kiosk flushing its queue: each post with a nonce of its own
    (made by the client, as kiosk.js does) and from an address of its own."""
    rng = random.Random(seed)
    cookies, forms = opened
    person = new_citizen(port, rng)
    person.cookies = dict(cookies)
    paths = sorted(forms)
    while time.monotonic() < deadline:
        path = rng.choice(paths)
        form = dict(forms[path], nonce=[secrets.token_urlsafe(16)])
        person.forwarded_for = new_citizen(port, rng).forwarded_for
        try:
            sent = send_once(person, path, form, stats, retries=3)
        except OSError:
            continue
        if sent is not None:
            stats.thank(form["nonce"][0])  # the redirect to /thanks?n= is only given once it is stored
    person.close()


def healthz_loop(stats: Stats, deadline: float, seed: int, port: int) -> None:
    """Call /healthz back to back until the deadline."""
    client = Citizen("127.0.0.1", port)
    while time.monotonic() < deadline:
        try:
            reply = client.request("GET", "/healthz")
        except (OSError, http.client.HTTPException):
            stats.error("healthz connection")
            client.close()
            continue
        stats.record("healthz", reply.seconds)
        if reply.status != 200:
            stats.error(f"healthz {reply.status}")
    client.close()


def session_loop(stats: Stats, deadline: float, seed: int, port: int, paths: list[str], think: float,
                 max_sessions: int = 10**9, timeout: float = 10.0) -> None:
    """Run citizen sessions one after another until the deadline or the count."""
    rng = random.Random(seed)
    done = 0
    while time.monotonic() < deadline and done < max_sessions:
        citizen_session(port, rng.choice(paths), rng, stats, think, timeout=timeout)
        done += 1
        if think:
            time.sleep(rng.uniform(0, think / 2))


def run_threads(clients: int, duration: float, loop, *args) -> tuple[Stats, float]:
    """Run `loop(stats, deadline, seed, *args)` on `clients` threads; its stats and the elapsed time."""
    stats = Stats()
    deadline = time.monotonic() + duration
    threads = [threading.Thread(target=loop, args=(stats, deadline, 1000 + i, *args), daemon=True)
               for i in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + 60)
    return stats, time.monotonic() - start


def report(title: str, stats: Stats, elapsed: float) -> dict[str, float]:
    """Print one phase's table; return requests per second by kind."""
    print(f"\n  {title} ({elapsed:.1f} s)")
    print(f"  {'request':<12} {'count':>7} {'per s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    rates = {}
    for kind, values in sorted(stats.latencies.items()):
        rates[kind] = len(values) / elapsed
        print(f"  {kind:<12} {len(values):>7} {rates[kind]:>8.1f} {percentile(values, 50):>8.1f}"
              f" {percentile(values, 95):>8.1f} {percentile(values, 99):>8.1f}")
    if stats.sessions:
        print(f"  citizen sessions completed: {stats.sessions} ({stats.sessions / elapsed:.1f} per s)")
    print(f"  errors: {dict(stats.errors) or 'none'}")
    return rates


def check_stored(server: Server, thanked: list[str]) -> bool:
    """Every thanked nonce stored exactly once, and nothing stored that was not thanked."""
    stored = server.stored_nonces()
    counts: dict[str, int] = defaultdict(int)
    for nonce in stored:
        counts[nonce] += 1
    duplicated = sum(1 for n in counts.values() if n > 1)
    lost = len(set(thanked) - set(counts))
    unthanked = len(set(counts) - set(thanked))
    ok = duplicated == 0 and lost == 0 and unthanked == 0 and len(thanked) == len(set(thanked))
    print(f"\n  stored responses: {len(stored)}; thank-you pages: {len(thanked)}; "
          f"lost: {lost}; duplicated: {duplicated}; stored but not thanked: {unthanked}"
          f"  -> {'OK' if ok else 'FAILED'}")
    return ok


def bench(kind: str, args) -> bool:
    """Run the three phases on one database; True when every goal is met."""
    with prepared_database(kind) as database, \
            Server(database, args.port, args.workers, args.threads) as server:
        print(f"\n== {kind}: gunicorn {server.worker_count} workers x {server.thread_count} threads, "
              f"{args.clients} clients, load average {os.getloadavg()[0]:.1f}")
        paths = server.survey_paths(full=8, short=8)
        health, health_s = run_threads(args.clients, args.duration, healthz_loop, server.port)
        health_rates = report("/healthz", health, health_s)
        posts, posts_s = run_threads(args.clients, args.duration, submit_loop, server.port,
                                       open_forms(server.port, paths))
        post_rates = report("submissions back to back (form opened once per client)", posts, posts_s)
        capacity, capacity_s = run_threads(args.clients, args.duration, session_loop, server.port, paths, 0)
        report("citizen sessions back to back (open, submit, thank-you)", capacity, capacity_s)
        latency, latency_s = run_threads(args.clients, args.duration, session_loop, server.port, paths,
                                              args.think)
        report(f"latency: {args.clients} citizens thinking ~{args.think:.1f} s", latency, latency_s)
        stored_ok = check_stored(server, posts.thanked + capacity.thanked + latency.thanked)
        print("  load average (1, 5, 15 min) at the end: " + ", ".join(f"{v:.1f}" for v in os.getloadavg()))
        print("  gunicorn warnings and errors:", "\n    ".join(["", *server.log_lines()]) or "none")
    return verdict(health_rates, post_rates, [posts, capacity, latency], stored_ok)


def verdict(health_rates, post_rates, phases: list[Stats], stored_ok: bool) -> bool:
    """Print the goals and whether they are met."""
    ratio = post_rates.get("submit", 0) / max(health_rates.get("healthz", 1), 1e-9)
    p99 = percentile(phases[-1].latencies["submit"], 99)
    errors = sum(sum(phase.errors.values()) for phase in phases)
    goals = {
        f"submissions/s >= 35% of /healthz/s: {ratio:.0%}": ratio >= 0.35,
        f"p99 of a submission < 100 ms at the latency phase: {p99:.1f} ms": p99 < 100,
        f"no errors: {errors}": errors == 0,
        "nothing lost, nothing duplicated": stored_ok,
    }
    for text, met in goals.items():
        print(f"  [{'met' if met else 'NOT MET'}] {text}")
    return all(goals.values())


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time (s) in the latency phase")
    parser.add_argument("--workers", type=int, default=None, help="default: deploy/gunicorn.conf.py's")
    parser.add_argument("--threads", type=int, default=None, help="default: deploy/gunicorn.conf.py's")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results = {kind: bench(kind, args) for kind in kinds}
    print("\n" + ", ".join(f"{k}: {'all goals met' if ok else 'goals NOT met'}" for k, ok in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
