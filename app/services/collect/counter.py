"""The counter a citizen's form is posted to, read as one plain row.

A submission needs a handful of the counter's and its agency's columns,
whether the service chosen on the form is offered there, and its client's
recent responses (app.services.collect.abuse). Loading ORM objects for that (the
counter, its agency, then its services) cost more than all the SQL of storing
the answer, and each statement is a round trip to PostgreSQL, so the post reads
one row of one query into frozen dataclasses. Drawing a form (GET, or a post with errors) still uses the ORM
counter (app.services.registry.org.find_counter_by_token).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select, true

from app.extensions import db
from app.models import Agency, ServicePoint
from app.models.org import service_point_service
from app.services.collect.abuse import HISTORY_COLUMNS, HISTORY_FROM, ClientHistory, ClientVisit, history_from
from app.services.registry.org import OPEN_COUNTER


@dataclass(frozen=True)
class CounterAgency:
    """The counter's agency: what the stored response and a redrawn form need of it."""

    id: int
    code: str
    name_vi: str
    name_en: str


@dataclass(frozen=True)
class PostingCounter:
    """An active counter as a submission sees it.

    `posted_service` is the service value the form carried and `posted_service_id`
    its id when this counter offers it (None otherwise), checked in the same query;
    `history` is the posting client's, read there too.
    """

    id: int
    code: str
    qr_token: str
    name_vi: str
    name_en: str
    questionnaire_id: int | None
    agency_id: int
    agency: CounterAgency
    posted_service: str
    posted_service_id: int | None
    history: ClientHistory

    def name(self, lang: str) -> str:
        """The counter's name in a language."""
        return self.name_en if lang == "en" else self.name_vi


_OFFERED = (
    select(service_point_service.c.service_id)
    .where(service_point_service.c.service_point_id == ServicePoint.id,
           service_point_service.c.service_id == bindparam("service"))
    .scalar_subquery()
)

# Built once: only the parameters change from one post to the next.
_LOOKUP = (
    select(ServicePoint.id, ServicePoint.code, ServicePoint.qr_token, ServicePoint.name_vi,
           ServicePoint.name_en, ServicePoint.questionnaire_id,
           Agency.id, Agency.code, Agency.name_vi, Agency.name_en, _OFFERED, *HISTORY_COLUMNS)
    .join(Agency, Agency.id == ServicePoint.agency_id)
    .outerjoin(HISTORY_FROM, true())
    .where(ServicePoint.qr_token == bindparam("token"), *OPEN_COUNTER)
)


def _service_number(value: str) -> int:
    # Not a number (or absurdly long): no service has it, so the lookup finds none.
    return int(value) if value.isdigit() and len(value) <= 12 else -1


def find_posting_counter(token: str, service: str, visit: ClientVisit) -> PostingCounter | None:
    """The active counter of a QR token, with its agency, the posted service checked and the visit's
    client history; None when the token is unknown or revoked, or the counter or its agency inactive."""
    row = db.session.connection().execute(
        _LOOKUP, {"token": token, "service": _service_number(service), **visit.params()}).first()
    if row is None:
        return None
    (counter_id, code, qr_token, name_vi, name_en, questionnaire_id,
     agency_id, agency_code, agency_vi, agency_en, offered) = row[:11]
    return PostingCounter(counter_id, code, qr_token, name_vi, name_en, questionnaire_id, agency_id,
                          CounterAgency(agency_id, agency_code, agency_vi, agency_en), service, offered,
                          history_from(row[11:]))
