"""Reading the organisation: agency tree, counters and their public addresses."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Agency, ServicePoint
from app.models.base import UTCDateTime, utcnow


@dataclass
class AgencyNode:
    """An agency with its active counter count and child nodes, for display."""

    agency: Agency
    counters: int = 0
    children: list[AgencyNode] = field(default_factory=list)


def agency_tree(active_only: bool = True) -> list[AgencyNode]:
    """All agencies as a forest of nodes, children ordered by code, in two queries."""
    query = select(Agency).order_by(Agency.code)
    if active_only:
        query = query.where(Agency.active.is_(True))
    agencies = db.session.scalars(query).all()
    counts = dict(
        db.session.execute(
            select(ServicePoint.agency_id, func.count())
            .where(ServicePoint.active.is_(True))
            .group_by(ServicePoint.agency_id)
        ).all()
    )
    nodes = {a.id: AgencyNode(a, counts.get(a.id, 0)) for a in agencies}
    roots = []
    for agency in agencies:
        parent = nodes.get(agency.parent_id) if agency.parent_id else None
        (parent.children if parent else roots).append(nodes[agency.id])
    return roots


# A counter takes answers while its token stands, it is active, and so is its agency (a
# deactivated agency takes its counters off the air too). For a query joining the agency.
OPEN_COUNTER = (
    ServicePoint.qr_token_revoked.is_(False),
    ServicePoint.active.is_(True),
    Agency.active.is_(True),
)

# The counter a QR token (bound as "token") names: its current token, or the one it had before its
# last rotation while that one's grace period lasts (QR_ROTATION_GRACE_DAYS, app/services/registry/qr.py).
# The instant is taken each time the query runs.
TOKEN_MATCHES = or_(
    ServicePoint.qr_token == bindparam("token"),
    and_(ServicePoint.qr_token_previous == bindparam("token"),
         ServicePoint.qr_token_previous_until > bindparam("grace_now", type_=UTCDateTime, callable_=utcnow)),
)


def public_base_url() -> str:
    """The address citizens reach the app at (PUBLIC_BASE_URL, else the local server)."""
    return current_app.config["PUBLIC_BASE_URL"] or f"http://127.0.0.1:{current_app.config['PORT']}"


def counter_url(counter: ServicePoint) -> str:
    """The public QR address of a counter."""
    return f"{public_base_url()}/s/{counter.qr_token}"


def kiosk_url(counter: ServicePoint) -> str:
    """The counter's kiosk address: the same questionnaire on a tablet, reset after each person."""
    return f"{public_base_url()}/k/{counter.qr_token}"


def counters_on_air(active_only: bool = True) -> list[ServicePoint]:
    """Counters with their agencies, ordered by code."""
    query = select(ServicePoint).options(joinedload(ServicePoint.agency)).order_by(ServicePoint.code)
    if active_only:
        query = query.where(
            ServicePoint.active.is_(True), ServicePoint.qr_token_revoked.is_(False)
        )
    return list(db.session.scalars(query))
