"""flask campaigns invite / remind / tracking (issue 19): the same numbers as the pages."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import OutboxMessage


def test_invite_remind_and_tracking_from_the_command_line(runner, drawn, tmp_path):
    out = tmp_path / "letters.pdf"
    result = runner.invoke(args=["campaigns", "invite", "KS2026", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "email=2 sms=1 queued" in result.output and f"post=3 letters in {out}" in result.output
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert info.split("Pages:")[1].split()[0] == "3"
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 3
    # Nobody is owed a reminder yet.
    result = runner.invoke(args=["campaigns", "remind", "KS2026", "--out", str(tmp_path / "r.pdf")])
    assert "email=0 sms=0 reminders queued" in result.output
    assert "post=0 (no letter to print)" in result.output
    # Ten days later (invitations dated back), reminders go to the six invited, none answered.
    for sample in drawn.samples.values():
        if sample.invited_at:
            sample.invited_at -= timedelta(days=10)
    db.session.commit()
    result = runner.invoke(args=["campaigns", "remind", "KS2026", "--out", str(tmp_path / "r.pdf")])
    assert "email=2 sms=1 reminders queued" in result.output and "post=3 letters" in result.output
    result = runner.invoke(args=["campaigns", "tracking", "KS2026"])
    lines = result.output.splitlines()
    assert lines[0].split("\t") == ["stratum", "sampled", "invited", "delivered", "bounced", "opened",
                                    "answered", "refused", "not_contacted", "RR1"]
    assert lines[1].split("\t") == ["T01", "5", "3", "0", "0", "0", "0", "0", "2", "0.0%"]
    assert lines[3].split("\t") == ["TOTAL", "8", "6", "0", "0", "0", "0", "0", "2", "0.0%"]
    data = json.loads(runner.invoke(args=["campaigns", "tracking", "KS2026", "--json"]).output)
    assert data["total"]["invited"] == 6 and data["strata"][1]["key"] == "T02"
    assert runner.invoke(args=["campaigns", "invite", "NOPE"]).exit_code != 0
