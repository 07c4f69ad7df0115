"""The citizen's side of a case (issue 18): the "I want an answer" block of the form, and the case page
at /c/<code> (status, due date, the answer; reopen once; rate the answer). No account: the code is the key."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app, g, make_response, redirect, render_template, request, url_for

from app.extensions import db, limiter
from app.public import bp
from app.services.cases import AnswerRequest, CaseError, case_by_code, public_view, rate_answer, reopen_case

# The form's fields (outside the question prefix q-, so no question code collides with them).
WANTED, PHONE, EMAIL = "answer_wanted", "answer_phone", "answer_email"


def read_answer_request(channel: str) -> AnswerRequest | None:
    """The posted "I want an answer" block, checked; None on a kiosk (a shared tablet asks no contact)."""
    if channel == "kiosk":
        return None
    return AnswerRequest.read(request.form.get(WANTED, ""), request.form.get(PHONE, "")[:300],
                              request.form.get(EMAIL, "")[:300])


def _not_found():
    return make_response(render_template("public/case_not_found.html"), 404)


def _page(case, problem: str | None = None, status: int = 200):
    view = public_view(case, g.get("lang", "vi"))
    return make_response(render_template("public/case.html", case=view, problem=problem), status)


@bp.get("/c/<code>")
def case_page(code: str):
    """The case's status, due date and answer, in the citizen's language; unknown codes are a 404."""
    case = case_by_code(code)
    if case is None:
        return _not_found()
    page = _page(case)
    page.headers["Cache-Control"] = "no-store"
    page.headers["X-Robots-Tag"] = "noindex"
    return page


@bp.post("/c/<code>/reopen")
@limiter.limit("10 per minute")
def case_reopen(code: str):
    """The citizen is not satisfied with the answer: reopen once, within the set days."""
    case = case_by_code(code)
    if case is None:
        return _not_found()
    try:
        reopen_case(case)
    except CaseError:
        db.session.rollback()
        return _page(case, "reopen", 409)
    db.session.commit()
    return redirect(url_for("public.case_page", code=case.code), code=303)


@bp.post("/c/<code>/rate")
@limiter.limit("10 per minute")
def case_rate(code: str):
    """The citizen's satisfaction with the answer (1..5), once."""
    case = case_by_code(code)
    if case is None:
        return _not_found()
    try:
        rate_answer(case, request.form.get("rating", ""))
    except CaseError as exc:
        db.session.rollback()
        return _page(case, exc.reason, 422 if exc.reason == "rating" else 409)
    db.session.commit()
    return redirect(url_for("public.case_page", code=case.code), code=303)


@bp.app_template_filter("case_date")
def case_date(moment) -> str:
    """A case's date as the citizen reads it: the local day (and time), day first."""
    local = moment.astimezone(ZoneInfo(current_app.config.get("TIMEZONE", "UTC")))
    return local.strftime("%d/%m/%Y %H:%M")
