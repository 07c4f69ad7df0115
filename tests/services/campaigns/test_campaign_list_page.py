"""/reports/campaigns (issue 19): the drawn campaigns a leader may read, each linked to its estimates."""

from __future__ import annotations

from app.extensions import db
from app.services.campaigns import draw_campaign, plan_campaign
from tests.admin.conftest import login_as, make_user

from .conftest import new_campaign


def test_leaders_see_the_drawn_campaigns_of_their_scope(world, client):
    drawn = new_campaign(world, "C-DRAWN", name="Khảo sát quý 1 (đã rút mẫu)")
    plan_campaign(drawn)
    draw_campaign(drawn, seed=7)
    new_campaign(world, "C-PLAN")  # still planning: nothing to read yet
    outsider = make_user("other@example.org", "leader", world.agencies["Q"])
    manager = make_user("manager@example.org", "manager", world.province)
    db.session.commit()

    login_as(client, world.leader)
    page = client.get("/reports/campaigns?lang=vi").get_data(as_text=True)
    assert f'href="/reports/campaigns/{drawn.id}"' in page and "C-DRAWN: Khảo sát quý 1 (đã rút mẫu)" in page
    assert "C-PLAN" not in page
    assert 'id="campaigns-link"' in client.get("/reports/?lang=vi").get_data(as_text=True)

    login_as(client, outsider)
    page = client.get("/reports/campaigns?lang=en").get_data(as_text=True)
    assert "C-DRAWN" not in page and "No campaign has drawn its sample yet." in page
    login_as(client, manager)
    assert client.get("/reports/campaigns").status_code == 403
    assert 'id="campaigns-link"' not in client.get("/reports/").get_data(as_text=True)
