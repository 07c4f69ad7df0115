"""flask campaigns create | plan | draw | verify | list | estimates | purge (issue 19)."""

from __future__ import annotations

from app.extensions import db
from app.models import Campaign, CampaignSample

from .conftest import answer


def _run(runner, *args):
    return runner.invoke(args=["campaigns", *args])


def test_campaign_walk_on_the_command_line(world, runner):
    result = _run(runner, "create", "Q1", "--name", "Quý 1", "--questionnaire", "sipas-short",
                  "--agency", "P", "--start", "2026-01-01", "--end", "2026-03-31", "--half-width", "10",
                  "--budget", "30", "--allocation", "equal")
    assert result.exit_code == 0, result.output
    result = _run(runner, "plan", "Q1")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[1].split("\t")[:5] == ["H1", "120", "54", "108", "10"]
    assert lines[3].split("\t")[:5] == ["X1", "40", "29", "40", "10"]
    result = _run(runner, "draw", "Q1", "--seed", "42")
    assert result.exit_code == 0, result.output
    assert "drawn 30 dossiers with seed 42" in result.output
    assert db.session.query(CampaignSample).count() == 30
    again = _run(runner, "draw", "Q1", "--seed", "42")
    assert again.exit_code == 1 and "Campaign Q1 is drawn already" in again.output
    result = _run(runner, "verify", "Q1")
    assert result.exit_code == 0 and "differences=0" in result.output
    listing = _run(runner, "list")
    assert "Q1\tdrawn\t2026-01-01..2026-03-31\t3\t30\t30\t42" in listing.output
    campaign = db.session.query(Campaign).filter_by(code="Q1").one()
    for sample in db.session.query(CampaignSample).order_by(CampaignSample.id).limit(4):
        sample.response_id = answer(world, world.agencies["H1"], 5, campaign_id=campaign.id)
        sample.outcome = "answered"
    db.session.commit()
    result = _run(runner, "estimates", "Q1")
    assert result.exit_code == 0, result.output
    overall = result.output.splitlines()[1].split("\t")
    assert overall[:4] == ["overall", "ALL", "30", "4"]
    purge = _run(runner, "purge", "Q1")
    assert purge.exit_code == 0 and "purged Q1: 0 contacts deleted" in purge.output


def test_bad_input_on_the_command_line(world, runner):
    result = _run(runner, "create", "Q1", "--name", "x", "--questionnaire", "sipas-short", "--agency", "NOPE",
                  "--start", "2026-01-01", "--end", "2026-03-31")
    assert result.exit_code == 1 and "no agency with the code NOPE" in result.output
    result = _run(runner, "create", "Q1", "--name", "x", "--questionnaire", "sipas-short", "--agency", "X1",
                  "--start", "2026-03-01", "--end", "2026-01-31")
    assert result.exit_code == 1 and "The period ends before it starts." in result.output
    _run(runner, "create", "Q2", "--name", "x", "--questionnaire", "sipas-short", "--agency", "X1",
         "--start", "2026-06-01", "--end", "2026-06-30")
    result = _run(runner, "plan", "Q2")
    assert result.exit_code == 1 and "the frame is empty" in result.output
    assert db.session.query(Campaign).count() == 1
    assert _run(runner, "draw", "NONE").exit_code == 1
