"""Auth blueprint: log in, log out, change password; the session user loader."""

from flask import Blueprint

from app.extensions import login_manager
from app.services.accounts import load_session_user

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
# No flashed "please log in" text: the login page says it in the visitor's language.
login_manager.login_message = None
login_manager.session_protection = "basic"


@login_manager.user_loader
def _load_user(session_id: str):
    return load_session_user(session_id)


from app.auth import views  # noqa: E402,F401  (routes attach to bp)
