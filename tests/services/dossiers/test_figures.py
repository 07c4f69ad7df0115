"""What follows from a dossier list: timeliness per agency-month, volumes and response rates, purges."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Campaign,
    CampaignSample,
    CampaignStratum,
    Dossier,
    DossierContact,
    Response,
)
from app.services.dossiers import (
    import_dossiers,
    purge_campaign_contacts,
    timeliness_by_agency_month,
    timeliness_table,
)
from app.services.questionnaires.versions import SURVEYS_DIR, publish_questionnaire, validate_file
from app.services.registry import agency_coverage, subtree_ids
from app.services.reports import pages
from tests.services.dossiers.conftest import dossier_csv

# Commune X1: June 2025, 4 completed (2 on time, 1 late, 1 unknown), 3 apologies; July 1 completed on its
# first day (a date: no time zone moves it to June). District H1 itself: 1 in June, late.
LIST = (
    "A1,X1,,,p,,2025-06-01,2025-06-03,2025-06-05,,0,email,a1@example.org,",
    "A2,X1,,,p,,2025-06-01,2025-06-10,2025-06-05,,2,email,a2@example.org,",
    "A3,X1,,,p,,2025-06-01,2025-06-30,,1,0,sms,0900000003,",
    "A4,X1,,,p,,2025-06-01,2025-06-15,,,1,,,",
    "A5,X1,,,p,,2025-06-20,2025-07-01,2025-07-01,,0,email,a5@example.org,",
    "A6,H1,,,p,,2025-05-20,2025-06-02,2025-05-30,,0,,,",
    "A7,D1,,,p,,2025-06-20,,2025-07-01,,0,email,a7@example.org,",
)


def _import(org):
    report = import_dossiers(dossier_csv(*LIST), "list.csv", None)
    assert report.ok, report.errors
    db.session.commit()


def test_timeliness_per_agency_month_and_rolled_up(org):
    _import(org)
    own = {key: (t.completed, t.on_time, t.late, t.apologies)
           for key, t in timeliness_by_agency_month([org.commune.id, org.district.id]).items()}
    assert own == {(org.commune.id, "2025-06"): (4, 2, 1, 3), (org.commune.id, "2025-07"): (1, 1, 0, 0),
                   (org.district.id, "2025-06"): (1, 0, 1, 0)}
    table = timeliness_table(subtree_ids(org.district.id))
    assert [(t.month, t.completed, t.on_time, t.late, t.apologies) for t in table.months] == [
        ("2025-06", 5, 2, 2, 3), ("2025-07", 1, 1, 0, 0)]
    assert table.months[0].on_time_share == 50.0
    total = table.total
    assert (total.month, total.completed, total.on_time, total.late, total.apologies) == (None, 6, 3, 2, 3)
    assert total.on_time_share == 60.0
    june = timeliness_table(subtree_ids(org.province.id), "2025-06", "2025-06")
    assert [t.month for t in june.months] == ["2025-06"] and june.total.completed == 5
    assert timeliness_table(subtree_ids(org.department.id)).total is None  # A7 is not completed


def test_volumes_from_the_list_give_the_response_rate_and_the_population(org):
    version, _ = publish_questionnaire(validate_file(SURVEYS_DIR / "sipas-short.yaml"))
    for i, day in enumerate((2, 9, 30)):
        db.session.add(Response(uid=f"r{i}", version_id=version.id, agency_id=org.commune.id, channel="qr",
                                submitted_at=datetime(2025, 6, day, 3, tzinfo=UTC), answers={}))
    db.session.commit()
    _import(org)
    months = {m.month.strftime("%Y-%m"): m for m in agency_coverage(org.commune)}
    assert (months["2025-06"].responses, months["2025-06"].dossiers, months["2025-06"].rate) == (3, 4, 75.0)
    assert months["2025-07"].dossiers == 1 and months["2025-07"].rate == 0.0
    # Post-stratification reads the same figures: dossiers per domain label.
    volumes = pages.dossiers_by_agency_month(subtree_ids(org.district.id))
    assert volumes == {(org.commune.id, "2025-06"): 4, (org.commune.id, "2025-07"): 1,
                       (org.district.id, "2025-06"): 1}
    assert pages.population_for(volumes, lambda agency, month: month) == {"2025-06": 5.0, "2025-07": 1.0}


def test_purge_of_a_campaign_deletes_its_contacts_only(org):
    _import(org)
    version, _ = publish_questionnaire(validate_file(SURVEYS_DIR / "sipas-short.yaml"))
    june = Campaign(code="C-JUNE", name="June", version_id=version.id, agency_id=org.commune.id,
                    period_start=date(2025, 6, 1), period_end=date(2025, 6, 30))
    db.session.add(june)
    db.session.flush()
    stratum = CampaignStratum(campaign_id=june.id, key="X1", agency_id=org.commune.id, population=4)
    db.session.add(stratum)
    db.session.flush()
    a1 = db.session.scalar(select(Dossier.id).where(Dossier.code == "A1"))
    db.session.add(CampaignSample(campaign_id=june.id, stratum_id=stratum.id, dossier_id=a1, draw_order=1,
                                  inclusion_probability=0.25))
    db.session.commit()
    assert purge_campaign_contacts(june) == 3  # A1 sampled; A2, A3 in its frame; A5 (July) and A7 kept
    db.session.commit()
    left = db.session.scalars(select(Dossier.code).join(DossierContact).order_by(Dossier.code)).all()
    assert left == ["A5", "A7"]
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 7  # the dossiers stay
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "dossiers.purge_contacts"))
    assert (event.target, event.detail) == ("C-JUNE", {"contacts": 3})


def test_another_open_campaign_keeps_its_frame_contacts(org):
    _import(org)
    version, _ = publish_questionnaire(validate_file(SURVEYS_DIR / "sipas-short.yaml"))
    first = Campaign(code="C1", name="1", version_id=version.id, agency_id=org.commune.id,
                     period_start=date(2025, 6, 1), period_end=date(2025, 6, 30))
    second = Campaign(code="C2", name="2", version_id=version.id, agency_id=org.province.id,
                      period_start=date(2025, 6, 15), period_end=date(2025, 7, 31))
    db.session.add_all([first, second])
    db.session.commit()
    # A1, A2 only in C1's frame go; A3 (completed 30 June) is in C2's frame too and stays.
    assert purge_campaign_contacts(first) == 2
    db.session.commit()
    assert db.session.scalars(select(Dossier.code).join(DossierContact).order_by(Dossier.code)).all() == [
        "A3", "A5", "A7"]


def test_cli_import_timeliness_and_purge_by_date(runner, org, tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(dossier_csv(*LIST))
    result = runner.invoke(args=["dossiers", "import", str(path)])
    assert result.exit_code == 0 and "7 dossier(s) stored from 7 row(s)" in result.output
    result = runner.invoke(args=["dossiers", "timeliness", "--agency", "X1"])
    assert result.output.splitlines() == [
        "agency\tmonth\tcompleted\ton_time\tlate\ton_time_pct\tapologies",
        "X1\t2025-06\t4\t2\t1\t66.7\t3", "X1\t2025-07\t1\t1\t0\t100.0\t0"]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(dossier_csv("B1,NOPE,,,p,,2025-06-01,,,,,,,", "B1,X1,,,p,,2025-06-09,2025-06-01,,,,,,"))
    result = runner.invoke(args=["dossiers", "import", str(bad)])
    assert result.exit_code == 1
    for expected in ("bad.csv: row 2, column agency: unknown agency 'NOPE'",
                     "bad.csv: row 3, column dossier_code: dossier code 'B1' appears twice",
                     "bad.csv: row 3, column completed: completed on 2025-06-01, before it was received",
                     "3 error(s) in 2 row(s); nothing was imported"):
        assert expected in result.output, result.output
    assert runner.invoke(args=["dossiers", "purge-contacts", "--before", "30/06/2025"]).exit_code == 1
    result = runner.invoke(args=["dossiers", "purge-contacts", "--before", "2025-06-30"])
    assert result.exit_code == 0 and "2 contact(s) deleted" in result.output  # A1 and A2
    assert db.session.scalars(select(Dossier.code).join(DossierContact).order_by(Dossier.code)).all() == [
        "A3", "A5", "A7"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "dossiers.purge_contacts"))
    assert (event.actor, event.target, event.detail) == ("system", "before 2025-06-30", {"contacts": 2})


def test_demo_list_matches_the_demo_responses(runner, demo):
    from math import ceil

    from app.models import Agency
    from app.services.registry.coverage import responses_by_agency_month

    ids = db.session.scalars(select(Agency.id)).all()
    responses = {key: n for key, n in responses_by_agency_month(ids).items()
                 if key[1] in ("2025-11", "2025-12")}
    result = runner.invoke(args=["dossiers", "demo", "--months", "2"])
    expected = sum(ceil(n / 0.5) for n in responses.values())
    assert result.exit_code == 0 and f"demo: {expected} dossier(s) imported" in result.output, result.output
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == expected
    top = db.session.scalar(select(Agency).where(Agency.code == "DEMO"))
    months = {m.month.strftime("%Y-%m"): m for m in agency_coverage(top)}
    for month in ("2025-11", "2025-12"):
        assert months[month].coverage.anomalies == ()
        assert months[month].dossiers == sum(ceil(n / 0.5) for k, n in responses.items() if k[1] == month)
        assert 40 < months[month].rate <= 50
    assert months["2025-10"].dossiers is None
    assert db.session.scalar(select(func.count()).select_from(DossierContact)) > expected // 2
