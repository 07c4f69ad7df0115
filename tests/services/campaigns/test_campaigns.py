"""Campaigns (issue 19 items 3, 4, 7): plan, draw, freeze, verify, purge and the design-based estimates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, CampaignSample, CampaignStratum, Dossier, DossierContact, ReportCell
from app.services.campaigns import (
    CampaignError,
    campaign_estimates,
    draw_campaign,
    plan_campaign,
    purge_campaign,
    redraw,
    update_campaign,
    verify_draw,
)

from .conftest import SIZES, answer, new_campaign, settings


def _sample(campaign):
    return db.session.execute(
        select(Dossier.code, CampaignSample.draw_order, CampaignSample.inclusion_probability,
               CampaignStratum.key)
        .join(Dossier, Dossier.id == CampaignSample.dossier_id)
        .join(CampaignStratum, CampaignStratum.id == CampaignSample.stratum_id)
        .where(CampaignSample.campaign_id == campaign.id)
        .order_by(CampaignStratum.key, CampaignSample.draw_order)).all()


def test_plan_by_hand(world):
    campaign = new_campaign(world)
    rows = plan_campaign(campaign, world.admin)
    db.session.commit()
    # frame: H1 120, H2 60, X1 40 (not H1's 15 of December, not the other province's 30)
    assert [(r.key, r.population) for r in rows] == [("H1", 120), ("H2", 60), ("X1", 40)]
    # n0 = 1.959964² · 0.25 / 0.1² = 96.04; 120: 96.04/(1 + 95.04/120) = 53.6 -> 54 completes, 108 letters;
    # 60: 37.2 -> 38 -> 76 letters, capped at 60; 40: 28.4 -> 29 -> 58, capped at 40
    assert [r.needed_completes for r in rows] == [54, 38, 29]
    assert [r.needed for r in rows] == [108, 60, 40]
    # proportional share of 208: 113.45, 56.73, 37.82 -> largest remainders to X1 and H2
    assert [r.planned for r in rows] == [113, 57, 38]
    assert [r.expected_completes for r in rows] == [56.5, 28.5, 19.0]
    # 56.5 completes of 120: 1.959964·√(0.25·63.5/(56.5·119))
    assert rows[0].expected_half_width == pytest.approx(1.959963984540054 * math.sqrt(
        0.25 * 63.5 / (56.5 * 119)), rel=1e-12)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "campaigns.plan")) == 1


@pytest.mark.parametrize(("allocation", "expected"), [
    ("proportional", [55, 27, 18]), ("equal", [34, 33, 33]), ("neyman", [55, 27, 18])])
def test_allocation_within_budget(world, allocation, expected):
    campaign = new_campaign(world, allocation=allocation, budget=100)
    rows = plan_campaign(campaign)
    assert [r.planned for r in rows] == expected
    assert sum(r.planned for r in rows) == 100


def test_strata_by_procedure_group(world):
    campaign = new_campaign(world, strata_by="agency_procedure_group")
    rows = plan_campaign(campaign)
    # every third dossier is 'land': 120 -> 40 land, 80 civil
    assert [(r.key, r.procedure_group, r.population) for r in rows] == [
        ("H1/civil", "civil", 80), ("H1/land", "land", 40), ("H2/civil", "civil", 40),
        ("H2/land", "land", 20), ("X1/civil", "civil", 26), ("X1/land", "land", 14)]


def test_draw_is_reproducible_frozen_and_verified(world):
    first = new_campaign(world, "A")
    plan_campaign(first)
    assert draw_campaign(first, seed=20260101, actor=world.admin) == 208
    db.session.commit()
    assert first.status == "drawn" and first.seed == 20260101
    sample = _sample(first)
    assert len(sample) == 208
    assert {(key, round(p, 12)) for _, _, p, key in sample} == {
        ("H1", round(113 / 120, 12)), ("H2", round(57 / 60, 12)), ("X1", round(38 / 40, 12))}
    # the same seed on a second campaign with the same frame: the same dossiers in the same order
    second = new_campaign(world, "B")
    plan_campaign(second)
    draw_campaign(second, seed=20260101)
    assert _sample(second) == sample
    third = new_campaign(world, "C")
    plan_campaign(third)
    draw_campaign(third, seed=20260102)
    assert [row[0] for row in _sample(third)] != [row[0] for row in sample]
    check = verify_draw(first)
    assert check.matches and check.stored == check.repeated == 208 and check.differences == 0
    assert sorted((d.key, d.draw_order) for d in redraw(first)) == sorted((k, o) for _, o, _, k in sample)
    # frozen: no second draw, no new settings, no new plan
    with pytest.raises(CampaignError, match="drawn already"):
        draw_campaign(first, seed=1)
    with pytest.raises(CampaignError, match="frozen"):
        update_campaign(first, settings(world, "A", budget=50))
    with pytest.raises(CampaignError, match="frozen"):
        plan_campaign(first)


def test_a_tampered_sample_fails_verification(world):
    campaign = new_campaign(world)
    plan_campaign(campaign)
    draw_campaign(campaign, seed=5)
    row = db.session.scalars(select(CampaignSample).where(CampaignSample.campaign_id == campaign.id)
                             .order_by(CampaignSample.id)).first()
    row.draw_order = 999
    db.session.commit()
    check = verify_draw(campaign)
    assert not check.matches and check.differences == 2


def test_systematic_draw(world):
    campaign = new_campaign(world, method="systematic", budget=30, allocation="equal")
    plan_campaign(campaign)
    draw_campaign(campaign, seed=11)
    sample = _sample(campaign)
    assert [sum(1 for *_, k in sample if k == key) for key in ("H1", "H2", "X1")] == [10, 10, 10]
    # every 12th dossier of H1 (all completed the same day, so in code order)
    numbers = sorted(int(code.split("-")[1]) for code, *_, key in sample if key == "H1")
    assert np.all(np.diff(numbers) == 12)
    assert verify_draw(campaign).matches


def test_drawing_more_than_a_stratum_holds_is_refused_with_the_numbers(world):
    campaign = new_campaign(world)
    plan_campaign(campaign)
    stratum = db.session.scalar(select(CampaignStratum).where(CampaignStratum.key == "X1"))
    stratum.planned = 45
    db.session.commit()
    with pytest.raises(CampaignError, match="Stratum X1 holds 40 dossiers; 45 cannot be drawn"):
        draw_campaign(campaign, seed=1)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CampaignSample)) == 0
    assert campaign.status == "planning"


def test_empty_stratum_and_empty_frame(world):
    campaign = new_campaign(world)
    plan_campaign(campaign)
    db.session.commit()
    # X1's dossiers leave the period after the plan: its stratum is empty
    for dossier in db.session.scalars(select(Dossier).where(Dossier.code.like("X1-%"))):
        dossier.completed_on = dossier.completed_on.replace(year=2025)
    db.session.commit()
    with pytest.raises(CampaignError, match="Stratum X1 has no dossiers in the frame"):
        draw_campaign(campaign, seed=1)
    db.session.rollback()
    empty = new_campaign(world, "E", agency_id=world.agencies["X1"].id)
    with pytest.raises(CampaignError, match="the frame is empty"):
        plan_campaign(empty)


def test_a_changed_frame_asks_for_a_new_plan(world):
    from .conftest import add_dossiers

    campaign = new_campaign(world)
    plan_campaign(campaign)
    add_dossiers(world.agencies["H2"], 5, start=900)
    db.session.commit()
    with pytest.raises(CampaignError, match="stratum H2 had 60 dossiers, it has 65"):
        draw_campaign(campaign, seed=1)


def test_bad_settings_are_refused(world):
    from app.services.campaigns import create_campaign

    new_campaign(world)
    for changes, message in [({}, "exists already"), ({"code": "x y"}, "letters, digits"),
                             ({"code": "N", "target_half_width": 0}, "half-width"),
                             ({"code": "N", "expected_response_rate": 1.5}, "response rate"),
                             ({"code": "N", "period_end": settings(world).period_start.replace(year=2025)},
                              "ends before")]:
        with pytest.raises(CampaignError, match=message):
            create_campaign(settings(world, **{"code": "C2026", **changes}))
    budget = new_campaign(world, "TINY", budget=4)
    with pytest.raises(CampaignError, match="budget of 4 invitations is below the minimum of 2 per stratum"):
        plan_campaign(budget)


def _answer_sample(world, campaign, ratings_by_stratum):
    """The first len(ratings) sampled dossiers of each stratum answer with those ratings."""
    samples = db.session.execute(
        select(CampaignSample, CampaignStratum.key, Dossier.agency_id)
        .join(CampaignStratum, CampaignStratum.id == CampaignSample.stratum_id)
        .join(Dossier, Dossier.id == CampaignSample.dossier_id)
        .where(CampaignSample.campaign_id == campaign.id).order_by(CampaignSample.draw_order)).all()
    by_key = {}
    for sample, key, agency_id in samples:
        by_key.setdefault(key, []).append((sample, agency_id))
    for key, ratings in ratings_by_stratum.items():
        for (sample, agency_id), rating in zip(by_key[key], ratings, strict=False):
            agency = db.session.get(type(world.province), agency_id)
            sample.response_id = answer(world, agency, rating, campaign_id=campaign.id)
            sample.outcome = "answered"
    db.session.commit()


RATINGS = {"H1": [5, 4, 2, 1, 5, 4, 3, 5], "H2": [1, 2, 4, 5, 2], "X1": [5, 5, 4, 2]}


def _expected(population, ratings):
    """Stratified estimate and fpc standard error by hand.

    w = N_h/r_h, v = Σ (N_h/N)² (1 − r_h/N_h) s_h²/r_h.
    """
    total = sum(population.values())
    p = sum(population[k] * np.mean(np.array(r) >= 4) for k, r in ratings.items()) / total
    var = 0.0
    for key, r in ratings.items():
        s = (np.array(r) >= 4).astype(float)
        # the ratio's linearised values: (s − p)·w / Σw, whose stratum variance is that of s
        var += (population[key] / total) ** 2 * (1 - len(r) / population[key]) * np.var(s, ddof=1) / len(r)
    return 100 * p, 100 * math.sqrt(var)


def test_design_weighted_estimates_by_hand(world):
    campaign = new_campaign(world, budget=30, allocation="equal")
    plan_campaign(campaign)
    draw_campaign(campaign, seed=3)
    db.session.commit()
    _answer_sample(world, campaign, RATINGS)
    result = campaign_estimates(campaign)
    overall = result.domain("overall", "")
    estimate, se = _expected(SIZES, RATINGS)
    assert overall.estimate == pytest.approx(estimate, rel=1e-12)
    assert overall.se == pytest.approx(se, rel=1e-10)
    assert (overall.sampled, overall.responded, overall.n) == (30, 17, 17)
    assert overall.response_rate == pytest.approx(100 * 17 / 30)
    # the realised design effect: the variance over that of a simple random sample of 17 answers drawn
    # without replacement from the 220 dossiers, (1 − 17/220)·p(1 − p)/17
    p = estimate / 100
    assert overall.deff == pytest.approx((se / 100) ** 2 / ((1 - 17 / 220) * p * (1 - p) / 17), rel=1e-9)
    h1 = result.domain("stratum", "H1")
    assert h1.estimate == pytest.approx(100 * 5 / 8) and (h1.sampled, h1.responded) == (10, 8)
    # within one stratum the fpc is 1 − 8/120
    s = (np.array(RATINGS["H1"]) >= 4).astype(float)
    assert h1.se == pytest.approx(100 * math.sqrt((1 - 8 / 120) * np.var(s, ddof=1) / 8), rel=1e-10)
    assert result.domain("agency", "X1").estimate == pytest.approx(75.0)
    assert overall.counter is None  # no counter answers in the period


def test_weights_after_nonresponse_add_up_to_the_frame(world):
    from analysis.sampling import design_weights

    campaign = new_campaign(world, budget=30, allocation="equal")
    plan_campaign(campaign)
    draw_campaign(campaign, seed=3)
    db.session.commit()
    _answer_sample(world, campaign, RATINGS)
    rows = db.session.execute(select(CampaignSample.inclusion_probability, CampaignSample.response_id,
                                     CampaignStratum.key)
                              .join(CampaignStratum, CampaignStratum.id == CampaignSample.stratum_id)
                              .where(CampaignSample.campaign_id == campaign.id)).all()
    keys = sorted({r[2] for r in rows})
    weights = design_weights([r[0] for r in rows], [r[1] is not None for r in rows],
                             [keys.index(r[2]) for r in rows])
    sums = np.bincount([keys.index(r[2]) for r in rows], weights=weights.adjusted)
    assert np.allclose(sums, [120, 60, 40], rtol=1e-12)
    # H1: 10 of 120 drawn (base 12), 8 answered: 12 · 10/8 = 15
    h1 = [w for w, r in zip(weights.adjusted, rows, strict=True) if r[2] == "H1" and r[1] is not None]
    assert np.allclose(h1, 15.0)


def test_poststratified_estimates_use_the_frame_counts(world):
    campaign = new_campaign(world, budget=30, allocation="equal")
    plan_campaign(campaign)
    draw_campaign(campaign, seed=3)
    db.session.commit()
    _answer_sample(world, campaign, {"H1": [5] * 10, "H2": [1] * 10, "X1": [4] * 10})
    result = campaign_estimates(campaign, poststratified=True)
    # each post-stratum (agency × group) answers alike, so its weight total moves, not the estimate
    assert result.poststratified and result.note is None
    assert result.domain("overall", "").estimate == pytest.approx(100 * 160 / 220)
    assert result.domain("stratum", "H2").estimate == pytest.approx(0.0)


def test_counters_side_by_side_and_campaign_answers_not_in_counter_reports(world):
    campaign = new_campaign(world, budget=30, allocation="equal")
    plan_campaign(campaign)
    draw_campaign(campaign, seed=3)
    db.session.commit()
    _answer_sample(world, campaign, RATINGS)
    # counter QR answers in the period: 6 of 10 satisfied in H1, 1 of 4 in H2
    for rating in [5, 5, 4, 4, 5, 4, 1, 2, 3, 2]:
        answer(world, world.agencies["H1"], rating)
    for rating in [5, 1, 2, 3]:
        answer(world, world.agencies["H2"], rating)
    db.session.commit()
    # the report cells hold the 14 counter answers only, not the 17 campaign answers, and the reports'
    # direct reads (distributions, comments, counts) leave them out too
    assert db.session.scalar(select(func.sum(ReportCell.n))) == 14
    from app.models import Response
    from app.services.reports.estimates import ReportFilters

    assert db.session.scalar(select(func.count()).select_from(Response)) == 31
    assert db.session.scalar(select(func.count()).select_from(Response).where(*ReportFilters().where())) == 14
    result = campaign_estimates(campaign)
    overall = result.domain("overall", "")
    assert overall.counter["n"] == 14
    p = 7 / 14
    assert overall.counter["estimate"] == pytest.approx(100 * p)
    # one stratum, each answer its own PSU: v = p(1 − p)/(n − 1)
    assert overall.counter["se"] == pytest.approx(100 * math.sqrt(p * (1 - p) / 13), rel=1e-9)
    assert overall.difference == pytest.approx(overall.estimate - 100 * p)
    assert overall.difference_se == pytest.approx(math.hypot(overall.se, overall.counter["se"]))
    z = overall.difference / overall.difference_se
    assert overall.p == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))
    h1 = result.domain("agency", "H1")
    assert h1.counter["estimate"] == pytest.approx(60.0) and h1.counter["n"] == 10


def test_purge_deletes_the_contacts_and_freezes(world):
    campaign = new_campaign(world, budget=30, allocation="equal")
    plan_campaign(campaign)
    for dossier in db.session.scalars(select(Dossier)):
        db.session.add(DossierContact(dossier_id=dossier.id, channel="email", address=f"{dossier.code}@x.vn"))
    draw_campaign(campaign, seed=3)
    from app.services.invitations import invitation_code

    codes = [invitation_code(sample) for sample in db.session.scalars(
        select(CampaignSample).where(CampaignSample.campaign_id == campaign.id))]
    db.session.commit()
    assert len(codes) >= 30
    with pytest.raises(CampaignError, match="no sample yet"):
        purge_campaign(new_campaign(world, "P2"))
    deleted = purge_campaign(campaign, world.admin)
    db.session.commit()
    assert deleted >= 30 and campaign.status == "purged" and campaign.purged_at is not None
    sampled = select(CampaignSample.dossier_id).where(CampaignSample.campaign_id == campaign.id)
    assert db.session.scalar(select(func.count()).select_from(DossierContact).where(
        DossierContact.dossier_id.in_(sampled))) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "campaigns.purge")) == 1
    # the invitations' codes end with the purge: none can be looked up any more
    assert db.session.scalar(select(func.count()).select_from(CampaignSample).where(
        CampaignSample.campaign_id == campaign.id, CampaignSample.code_hash.is_not(None))) == 0
    with pytest.raises(CampaignError, match="purged already"):
        purge_campaign(campaign)


def test_poststratification_to_agency_and_procedure_group_counts(world):
    campaign = new_campaign(world, budget=30, allocation="equal")
    plan_campaign(campaign)
    draw_campaign(campaign, seed=3)
    db.session.commit()
    # every sampled holder answers: satisfied in a 'land' dossier, not in a 'civil' one
    rows = db.session.execute(select(CampaignSample, Dossier)
                              .join(Dossier, Dossier.id == CampaignSample.dossier_id)
                              .where(CampaignSample.campaign_id == campaign.id)).all()
    for sample, dossier in rows:
        sample.response_id = answer(world, dossier.agency, 5 if dossier.procedure_group == "land" else 1,
                                    campaign_id=campaign.id)
        sample.outcome = "answered"
    db.session.commit()
    land = {key: sum(1 for _, d in rows if d.agency.code == key and d.procedure_group == "land")
            for key in ("H1", "H2", "X1")}
    assert all(0 < n < 10 for n in land.values())  # every post-stratum has answers
    design = campaign_estimates(campaign, with_counters=False)
    # design weights: each stratum's share of 'land' answers, weighted by N_h
    expected = sum(SIZES[k] * land[k] / 10 for k in SIZES) / 220
    assert design.domain("overall", "").estimate == pytest.approx(100 * expected, rel=1e-12)
    post = campaign_estimates(campaign, poststratified=True, with_counters=False)
    # post-stratified to the frame: 'land' is every third dossier, 40 + 20 + 14 of 220
    assert post.poststratified
    assert post.domain("overall", "").estimate == pytest.approx(100 * 74 / 220, rel=1e-12)
    assert post.domain("stratum", "X1").estimate == pytest.approx(100 * 14 / 40, rel=1e-12)
    # within each post-stratum every answer is alike: no sampling error is left
    assert post.domain("overall", "").se == pytest.approx(0.0, abs=1e-9)
    assert design.domain("overall", "").se > 1.0
