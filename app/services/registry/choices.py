"""Agencies as (id, label) choices for select boxes, limited to a user's scope."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Agency, User
from app.services.registry.scope import visible_agency_ids


def agency_choices(user: User, lang: str, blank: str | None = None) -> list[tuple[int, str]]:
    """Active agencies the user may act on, in tree order, indented by depth."""
    agencies = db.session.scalars(select(Agency).where(Agency.active.is_(True)).order_by(Agency.code)).all()
    visible = visible_agency_ids(user)
    children: dict[int | None, list[Agency]] = {}
    for agency in agencies:
        children.setdefault(agency.parent_id, []).append(agency)
    known = {a.id for a in agencies}
    roots = [a for a in agencies if a.parent_id is None or a.parent_id not in known]
    out: list[tuple[int, str]] = [(0, blank)] if blank is not None else []
    stack = [(a, 0) for a in reversed(roots)]
    while stack:
        agency, depth = stack.pop()
        if visible is None or agency.id in visible:
            out.append((agency.id, "\u00a0\u00a0" * depth + f"{agency.code} · {agency.name(lang)}"))
        stack.extend((child, depth + 1) for child in reversed(children.get(agency.id, [])))
    return out
