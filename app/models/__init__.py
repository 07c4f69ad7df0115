"""SQLAlchemy models, one module per aggregate."""

from app.models.base import Base
from app.models.org import Agency, Service, ServicePoint, service_point_service
from app.models.response import CHANNELS, RATING_SLOTS, Response, slot_column
from app.models.survey import PublishedVersionImmutable, Questionnaire, QuestionnaireVersion

__all__ = [
    "CHANNELS",
    "RATING_SLOTS",
    "Agency",
    "Base",
    "PublishedVersionImmutable",
    "Questionnaire",
    "QuestionnaireVersion",
    "Response",
    "Service",
    "ServicePoint",
    "service_point_service",
    "slot_column",
]
