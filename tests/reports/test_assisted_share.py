"""Issue 16: the overview reports the responses an officer helped to fill in apart, like verified ones."""

from __future__ import annotations

import re

from sqlalchemy import update

from app.extensions import db
from app.models import Response


def _share(html: str) -> str:
    return re.search(r"<p>Helped by staff: ([^<]*) %</p>", html).group(1)


def test_overview_shows_the_share_helped_by_staff(as_user, province):
    client = as_user("province")
    assert _share(client.get("/reports/overview?lang=en").get_data(as_text=True)) in ("0", "0.0", "0.00")
    db.session.execute(update(Response).values(assisted=True))
    db.session.commit()
    again = as_user("province").get("/reports/overview?lang=en&channel=qr").get_data(as_text=True)
    assert _share(again) in ("100", "100.0", "100.00")
