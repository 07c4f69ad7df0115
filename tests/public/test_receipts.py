"""Receipt codes: signed, expiring, one dossier rated once, verified responses."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Response
from app.models.base import utcnow
from app.services.collect import submit
from app.services.collect.receipts import ReceiptError, issue_receipt_code, read_receipt_code
from tests.public.conftest import open_form, post_form


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Response))


def test_a_receipt_response_is_verified_and_keyed_by_its_dossier(client, org):
    url = "/r/" + issue_receipt_code(org.short, "HS-2025/0001")
    page = client.get(url)
    assert page.status_code == 200
    assert "Mỗi hồ sơ chỉ được đánh giá một lần" in page.get_data(as_text=True)
    posted = post_form(client, url)
    assert posted.status_code == 303 and posted.headers["Location"].startswith("/thanks?n=")
    row = db.session.scalar(select(Response))
    assert row.verified is True and row.channel == "qr"
    assert row.dossier_key == f"{org.agency.id}:HS-2025/0001" and row.service_point_id == org.short.id


def test_a_dossier_is_rated_once(client, org):
    url = "/r/" + issue_receipt_code(org.short, "HS-1")
    stale = open_form(client, url)  # a second tab opened before the first answer
    assert post_form(client, url).status_code == 303
    again = client.get(url)
    assert again.status_code == 409 and "Hồ sơ này đã được đánh giá" in again.get_data(as_text=True)
    assert post_form(client, url, fields=stale).status_code == 409
    # A fresh code for the same dossier is still the same dossier.
    assert post_form(client, "/r/" + issue_receipt_code(org.short, "HS-1"),
                     fields={**stale, "nonce": "another-nonce-0123456789"}).status_code == 409
    assert _count() == 1


def test_concurrent_submissions_for_one_dossier_store_one(app, org):
    url = "/r/" + issue_receipt_code(org.short, "HS-RACE")
    forms = [open_form(app.test_client(), url) for _ in range(6)]
    barrier, statuses = threading.Barrier(len(forms)), []

    def rate(fields):
        client = app.test_client()
        barrier.wait()
        statuses.append(post_form(client, url, fields=fields).status_code)

    threads = [threading.Thread(target=rate, args=(f,)) for f in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [303] + [409] * 5
    assert _count() == 1


def test_the_database_constraint_decides_when_the_check_is_raced(client, org, monkeypatch):
    url = "/r/" + issue_receipt_code(org.short, "HS-CONSTRAINT")
    first, second = open_form(client, url), open_form(client, url)
    assert post_form(client, url, fields=first).status_code == 303
    # Pretend both requests passed the pre-check at the same moment: only the unique key is left.
    real, calls = submit._dossier_taken, []

    def first_check_misses(receipt):
        calls.append(receipt)
        return len(calls) > 1 and real(receipt)

    monkeypatch.setattr(submit, "_dossier_taken", first_check_misses)
    monkeypatch.setattr("app.public.views.dossier_rated", lambda receipt: False)
    page = post_form(client, url, fields=second)
    assert page.status_code == 409 and _count() == 1
    assert len(calls) == 2  # the pre-check, then the check after the IntegrityError


def test_expired_and_tampered_codes_get_a_clear_message(client, org):
    expired = issue_receipt_code(org.short, "HS-OLD", ttl=timedelta(days=1), now=utcnow() - timedelta(days=2))
    page = client.get("/r/" + expired)
    assert page.status_code == 410 and "đã hết hạn" in page.get_data(as_text=True)
    good = issue_receipt_code(org.short, "HS-2")
    payload, signature = good.split(".")
    other = issue_receipt_code(org.full, "HS-2").split(".")[0]
    for bad in (f"{other}.{signature}", f"{payload}.{signature[:-2]}AA", payload, "x.y.z", "%%%", "a" * 400):
        page = client.get("/r/" + bad)
        assert page.status_code == 404, bad
        assert "không hợp lệ" in page.get_data(as_text=True)
    assert client.post("/r/" + expired, data={}).status_code == 410
    assert _count() == 0


def test_codes_carry_counter_dossier_and_expiry(app, org):
    code = issue_receipt_code(org.full, "A.b_c-9/2", ttl=timedelta(hours=2))
    receipt = read_receipt_code(code)
    assert (receipt.counter.id, receipt.dossier_id) == (org.full.id, "A.b_c-9/2")
    assert timedelta(hours=1) < receipt.expires_at - utcnow() <= timedelta(hours=2)
    with pytest.raises(ReceiptError) as error:
        read_receipt_code(code, now=utcnow() + timedelta(hours=3))
    assert error.value.reason == "expired"
    app.config["SECRET_KEY"] = "another-secret"
    with pytest.raises(ReceiptError):
        read_receipt_code(code)
    for bad in ("", "-starts-badly", "has space", "x" * 65, "a:b"):
        with pytest.raises(ValueError):
            issue_receipt_code(org.full, bad)


def test_receipt_code_command_prints_a_working_address(runner, client, org, tmp_path):
    result = runner.invoke(args=["public", "receipt-code", "T01-Q2", "HS-9", "--days", "3",
                                 "--svg", str(tmp_path / "qr.svg")])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("http://localhost/r/")
    assert client.get(url.removeprefix("http://localhost")).status_code == 200
    assert (tmp_path / "qr.svg").read_text().startswith("<?xml")
    bad = runner.invoke(args=["public", "receipt-code", "NOPE", "HS-9"])
    assert bad.exit_code != 0 and "no active counter" in bad.output
