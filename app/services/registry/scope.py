"""Who may do what, and which agencies a user sees: one policy for views, API and reports."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Agency
from app.models.auth import ADMINISTRATOR, DESIGNER, ENUMERATOR, HANDLER, LEADER, MANAGER, User

# Capability -> roles holding it. Agency-bound roles hold it only inside their subtree.
CAPABILITIES: dict[str, frozenset[str]] = {
    "users": frozenset({ADMINISTRATOR}),
    "audit": frozenset({ADMINISTRATOR}),
    "agencies": frozenset({ADMINISTRATOR}),
    "services": frozenset({ADMINISTRATOR}),
    "counters": frozenset({ADMINISTRATOR, MANAGER}),
    "responses": frozenset({ADMINISTRATOR, MANAGER}),
    "volumes": frozenset({ADMINISTRATOR, MANAGER}),
    "questionnaires": frozenset({ADMINISTRATOR, DESIGNER}),
    "reports": frozenset({ADMINISTRATOR, MANAGER, LEADER}),
    "admin": frozenset({ADMINISTRATOR, DESIGNER, MANAGER, HANDLER, ENUMERATOR}),
    # Cases (issue 18): the inbox, assigning and answering; the citizen's contact details only to the
    # agency's own officers (never to an administrator outside it).
    "cases": frozenset({ADMINISTRATOR, MANAGER, HANDLER}),
    "case_contact": frozenset({MANAGER, HANDLER}),
    # Survey campaigns (issue 19): letters, e-mails and SMS to sampled dossiers (their contacts are
    # personal data), the tracking of their outcomes, and the enumerators' interviews.
    "invitations": frozenset({ADMINISTRATOR}),
    "campaign_tracking": frozenset({ADMINISTRATOR, MANAGER}),
    "interviews": frozenset({ADMINISTRATOR, ENUMERATOR}),
    # Dossier lists (issue 19): managers import and read their agencies' dossiers; the holders'
    # contacts only survey administrators read.
    "dossiers": frozenset({ADMINISTRATOR, MANAGER}),
    "dossier_contact": frozenset({ADMINISTRATOR}),
    # Survey campaigns (issue 19): planning, drawing and purging them; their estimates are read by
    # leaders too (within their subtree).
    "campaigns": frozenset({ADMINISTRATOR}),
    "campaign_reports": frozenset({ADMINISTRATOR, LEADER}),
    # A national installation (issue 20): administrators register the units' keys and import their
    # totals files; leaders read the national ranking.
    "national": frozenset({ADMINISTRATOR}),
    "national_reports": frozenset({ADMINISTRATOR, LEADER}),
}


def may(user: User, capability: str) -> bool:
    """Whether the user's role holds a capability (agency scope is checked separately)."""
    return user.role in CAPABILITIES[capability]


def subtree_ids(root_id: int) -> set[int]:
    """The ids of an agency and all its descendants (one query over the whole tree)."""
    children: dict[int | None, list[int]] = {}
    for child, parent in db.session.execute(select(Agency.id, Agency.parent_id)):
        children.setdefault(parent, []).append(child)
    found, stack = set(), [root_id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, ()))
    return found


def visible_agency_ids(user: User) -> set[int] | None:
    """Agencies a user may act on: None means every agency (administrators, designers)."""
    if user.role in (ADMINISTRATOR, DESIGNER):
        return None
    if user.agency_id is None:
        return set()
    return subtree_ids(user.agency_id)


def in_scope(user: User, agency_id: int | None) -> bool:
    """Whether an agency lies inside the user's scope."""
    visible = visible_agency_ids(user)
    return visible is None or agency_id in visible
