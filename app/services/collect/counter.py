"""A counter as the citizen path sees it: one small immutable read model for the form page and the post.

The form page, a post, a receipt's form and the kiosk all read the same `Counter`,
found by one query on its token (or its id, for a receipt or paper entry). A post
reads more in that same query: whether the service chosen on the form is offered
there and the posting client's recent responses (app.services.collect.abuse),
because each statement is a round trip to PostgreSQL and loading ORM objects
cost more than all the SQL of storing the answer. Being plain values, a counter
also survives the database going away mid-request, so the form can be drawn
again with the citizen's answers during an outage.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, literal, select, true

from app.extensions import db
from app.inputs import id_number
from app.models import Agency, Service, ServicePoint
from app.models.org import service_point_service
from app.services.collect.abuse import HISTORY_COLUMNS, HISTORY_FROM, ClientHistory, ClientVisit, history_from
from app.services.registry.org import OPEN_COUNTER, TOKEN_MATCHES


@dataclass(frozen=True)
class Named:
    """An agency or a service as a form shows it: an id and a name in each language."""

    id: int
    name_vi: str
    name_en: str
    code: str = ""

    def name(self, lang: str) -> str:
        """The name in a language, Vietnamese unless English is asked for."""
        return self.name_en if lang == "en" else self.name_vi


@dataclass(frozen=True)
class Counter:
    """An open counter: what the form page, a post and the stored response need of it.

    `services` are filled for drawing a form (`with_services`). A post's lookup fills
    `posted_service` (the service value the form carried), `posted_service_id` (its id
    when this counter offers it, else None) and `history` (the posting client's).
    """

    id: int
    code: str
    qr_token: str
    name_vi: str
    name_en: str
    questionnaire_id: int | None
    agency: Named
    services: tuple[Named, ...] = ()
    posted_service: str | None = None
    posted_service_id: int | None = None
    history: ClientHistory | None = None

    @property
    def agency_id(self) -> int:
        """The id of the counter's agency."""
        return self.agency.id

    def name(self, lang: str) -> str:
        """The counter's name in a language."""
        return self.name_en if lang == "en" else self.name_vi


_COUNTER_COLUMNS = (ServicePoint.id, ServicePoint.code, ServicePoint.qr_token, ServicePoint.name_vi,
                    ServicePoint.name_en, ServicePoint.questionnaire_id,
                    Agency.id, Agency.name_vi, Agency.name_en, Agency.code)

_OFFERED = (
    select(service_point_service.c.service_id)
    .where(service_point_service.c.service_point_id == ServicePoint.id,
           service_point_service.c.service_id == bindparam("service"))
    .scalar_subquery()
)

# Built once: only the parameters change from one request to the next.
_BY_TOKEN = (
    select(*_COUNTER_COLUMNS, literal(None).label("offered"))
    .join(Agency, Agency.id == ServicePoint.agency_id)
    .where(TOKEN_MATCHES, *OPEN_COUNTER)
)
_BY_ID = (
    select(*_COUNTER_COLUMNS, literal(None).label("offered"))
    .join(Agency, Agency.id == ServicePoint.agency_id)
    .where(ServicePoint.id == bindparam("counter_id"), ServicePoint.active.is_(True))
)
_FOR_POST = (
    select(*_COUNTER_COLUMNS, _OFFERED, *HISTORY_COLUMNS)
    .join(Agency, Agency.id == ServicePoint.agency_id)
    .outerjoin(HISTORY_FROM, true())
    .where(TOKEN_MATCHES, *OPEN_COUNTER)
)
_SERVICES = (
    select(Service.id, Service.name_vi, Service.name_en, Service.code)
    .join(service_point_service, service_point_service.c.service_id == Service.id)
    .where(service_point_service.c.service_point_id == bindparam("counter_id"))
    .order_by(Service.code)
)


def _service_number(value: str) -> int:
    # Not an id (not a number, or beyond the database's integer): no service has it; the lookup finds none.
    found = id_number(value)
    return -1 if found is None else found


def _counter(row, with_services: bool, **posted) -> Counter:
    (counter_id, code, qr_token, name_vi, name_en, questionnaire_id,
     agency_id, agency_vi, agency_en, agency_code) = row[:10]
    services = counter_services(counter_id) if with_services else ()
    return Counter(counter_id, code, qr_token, name_vi, name_en, questionnaire_id,
                   Named(agency_id, agency_vi, agency_en, agency_code), services, **posted)


def counter_services(counter_id: int) -> tuple[Named, ...]:
    """The services a counter offers, ordered by code, as its form lists them."""
    rows = db.session.connection().execute(_SERVICES, {"counter_id": counter_id})
    return tuple(Named(*row) for row in rows)


def find_counter(token: str, with_services: bool = False) -> Counter | None:
    """The open counter a QR token names; None when the token is unknown or revoked, or the counter
    or its agency inactive."""
    if len(token) > 64:  # longer than any token: no query
        return None
    row = db.session.connection().execute(_BY_TOKEN, {"token": token}).first()
    return None if row is None else _counter(row, with_services)


def counter_by_id(counter_id: int, with_services: bool = False) -> Counter | None:
    """An active counter by id (a receipt's, or a paper form's); its token may be revoked, since a
    receipt or a paper form does not come through the QR address."""
    row = db.session.connection().execute(_BY_ID, {"counter_id": counter_id}).first()
    return None if row is None else _counter(row, with_services)


def find_posting_counter(token: str, service: str, visit: ClientVisit) -> Counter | None:
    """The open counter a post names, in one query with the posted service checked and the visit's
    client history; None as for `find_counter`."""
    if len(token) > 64:
        return None
    row = db.session.connection().execute(
        _FOR_POST, {"token": token, "service": _service_number(service), **visit.params()}).first()
    if row is None:
        return None
    return _counter(row, False, posted_service=service, posted_service_id=row[10],
                    history=history_from(row[11:]))
