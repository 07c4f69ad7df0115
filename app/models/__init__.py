"""SQLAlchemy models, one module per aggregate."""

from app.models.audit import AuditEvent
from app.models.auth import ROLES, User
from app.models.base import Base
from app.models.campaign import Campaign, CampaignSample, CampaignStratum, Dossier, DossierContact
from app.models.case import AgencyWebhook, Case, CaseContact, CaseNote, OutboxMessage
from app.models.org import Agency, Service, ServicePoint, service_point_service
from app.models.report_cell import ReportCell, ReportCellColumn, ReportCellsBuilt
from app.models.response import CHANNELS, RATING_SLOTS, Response, slot_column
from app.models.security import ClientHashSalt, LoginThrottle
from app.models.survey import PublishedVersionImmutable, Questionnaire, QuestionnaireVersion
from app.models.totals import TotalsImport, TotalsUnitKey
from app.models.volume import DossierVolume

__all__ = [
    "CHANNELS",
    "RATING_SLOTS",
    "ROLES",
    "Agency",
    "AgencyWebhook",
    "AuditEvent",
    "Base",
    "Campaign",
    "CampaignSample",
    "CampaignStratum",
    "Case",
    "CaseContact",
    "CaseNote",
    "ClientHashSalt",
    "Dossier",
    "DossierContact",
    "DossierVolume",
    "LoginThrottle",
    "OutboxMessage",
    "PublishedVersionImmutable",
    "Questionnaire",
    "QuestionnaireVersion",
    "ReportCell",
    "ReportCellColumn",
    "ReportCellsBuilt",
    "Response",
    "Service",
    "ServicePoint",
    "TotalsImport",
    "TotalsUnitKey",
    "User",
    "service_point_service",
    "slot_column",
]
