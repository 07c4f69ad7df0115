"""Every setting comes from the environment, with safe defaults for development."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", Path(__file__).resolve().parent.parent / "instance"))


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the app refuses to start."""


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from exc


def _development_secret_key(instance_dir: Path) -> str:
    """Generate the development key once and keep it, so sessions survive restarts."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def normalise_database_url(url: str) -> str:
    """Let operators write plain postgresql:// URLs; we always talk through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask configuration mapping from the environment and overrides."""
    overrides = dict(overrides or {})
    instance_dir = Path(overrides.pop("INSTANCE_PATH", INSTANCE_DIR))
    production = overrides.get("ENV_NAME", os.environ.get("APP_ENV", "development")) == "production"
    config = {
        "ENV_NAME": "production" if production else "development",
        "INSTANCE_DIR": str(instance_dir),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            os.environ.get("DATABASE_URL", f"sqlite:///{instance_dir / 'sipas.db'}")
        ),
        "PORT": _int("PORT", 5000),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "").rstrip("/"),
        "TIMEZONE": os.environ.get("TIMEZONE", "Asia/Ho_Chi_Minh"),
        "BABEL_DEFAULT_LOCALE": "vi",
        "LANGUAGES": ("vi", "en"),
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 20 * 1024 * 1024),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # Per client address; the citizen forms also count per counter (app/public/views.py).
        "SURVEY_RATE_LIMIT": os.environ.get("SURVEY_RATE_LIMIT", "10 per minute;60 per hour"),
        "KIOSK_RATE_LIMIT": os.environ.get("KIOSK_RATE_LIMIT", "60 per minute;600 per hour"),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # Failed logins per account and address are counted in the database (issue 21,
        # app/services/accounts/throttle.py); a rotated QR's old address works this many days;
        # failed-login events (they hold the e-mail typed) are deleted after this many days.
        "QR_ROTATION_GRACE_DAYS": _int("QR_ROTATION_GRACE_DAYS", 14),
        "AUDIT_FAILED_LOGIN_DAYS": _int("AUDIT_FAILED_LOGIN_DAYS", 30),
        "KIOSK_IDLE_SECONDS": _int("KIOSK_IDLE_SECONDS", 90),
        "KIOSK_THANKS_SECONDS": _int("KIOSK_THANKS_SECONDS", 4),
        "RECEIPT_CODE_TTL_DAYS": _int("RECEIPT_CODE_TTL_DAYS", 30),
        # An optional separate secret for receipt codes; falls back to SECRET_KEY.
        "RECEIPT_SECRET": os.environ.get("RECEIPT_SECRET"),
        "FORWARDED_HOPS": _int("FORWARDED_HOPS", 0),
        "PUBLIC_SCOREBOARD": _bool("PUBLIC_SCOREBOARD", False),
        # Decimals of the published indices (SIPAS publishes two).
        "REPORT_DECIMALS": _int("REPORT_DECIMALS", 2),
        # Text assets (HTML, CSS, JS, JSON) compressed on the way out (Flask-Compress; static files cached).
        "COMPRESS_MIMETYPES": ["text/html", "text/css", "text/javascript", "application/javascript",
                               "application/json", "image/svg+xml"],
        # Streamed responses (the responses CSV) stay as they are; static files are read whole first.
        "COMPRESS_STREAMS": False,
        # Cases (issue 18): the answer is due this many working days after opening (weekends and
        # CASE_HOLIDAYS, ISO dates, excluded, in TIMEZONE); the citizen may reopen within CASE_REOPEN_DAYS;
        # contact details are deleted this many months after closing (`flask cases purge`).
        "CASE_SLA_WORKING_DAYS": _int("CASE_SLA_WORKING_DAYS", 10),
        "CASE_HOLIDAYS": os.environ.get("CASE_HOLIDAYS", ""),
        "CASE_REOPEN_DAYS": _int("CASE_REOPEN_DAYS", 14),
        "CASE_CONTACT_RETENTION_MONTHS": _int("CASE_CONTACT_RETENTION_MONTHS", 12),
        # The outbox's e-mail (`flask outbox run`): an SMTP relay.
        "SMTP_HOST": os.environ.get("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": _int("SMTP_PORT", 25),
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", False),
        "SMTP_TIMEOUT": _int("SMTP_TIMEOUT", 10),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "sipas@localhost"),
        "WEBHOOK_TIMEOUT": _int("WEBHOOK_TIMEOUT", 10),
        # Survey invitations by SMS (issue 19, app/services/invitations/sms.py): an HTTP gateway that takes
        # {"to", "text"} as JSON; empty: SMS stay pending in the outbox.
        "SMS_GATEWAY_URL": os.environ.get("SMS_GATEWAY_URL", ""),
        "SMS_GATEWAY_TOKEN": os.environ.get("SMS_GATEWAY_TOKEN", ""),
        "SMS_GATEWAY_TIMEOUT": _int("SMS_GATEWAY_TIMEOUT", 10),
        # Letters in one PDF download of the tracking page (WeasyPrint lays out about 10 a second).
        "LETTERS_PER_DOWNLOAD": _int("LETTERS_PER_DOWNLOAD", 150),
        # Totals files for the national roll-up (issue 20): this installation's unit code (empty: the
        # code of the only top-level agency) and its Ed25519 signing key (created on first use, 0600).
        "TOTALS_UNIT": os.environ.get("TOTALS_UNIT", ""),
        # "national": this installation's units are provinces and ministries that send signed totals
        # files (`flask totals import`, /admin/totals, /reports/national); "province" (default): it
        # collects citizens' answers itself.
        "INSTALLATION_LEVEL": os.environ.get("INSTALLATION_LEVEL", "province"),
        "TOTALS_SIGNING_KEY": (os.environ.get("TOTALS_SIGNING_KEY")
                               or str(instance_dir / "totals_signing_key.pem")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "WTF_CSRF_ENABLED": True,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
    secret = overrides.get("SECRET_KEY", os.environ.get("SECRET_KEY"))
    if not secret:
        if production:
            raise ConfigError("SECRET_KEY must be set in production (APP_ENV=production)")
        secret = _development_secret_key(instance_dir)
    config["SECRET_KEY"] = secret
    config.update(overrides)
    if config["INSTALLATION_LEVEL"] not in ("province", "national"):
        level = config["INSTALLATION_LEVEL"]
        raise ConfigError(f"INSTALLATION_LEVEL must be province or national, got {level!r}")
    return config
