"""A whole survey campaign walked from the command line (issue 19): flask dossiers import, flask campaigns
create / plan / draw / invite (letters and e-mails) / remind / tracking / estimates, with three sampled
citizens answering at /i/<code> through the Flask test client. The same dossier list and answers as the
browser walk (tests/e2e/test_campaign_walk.py); the codes are read from the letters' text and the queued
e-mails, the figures asserted against hand counts."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import CampaignSample, OutboxMessage
from tests.e2e.test_campaign_walk import BUDGET, CITIZENS, RATED, SIZES, build_world, dossier_list_csv
from tests.public.conftest import post_form

DOSSIER = r"000\.00\.\d\d\.H28-\d{6}-\d{4}"
CODE = r"(?m)/i/\s*([A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{32})\s*$"


def _run(runner, *args):
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _table(output: str) -> list[list[str]]:
    return [line.split("\t") for line in output.strip().splitlines() if "\t" in line]


def _letters(path) -> dict[str, str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = [page for page in text.split("\f") if page.strip()]
    return {re.search(DOSSIER, p).group(0): re.search(CODE, p).group(1) for p in pages}


def _pages(path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def test_walk_a_whole_campaign_on_the_command_line(app, runner, tmp_path):
    build_world()
    listing = tmp_path / "ho-so.csv"
    listing.write_text(dossier_list_csv(), encoding="utf-8")
    assert "60 dossier(s) stored from 60 row(s)" in _run(runner, "dossiers", "import", str(listing))

    _run(runner, "campaigns", "create", "KS-Q1", "--name", "Khảo sát hài lòng quý 1 năm 2026",
         "--questionnaire", "sipas-short", "--agency", "HB", "--start", "2026-01-01", "--end", "2026-03-31",
         "--half-width", "10", "--allocation", "equal", "--budget", str(BUDGET), "--reminder-days", "5")
    plan = _table(_run(runner, "campaigns", "plan", "KS-Q1"))
    # stratum, N, answers needed, invitations needed, allocated
    assert [row[:5] for row in plan[1:]] == [["HB-KB", "24", "20", "24", "5"],
                                             ["HB-LS", "24", "20", "24", "5"],
                                             ["HB-LS-VN", "12", "11", "12", "5"]]
    assert "drawn 15 dossiers with seed 2026" in _run(runner, "campaigns", "draw", "KS-Q1", "--seed", "2026")
    assert "differences=0" in _run(runner, "campaigns", "verify", "KS-Q1")

    letters = tmp_path / "letters.pdf"
    out = _run(runner, "campaigns", "invite", "KS-Q1", "--channel", "post", "--out", str(letters))
    posts = _letters(letters)
    assert f"post={len(posts)} letters in {letters}" in out and _pages(letters) == len(posts) >= 2
    out = _run(runner, "campaigns", "invite", "KS-Q1", "--channel", "email")
    mails = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    emails = {re.search(DOSSIER, m.subject + m.body).group(0): re.search(CODE, m.body).group(1)
              for m in mails}
    assert f"email={len(emails)} queued" in out
    # one dossier in six of the list has no contact: seed 2026's sample holds two of them
    assert (len(posts), len(emails)) == (6, 7)

    client = app.test_client()
    chosen = [*list(posts.items())[:2], next(iter(emails.items()))]
    for (dossier, code), (lang, rating, comment) in zip(chosen, CITIZENS, strict=True):
        page = client.get(f"/i/{code}?lang={lang}")
        assert dossier in page.get_data(as_text=True)
        answers = {f"q-{q}": rating for q in RATED} | {"q-COMMENT": comment}
        sent = post_form(client, f"/i/{code}?lang={lang}", answers)
        assert sent.status_code == 303 and sent.headers["Location"].endswith("sent=1")

    # nobody is owed a reminder yet; six days later (reminders after 5) everyone invited who did not answer is
    out = _run(runner, "campaigns", "remind", "KS-Q1", "--out", str(tmp_path / "early.pdf"))
    assert "email=0 sms=0 reminders queued" in out and "post=0 (no letter to print)" in out
    for sample in db.session.scalars(select(CampaignSample).where(CampaignSample.invited_at.is_not(None))):
        sample.invited_at -= timedelta(days=6)
    db.session.commit()
    reminders = tmp_path / "reminders.pdf"
    out = _run(runner, "campaigns", "remind", "KS-Q1", "--out", str(reminders))
    assert f"email={len(emails) - 1} sms=0 reminders queued" in out
    assert f"post={len(posts) - 2} letters in {reminders}" in out and _pages(reminders) == len(posts) - 2

    tracking = _table(_run(runner, "campaigns", "tracking", "KS-Q1"))
    assert tracking[0] == ["stratum", "sampled", "invited", "delivered", "bounced", "opened", "answered",
                           "refused", "not_contacted", "RR1"]
    assert tracking[-1] == ["TOTAL", "15", "13", "0", "0", "3", "3", "0", "2", "20.0%"]

    # the estimates: each respondent carries its stratum's N_h / r_h
    strata = {s.dossier.code: s.stratum.key for s in db.session.scalars(select(CampaignSample))}
    answered: dict[str, list[int]] = {}
    for (dossier, _code), (_lang, rating, _comment) in zip(chosen, CITIZENS, strict=True):
        answered.setdefault(strata[dossier], []).append(int(rating) >= 4)
    expected = 100 * sum(SIZES[h] * sum(y) / len(y) for h, y in answered.items()) / sum(
        SIZES[h] for h in answered)
    out = _run(runner, "campaigns", "estimates", "KS-Q1")
    assert "note: no answer yet in HB-LS-VN; the totals leave them out" in out
    estimates = _table(out)
    overall = estimates[1]
    assert overall[:5] == ["overall", "ALL", "15", "3", f"{expected:.1f}"]
    by_stratum = {row[1]: row[3] for row in estimates if row[0] == "stratum"}
    assert by_stratum == {key: str(len(y)) for key, y in answered.items()} == {"HB-KB": "1", "HB-LS": "2"}
