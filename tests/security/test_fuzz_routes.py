"""Randomised, over EVERY route in app.url_map (issue 21): logged out and logged in as each role, with
hostile paths, query strings, form bodies and JSON bodies (NUL and other control characters, huge and
negative numbers, invalid UTF-8 percent-escapes, markup, SQL). No request may answer 500, and nothing
may log a traceback or an error.

The requests go through the Flask test client to the real database (SQLite, or PostgreSQL with
TEST_DATABASE_URL) holding a small agency tree, one account per role, the citizen-flow counters and a
few stored responses. Deterministic (derandomized hypothesis) and bounded: FUZZ_EXAMPLES examples per
role (default 300; 6 roles). Every failure is collected rather than stopping at the first, and the
counts are printed: `fuzz over N routes (db): R requests, F answered 500, T tracebacks logged`.
"""

from __future__ import annotations

import json
import logging
import os
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import User
from app.services.accounts.users import issue_api_token
from tests.admin.conftest import login_as, make_user
from tests.public.conftest import SHORT_ANSWERS, build_org, open_form

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
ROLES = ["anonymous", "administrator", "designer", "manager", "leader", "handler"]
HUGE = ["2147483647", "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
        "-9223372036854775809", str(10**30), "999999999999", "-1", "0", "1e309", "NaN", "-0", "1.5", "0x10",
        "१२", "²", "１２"]
NASTY = ["\x00", "a\x00b", "\x01\x02", "\x1b[31m", "\x7f", "\x85", "line\nbreak", "tab\there", "\r\n",
         "' OR 1=1 --", "<script>alert(1)</script>", "{{7*7}}", "%s%n", "../../etc/passwd", "", " ",
         "ü" * 300, "a" * 5000, "2025-13-40", "2025-02", "1900-01", "9999-99", "null", "true", "[]", "😀"]
# Percent-escapes that are not UTF-8, or that decode to control characters, for paths and query strings.
ESCAPES = ["%ff", "%fe%ff", "%c3%28", "%e2%82", "%00", "%0a", "%1b", "%7f", "%c0%80", "%ed%a0%80", "%",
           "%zz", "%2f", "%25"]
# Names the forms and pages read, so that random values reach the checks behind them.
FIELDS = ["csrf_token", "nonce", "version_id", "service", "website", "answered_at", "lang", "n", "next",
          "email", "password", "new_password", "current_password", "confirm", "code", "template",
          "name_vi", "name_en", "name", "level", "parent_id", "agency_id", "agency", "questionnaire_id",
          "service_ids", "counter_id", "role", "active", "month", "dossiers", "page", "start", "end",
          "channel", "by", "action", "low", "verified", "suspicious", "weighting", "measure", "question",
          "definition", "file", "volumes", "dossier", "expires", "count", "q-E1_1", "q-OVERALL",
          "q-COMMENT", "q-GENDER", "q-AGE", "format", "grace", "reason"]


def _values(ids: list[str]) -> st.SearchStrategy[str]:
    """Query and form values: real ids and plain text most often, so that most requests reach the views;
    huge numbers and hostile text often enough to find what breaks behind them."""
    real = st.sampled_from(ids + ["1", "2", "5", "2025-01", "2025-12", "vi", "en", "qr", "kiosk", "on"])
    return st.one_of(real, real, real, st.sampled_from(HUGE), st.sampled_from(HUGE), st.sampled_from(NASTY),
                     # Control characters come from NASTY: drawn here as well, most requests would stop at
                     # app.inputs' 400 before reaching a view.
                     st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
                     st.integers(-(2**70), 2**70).map(str))


def _segment(ids: list[str], tokens: list[str]) -> st.SearchStrategy[str]:
    """One path segment, already percent-encoded (or deliberately not): mostly a real id or token."""
    real = st.sampled_from(ids + tokens)
    hostile = st.one_of(st.sampled_from(HUGE), st.sampled_from(NASTY)).map(lambda v: quote(v, safe=""))
    return st.one_of(real, real, real, real, hostile, hostile, st.sampled_from(ESCAPES),
                     st.tuples(real, st.sampled_from(ESCAPES)).map("".join))


_PART = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _path(rule, segment_values: dict[str, str]) -> str:
    def fill(match: re.Match) -> str:
        converter = match.group(1)
        if converter == "any":
            options = re.search(r"any\(([^)]*)\)", match.group(0)).group(1)
            return segment_values.get("any") or options.split(",")[0].strip()
        return segment_values[match.group(2)]

    return _PART.sub(fill, rule.rule)


@pytest.fixture
def world(app, tree):
    """The tree's accounts, the citizen counters, a few stored responses and an API token."""
    org = build_org()
    client = app.test_client()
    for index, comment in enumerate(["Tốt", "Chậm", ""]):
        url = f"/s/{org.short.qr_token}"
        reply = client.post(url, data={**open_form(client, url), **SHORT_ANSWERS, "q-COMMENT": comment,
                                       "q-OVERALL": str(index + 2)})
        assert reply.status_code == 303
    token = issue_api_token(tree.users["leader"], tree.users["administrator"])
    db.session.commit()
    ids = sorted({str(x) for x in [tree.province.id, tree.district.id, tree.commune.id, tree.counter_in.id,
                                   tree.counter_out.id, org.agency.id, org.full.id, org.short.id,
                                   org.birth.id, org.full_version.id, org.short_version.id,
                                   *(u.id for u in tree.users.values())]})
    tokens = [org.short.qr_token, org.full.qr_token, org.revoked.qr_token, org.empty.qr_token]
    # The case handlers' role (issue 18), in the district like the manager and the leader.
    handler = make_user("handler@example.org", "handler", tree.district)
    db.session.commit()
    users = {role: user.id for role, user in tree.users.items()} | {"handler": handler.id}
    return ids, tokens, users, token


@pytest.mark.parametrize("role", ROLES)
def test_every_route_with_hostile_input_never_answers_500(app, world, role, caplog, capsys):
    ids, tokens, users, api_token = world
    rules = sorted((r for r in app.url_map.iter_rules() if "static" not in r.endpoint),
                   key=lambda r: r.rule)
    client = app.test_client()
    seen = {"requests": 0, "500": 0}
    statuses: dict[int, int] = {}
    failures: list[str] = []
    posts: list[str] = []  # the requests that changed something, to explain a failure that follows them
    caplog.set_level(logging.WARNING)
    values = _values(ids)
    segments = _segment(ids, tokens)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def one_request(data):
        rule = data.draw(st.sampled_from(rules), label="rule")
        method = data.draw(st.sampled_from(sorted(rule.methods - {"HEAD", "OPTIONS"})), label="method")
        filled = {name: data.draw(segments, label=name) for name in rule.arguments}
        if "any" in rule.rule:
            filled["any"] = data.draw(st.sampled_from(["png", "svg", "pdf", "%00"]), label="any")
        path = _path(rule, filled)
        query = data.draw(st.lists(st.tuples(st.sampled_from(FIELDS), values), max_size=4), label="query")
        raw_query = data.draw(st.one_of(st.just([]), st.just([]), st.just([]),
                                        st.lists(st.sampled_from(ESCAPES), min_size=1, max_size=2)),
                              label="raw query")
        url = path + "?" + "&".join([f"{quote(k)}={quote(v, safe='')}" for k, v in query]
                                    + [f"x={e}" for e in raw_query])
        kwargs = {}
        if method == "POST":
            body = data.draw(st.sampled_from(["form", "json", "raw"]), label="body")
            if body == "form":
                kwargs["data"] = MultiDict(data.draw(
                    st.lists(st.tuples(st.sampled_from(FIELDS), values), max_size=8), label="form"))
            elif body == "json":
                payload = data.draw(st.recursive(
                    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), values),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4)),
                    max_leaves=8), label="json")
                kwargs.update(data=json.dumps(payload), content_type="application/json")
            else:
                kwargs.update(data=data.draw(st.binary(max_size=64), label="raw"),
                              content_type="application/x-www-form-urlencoded")
        headers = {}
        if rule.rule.startswith("/api/") and data.draw(st.booleans(), label="bearer"):
            headers["Authorization"] = f"Bearer {api_token}"
        # Each request as in production: its own session, and the role's account logged in afresh.
        db.session.remove()
        if role == "anonymous":
            with client.session_transaction() as session:
                session.clear()
        else:
            login_as(client, db.session.get(User, users[role]))
        caplog.clear()
        reply = client.open(url, method=method, headers=headers, **kwargs)
        seen["requests"] += 1
        statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
        logged = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
        if reply.status_code >= 500 or logged:
            seen["500"] += reply.status_code >= 500
            errors = [f"{r.getMessage()}: {r.exc_info[1]!r:.300}" if r.exc_info else r.getMessage()
                      for r in logged]
            before = f" after {posts[-3:]}" if not failures else ""
            failures.append(f"{method} {url!r} {kwargs.get('data')!r:.200} -> {reply.status_code} "
                            f"{errors}{before}")
        if method == "POST" and reply.status_code < 400:
            posts.append(f"{url!r} {kwargs.get('data')!r:.300} -> {reply.status_code}")
        db.session.rollback()

    one_request()
    backend = db.engine.dialect.name
    with capsys.disabled():
        print(f"\nfuzz over {len(rules)} routes as {role} ({backend}): {seen['requests']} requests, "
              f"{seen['500']} answered 500, {len(failures)} with a 500 or a logged error; "
              f"statuses {dict(sorted(statuses.items()))}")
    assert not failures, "\n".join(failures[:30])
    # The views were reached, not only the refusals before them.
    assert statuses.get(200, 0) + statuses.get(302, 0) + statuses.get(303, 0) > EXAMPLES // 20, statuses
