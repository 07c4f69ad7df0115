"""Randomised: arbitrary forms and query strings on every public route never get a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.public.conftest import build_org, open_form

# Field names the public forms read, so that the random values reach the checks behind them.
FIELDS = ["csrf_token", "nonce", "version_id", "service", "website", "answered_at", "lang", "n", "next",
          "email", "password", "q-E1_1", "q-E2_1", "q-OVERALL", "q-COMMENT", "q-GENDER", "q-EXPECT",
          "q-AGE", "q-E1_GEN"]
# Text with the awkward parts: NUL, surrogates are not valid in HTTP, so any other code point.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
VALUES = st.one_of(TEXT, st.sampled_from(["", "0", "-1", "5", "99999999999999999999", "1e309", "nan",
                                          "a" * 70, "\x00", "' OR 1=1 --", "<script>", "2025-13-40",
                                          "2147483648", "999999999999", "²", "१२", "\x1b"]))
ANY_VALUE = st.one_of(VALUES, st.lists(VALUES, max_size=3))
FORMS = st.dictionaries(st.one_of(st.sampled_from(FIELDS), TEXT), ANY_VALUE, max_size=8)


def _public_paths(org) -> list[str]:
    token = org.short.qr_token
    return ["/", "/healthz", "/thanks", f"/s/{token}", f"/k/{token}", f"/s/{org.full.qr_token}",
            f"/k/{token}/thanks", f"/k/{token}/session", "/k/sw.js", "/s/no-such-token", "/r/not-a-code",
            "/r/" + "A" * 300, "/auth/login", f"/s/{org.revoked.qr_token}", f"/s/{org.empty.qr_token}",
            "/reports/scoreboard"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_random_forms_and_query_strings_never_get_a_500(app, method):
    org = build_org()
    client = app.test_client()
    paths = _public_paths(org)

    @settings(max_examples=80, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(path=st.sampled_from(paths), query=FORMS, form=FORMS)
    def check(path, query, form):
        response = client.open(path, method=method, query_string=query,
                               data=form if method == "POST" else None)
        assert response.status_code < 500, (path, query, form, response.status_code)
        assert "Traceback" not in response.get_data(as_text=True)

    check()


def test_random_answers_on_a_real_form_never_get_a_500(app):
    """The form's own hidden fields (valid version and nonce), then random answers: reaches the checks."""
    org = build_org()
    client = app.test_client()
    questions = ["q-E1_1", "q-E2_1", "q-E3_1", "q-E4_1", "q-E5_1", "q-OVERALL", "q-COMMENT", "service",
                 "answered_at", "website", "version_id"]

    @settings(max_examples=80, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(kiosk=st.booleans(), answers=st.dictionaries(st.sampled_from(questions), ANY_VALUE, max_size=10))
    def check(kiosk, answers):
        path = f"/{'k' if kiosk else 's'}/{org.short.qr_token}"
        fields = open_form(client, path)
        response = client.post(path, data={**fields, **answers})
        # 400: a control character refused before the form is read (app.inputs).
        assert response.status_code in (303, 400, 422), (path, answers, response.status_code)

    check()
