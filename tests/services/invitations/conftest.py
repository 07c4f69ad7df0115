"""A drawn campaign to invite, built row by row: two strata of the test commune's dossiers, each
sampled dossier with a contact by e-mail, SMS, post or phone (or none)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from app.extensions import db
from app.models import Agency, Campaign, CampaignSample, CampaignStratum, Dossier, DossierContact
from tests.public.conftest import build_org

# stratum key -> contacts of its sampled dossiers (channel, address, name)
CONTACTS = {
    "T01": [("email", "an@example.org", "Nguyễn Văn An"), ("sms", "0912345678", "Trần Thị Bình"),
            ("post", "12 Lê Lợi, phường Bến Thành, Quận 1", "Lê Văn Cường"),
            ("phone", "0987654321", "Phạm Dũng"),
            (None, "", "")],
    "T02": [("email", "em@example.org", "Hoàng Em"), ("post", "5 Trần Hưng Đạo, xã Thử", "Võ Thị Giang"),
            ("post", "7 Nguyễn Huệ, xã Thử", "")],
}


def build_campaign(org=None, reminder_days: int = 7) -> SimpleNamespace:
    """The organisation of tests.public plus a second commune, a drawn campaign over both."""
    org = org or build_org()
    other = Agency(code="T02", name_vi="Ủy ban nhân dân xã Hai", name_en="Hai Commune", level="commune")
    db.session.add(other)
    campaign = Campaign(code="KS2026", name="Khảo sát hài lòng 2026", version_id=org.short_version.id,
                        agency_id=org.agency.id, period_start=date(2026, 1, 1), period_end=date(2026, 6, 30),
                        status="drawn", seed=19, reminder_days=reminder_days)
    db.session.add(campaign)
    samples = {}
    for key, agency in (("T01", org.agency), ("T02", other)):
        stratum = CampaignStratum(campaign=campaign, key=key, agency=agency, population=100,
                                  planned=len(CONTACTS[key]), drawn=len(CONTACTS[key]))
        db.session.add(stratum)
        for order, (channel, address, name) in enumerate(CONTACTS[key], start=1):
            dossier = Dossier(code=f"{key}-{order:03d}", agency=agency, procedure="Đăng ký khai sinh",
                              received_on=date(2026, 2, 1), completed_on=date(2026, 2, 5))
            if channel:
                dossier.contact = DossierContact(channel=channel, address=address, name=name or None)
            db.session.add(dossier)
            sample = CampaignSample(campaign=campaign, stratum=stratum, dossier=dossier, draw_order=order,
                                    inclusion_probability=len(CONTACTS[key]) / 100)
            db.session.add(sample)
            samples[f"{key}-{order}"] = sample
    db.session.commit()
    return SimpleNamespace(org=org, other=other, campaign=campaign, samples=samples)


@pytest.fixture
def drawn(app):
    """The drawn campaign over empty tables."""
    return build_campaign()
