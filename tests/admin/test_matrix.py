"""Role × route × agency scope: every admin and report route answers 200 or 403 as the policy says."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.services.questionnaires.designer import create_from_template
from tests.admin.conftest import login_as

ALL = ("administrator", "designer", "manager", "leader")
ADMIN = ("administrator",)
ORG = ("administrator", "manager")
DESIGN = ("administrator", "designer")
REPORTS = ("administrator", "manager", "leader")

# (path, roles allowed inside the scope, whether the path names an agency-bound object).
# "{in}" / "{out}" are agency ids inside / outside the manager's and leader's district;
# "{cin}" / "{cout}" are counters there.
ROUTES = [
    ("/admin/", ("administrator", "designer", "manager"), False),
    ("/admin/users", ADMIN, False),
    ("/admin/users/new", ADMIN, False),
    ("/admin/audit", ADMIN, False),
    ("/admin/agencies", ORG, False),
    ("/admin/agencies/new", ADMIN, False),
    ("/admin/agencies/import", ADMIN, False),
    ("/admin/services", ADMIN, False),
    ("/admin/services/new", ADMIN, False),
    ("/admin/counters", ORG, False),
    ("/admin/counters/new", ORG, False),
    ("/admin/counters/import", ORG, False),
    ("/admin/counters?agency={X}", ORG, True),
    ("/admin/agencies/{X}/posters", ORG, True),
    ("/admin/counters/{C}", ORG, True),
    ("/admin/counters/{C}/qr.png", ORG, True),
    ("/admin/counters/{C}/qr.svg", ORG, True),
    ("/admin/counters/{C}/poster", ORG, True),
    ("/reports/", REPORTS, False),
    ("/reports/agencies/{X}", REPORTS, True),
    # The leaders' reports (issue 6) go through the same guards.
    *[(f"/reports/{page}?agency={{X}}", REPORTS, True)
      for page in ("overview", "ranking", "detail", "comments", "print", "export/indices.csv",
                   "export/indices.xlsx")],
    ("/admin/questionnaires", DESIGN, False),
    ("/admin/questionnaires/versions/{V}", DESIGN, False),
    ("/admin/questionnaires/versions/{V}/design", DESIGN, False),
    ("/admin/questionnaires/versions/{V}/preview", DESIGN, False),
    ("/admin/questionnaires/versions/{V}/file", DESIGN, False),
    ("/admin/responses", ORG, False),
    ("/admin/responses/import", ORG, False),
    ("/admin/responses/paper", ORG, False),
    ("/admin/volumes", ORG, False),
    ("/admin/volumes/import", ORG, False),
]
SCOPED_ROLES = ("manager", "leader")


def _cases():
    for path, allowed, bound in ROUTES:
        for role in ALL:
            if bound:
                yield path, role, "inside", role in allowed
                # Outside the subtree only unscoped roles keep access.
                yield path, role, "outside", role in allowed and role not in SCOPED_ROLES
            else:
                yield path, role, "-", role in allowed


def _url(path: str, tree, where: str, version_id: int = 0) -> str:
    agency = tree.commune if where != "outside" else tree.department
    counter = tree.counter_in if where != "outside" else tree.counter_out
    return path.replace("{X}", str(agency.id)).replace("{C}", str(counter.id)).replace("{V}", str(version_id))


@pytest.fixture
def draft(tree):
    """A draft questionnaire version for the designer routes."""
    version = create_from_template("sipas-short.yaml", "matrix", tree.users["administrator"])
    db.session.commit()
    return version


# One test per role keeps the matrix fast (one app, one tree); a failure lists every wrong cell.
@pytest.mark.parametrize("role", ALL)
def test_get_routes(client, tree, draft, role):
    login_as(client, tree.users[role])
    wrong = []
    for path, who, where, allowed in _cases():
        if who != role:
            continue
        url = _url(path, tree, where, draft.id)
        status = client.get(url).status_code
        if status != (200 if allowed else 403):
            wrong.append(f"{role} {where} {url}: {status}")
    assert wrong == []


def test_anonymous_is_sent_to_login(client, tree, draft):
    for path, _allowed, _bound in ROUTES:
        response = client.get(_url(path, tree, "inside", draft.id))
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], path


@pytest.mark.parametrize("role", ["manager", "leader"])
def test_designer_posts_need_the_designer_role(client, tree, draft, role):
    login_as(client, tree.users[role])
    base = f"/admin/questionnaires/versions/{draft.id}"
    for url in (base, f"{base}/design", f"{base}/publish", f"{base}/clone", f"{base}/delete",
                "/admin/questionnaires/new", "/admin/questionnaires/import"):
        assert client.post(url, data={"text": "x", "template": "blank", "code": "z"}).status_code == 403, url
    db.session.refresh(draft)
    assert draft.status == "draft"


@pytest.mark.parametrize(("role", "where", "status"), [
    ("administrator", "outside", 302), ("manager", "inside", 302), ("manager", "outside", 403),
    ("leader", "inside", 403), ("designer", "inside", 403),
])
def test_post_routes_check_scope(client, tree, role, where, status):
    counter = tree.counter_in if where == "inside" else tree.counter_out
    login_as(client, tree.users[role])
    for action in ("rotate", "revoke", "active"):
        # Confirmed (these actions ask on a page of their own first: tests/security/test_confirmations.py).
        confirmed = client.post(f"/admin/counters/{counter.id}/{action}", data={"confirm": "yes"})
        assert confirmed.status_code == status
    edit = client.post(f"/admin/counters/{counter.id}", data={"code": "X", "agency_id": counter.agency_id,
                                                               "name_vi": "a", "name_en": "b"})
    assert edit.status_code == (200 if status == 302 else status)


def test_manager_cannot_move_a_counter_out_of_scope(client, tree):
    login_as(client, tree.users["manager"])
    response = client.post(f"/admin/counters/{tree.counter_in.id}", data={
        "code": "X1-Q1", "agency_id": tree.department.id, "name_vi": "a", "name_en": "b",
        "questionnaire_id": 0})
    # The department is not even offered as a choice to the manager.
    assert response.status_code in (200, 403)
    db.session.refresh(tree.counter_in)
    assert tree.counter_in.agency_id == tree.commune.id


@pytest.mark.parametrize("role", ["designer", "manager", "leader"])
def test_administrator_only_posts(client, tree, role):
    login_as(client, tree.users[role])
    target = tree.users["administrator"]
    for url in ("/admin/users/new", f"/admin/users/{target.id}", f"/admin/users/{target.id}/api-token",
                "/admin/agencies/new", f"/admin/agencies/{tree.commune.id}",
                f"/admin/agencies/{tree.commune.id}/active", "/admin/agencies/import",
                "/admin/services/new", "/admin/services/import"):
        assert client.post(url, data={"role": "administrator", "active": "0"}).status_code == 403, url
    db.session.refresh(target)
    assert target.role == "administrator" and target.api_token_hash is None


@pytest.mark.parametrize(("role", "status"), [("designer", 403), ("leader", 403), ("manager", 200)])
def test_response_and_volume_posts(client, tree, role, status):
    login_as(client, tree.users[role])
    for url in ("/admin/responses/import", "/admin/responses/paper", "/admin/volumes/import",
                "/admin/counters/import", "/admin/counters/new"):
        assert client.post(url, data={}).status_code == status, url
