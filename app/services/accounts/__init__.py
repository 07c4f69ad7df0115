"""Users, roles, passwords, API tokens and the audit log of every administrative change.

Blueprints and commands import from this package only; the modules below are its own."""

from app.services import lazy_exports

# name -> the module of this package that defines it (None: the module itself)
__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "AccountError": "users",
        "authenticate": "users",
        "change_password": "users",
        "create_user": "users",
        "end_sessions": "users",
        "event_actions": "audit",
        "issue_api_token": "users",
        "list_events": "audit",
        "list_users": "users",
        "PasswordError": "users",
        "locked_pairs": "throttle",
        "clear_pair": "throttle",
        "record_failure": "throttle",
        "refusal": "throttle",
        "unlock": "throttle",
        "purge_throttles": "throttle",
        "purge_expiring_events": "audit",
        "load_session_user": "users",
        "record_event": "audit",
        "reset_password": "users",
        "update_user": "users",
        "user_for_api_token": "users",
    },
)
