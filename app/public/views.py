"""Public views: thin wrappers over app.services."""

from __future__ import annotations

from functools import wraps
from pathlib import Path

from flask import abort, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.errors import (
    RETRY_AFTER,
    database_unreachable,
    forget_session,
    handle_database_unavailable,
    handle_http_error,
    handle_unexpected_error,
    log_unavailable,
    no_user_query,
)
from app.extensions import db, limiter
from app.public import bp
from app.public.survey import (
    counter_not_found,
    detached,
    no_questionnaire,
    parse_submission,
    posting_visit,
    remembered_form,
    render_survey,
    resend_page,
    survey_context,
)
from app.services.cases import case_code_for_dossier, case_code_for_nonce
from app.services.collect import (
    Outcome,
    ReceiptError,
    dossier_rated,
    find_counter,
    find_posting_counter,
    read_receipt_code,
    response_stored,
    submit_response,
)
from app.services.registry import agency_tree, check_database

# The citizen's posts: during an outage or after an expired CSRF session they get their answers back.
CITIZEN_POSTS = frozenset({"public.survey", "public.kiosk", "public.receipt"})


def _limit_key() -> str:
    """Rate limits count per client and per counter (or receipt)."""
    args = request.view_args or {}
    return f"{get_remote_address()}|{args.get('token') or 'receipt'}"


def _survey_limit() -> str:
    return current_app.config.get("SURVEY_RATE_LIMIT", "10 per minute;60 per hour")


def _kiosk_limit() -> str:
    return current_app.config.get("KIOSK_RATE_LIMIT", "60 per minute;600 per hour")


def once_more_if_disconnected(view):
    """Run the view again, once, when the database connection was lost under it.

    A database restart or a network cut kills the connections in use; SQLAlchemy
    then invalidates the pool, so the second run gets a new connection. This is
    safe for every view here: the pages only read, and a submission's nonce is
    a unique key, so a form whose first run did commit is found stored and
    thanked, never stored twice. If the second run fails too, the citizen gets
    the 503 below, with the answers kept.
    """
    @wraps(view)
    def run(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            current_app.logger.warning("database connection lost during %s %s; running it once more",
                                       request.method, request.path)
            _rollback()
        return view(*args, **kwargs)

    return run


def _rollback() -> None:
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.remove()


@bp.get("/")
@once_more_if_disconnected
def home():
    """List the agencies taking part, as a tree."""
    level_names = {
        "ministry": _("Ministry"),
        "province": _("Province"),
        "department": _("Department"),
        "district": _("District"),
        "commune": _("Commune"),
    }
    return render_template("public/home.html", agencies=agency_tree(), level_names=level_names)


@bp.get("/healthz")
def healthz():
    """Answer whether the app and its database work, as JSON."""
    ok, detail = check_database()
    body = {"status": "ok" if ok else "error", "database": "ok" if ok else detail}
    return jsonify(body), 200 if ok else 503


@bp.route("/s/<token>", methods=["GET", "POST"])
@limiter.limit(_survey_limit, key_func=_limit_key, methods=["POST"])
@once_more_if_disconnected
def survey(token: str):
    """The counter's QR address: the questionnaire, and its submission."""
    return _survey_or_submit(token, "qr")


@bp.route("/k/<token>", methods=["GET", "POST"])
@limiter.limit(_kiosk_limit, key_func=_limit_key, methods=["POST"])
@once_more_if_disconnected
def kiosk(token: str):
    """Kiosk mode for a tablet on the counter: the same questionnaire, reset after each person."""
    page = _survey_or_submit(token, "kiosk")
    page.headers["Cache-Control"] = "no-store"
    return page


def _survey_or_submit(token: str, channel: str):
    return _submit(token, channel) if request.method == "POST" else _form_page(token, channel)


def _submit(token: str, channel: str):
    # A post reads the counter, the posted service's validity and the client's history in one query.
    visit = posting_visit(channel)
    counter = find_posting_counter(token, request.form.get("service", "").strip(), visit)
    context = survey_context(counter, channel) if counter else None
    if context is None:
        return _form_page(token, channel)
    g.unavailable_context = detached(context)
    outcome = submit_response(parse_submission(context, visit, counter.history))
    if outcome.thanked:
        endpoint = "public.kiosk_thanks" if channel == "kiosk" else "public.thanks"
        return redirect(url_for(endpoint, token=token if channel == "kiosk" else None,
                                n=request.form.get("nonce", "")), code=303)
    return _form_page(token, channel, outcome)


def _form_page(token: str, channel: str, outcome: Outcome | None = None):
    """The counter's form (with a post's errors, when nothing was stored), or why there is none."""
    counter = find_counter(token, with_services=True)
    if counter is None:
        return counter_not_found()
    context = survey_context(counter, channel)
    if context is None:
        return no_questionnaire(counter, channel)
    return render_survey(context, outcome=outcome)


@bp.route("/r/<code>", methods=["GET", "POST"])
@limiter.limit(_survey_limit, key_func=_limit_key, methods=["POST"])
@once_more_if_disconnected
def receipt(code: str):
    """A receipt's QR code: rate one dossier, once; the response is marked verified."""
    try:
        found = read_receipt_code(code)
    except ReceiptError as exc:
        status = 410 if exc.reason == "expired" else 404
        return render_template("public/receipt_problem.html", reason=exc.reason), status
    context = survey_context(found.counter, "qr", receipt=found)
    if context is None:
        return no_questionnaire(found.counter, "qr")
    if request.method == "GET" and dossier_rated(found):
        return render_template("public/receipt_problem.html", reason="rated",
                               case_code=case_code_for_dossier(found.dossier_key)), 409
    if request.method == "GET":
        return render_survey(context)
    g.unavailable_context = detached(context)
    outcome = submit_response(parse_submission(context))
    if outcome.thanked:
        return redirect(url_for("public.thanks", n=request.form.get("nonce", "")), code=303)
    if outcome.status == "dossier_rated":
        return render_template("public/receipt_problem.html", reason="rated"), 409
    return render_survey(context, outcome=outcome)


@bp.get("/thanks")
@once_more_if_disconnected
def thanks():
    """Thank the citizen, but only for a response that is stored."""
    nonce = request.args.get("n", "")
    if not response_stored(nonce):
        return redirect(url_for("public.home"))
    return render_template("public/thanks.html", case_code=case_code_for_nonce(nonce))


@bp.get("/k/<token>/thanks")
@once_more_if_disconnected
def kiosk_thanks(token: str):
    """The kiosk's thank-you, which returns to an empty form by itself."""
    if not response_stored(request.args.get("n", "")):
        return redirect(url_for("public.kiosk", token=token))
    page = current_app.make_response(render_template("kiosk/thanks.html", token=token))
    page.headers["Cache-Control"] = "no-store"
    return page


@bp.get("/k/<token>/session")
@once_more_if_disconnected
def kiosk_session(token: str):
    """A fresh CSRF token for the kiosk to send answers it queued while offline."""
    from flask_wtf.csrf import generate_csrf

    if find_counter(token) is None:
        abort(404)
    page = jsonify(csrf=generate_csrf())
    page.headers["Cache-Control"] = "no-store"
    return page


@bp.get("/k/sw.js")
def kiosk_service_worker():
    """The kiosk's service worker, served under /k/ so that its scope covers every kiosk page."""
    script = Path(current_app.static_folder, "kiosk-sw.js").read_bytes()
    return current_app.response_class(script, mimetype="text/javascript",
                                      headers={"Cache-Control": "no-cache"})


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    """An expired or missing CSRF token: keep the citizen's answers and ask to send again.

    No query (an error handler must work while the database is out): the form comes from
    what this process last drew at this address, or the answers go back as they came.
    """
    if request.method != "POST" or request.endpoint not in CITIZEN_POSTS:
        return handle_http_error(error)
    no_user_query()
    context = remembered_form()
    if context is None:
        return resend_page("expired", 400)
    return render_survey(context, notice="expired", status=400)


@bp.errorhandler(DBAPIError)
@bp.errorhandler(PoolTimeout)
def database_unavailable(error: SQLAlchemyError):
    """The database cannot be reached (or stayed locked): a 503 with a clear message, never a 500.

    A citizen who was sending a form gets it back with their answers and the same nonce,
    so sending again stores it once: drawn from the context the post had read, else from
    the form this process last drew at this address, else as the bare answers behind a
    button. No query here.
    """
    if not database_unreachable(error):
        return handle_unexpected_error(error)
    if request.method != "POST" or request.endpoint not in CITIZEN_POSTS:
        return handle_database_unavailable(error)
    log_unavailable(error)
    forget_session()
    no_user_query()
    context = g.get("unavailable_context") or remembered_form()
    if context is not None:
        page = render_survey(context, notice="unavailable", status=503)
    else:
        page = resend_page("unavailable", 503)
    page.headers["Retry-After"] = RETRY_AFTER
    return page
