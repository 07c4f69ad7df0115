"""The leaders' comments page: free-text answers with their ratings, counted and paginated in SQL.

A comment is a response of the scope and period, under the report filters, with at
least one text answer that is not blank. With `low_only`, only responses with a
rating of LOW_RATING or less. Newest first; the same `submitted_at` is ordered by
id, so that pages neither repeat nor skip a comment.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select

from app.extensions import db
from app.models import Response, slot_column
from app.services.questionnaires.versions import questionnaire_of, rating_slots
from app.services.reports import estimates as rs
from app.services.reports.pages import LOW_RATING, Comment, Scope, _period_clause

PER_PAGE = 50
# What counts as blank around a comment, in SQL and in Python alike (so the count matches the rows).
BLANK = " \t\n\r\x0b\x0c\u00a0"


@dataclass(frozen=True)
class _Plan:
    """One questionnaire version: its text questions and the slot columns of its ratings."""

    version_id: int
    texts: tuple[str, ...]
    ratings: tuple[tuple[str, str], ...]  # (criterion code, slot column)


@dataclass
class CommentPage:
    """One page of comments and where it lies in the whole list."""

    comments: list[Comment]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the comments fill (at least one)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def first(self) -> int:
        """The position (from 1) of the page's first comment; 0 when there is none."""
        return (self.page - 1) * self.per_page + 1 if self.comments else 0

    @property
    def last(self) -> int:
        """The position of the page's last comment."""
        return self.first + len(self.comments) - 1 if self.comments else 0

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and `around` either side of this one; None for a gap."""
        keep = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        out: list[int | None] = []
        for number in sorted(n for n in keep if 1 <= n <= self.pages):
            if out and number - out[-1] > 1:
                out.append(None)
            out.append(number)
        return out


def _plans(scope: Scope) -> list[_Plan]:
    plans = []
    for version in scope.versions:
        questionnaire = questionnaire_of(version)
        texts = tuple(q.code for q in questionnaire.all_questions() if q.type == "text")
        if texts:
            slots = rating_slots(questionnaire)
            plans.append(_Plan(version.id, texts, tuple((code, slot_column(slots[code]))
                                                        for code in questionnaire.likert_codes())))
    return plans


def _blank_trim(value):
    trim = func.btrim if db.engine.dialect.name == "postgresql" else func.trim
    return trim(value, BLANK)


def _condition(plan: _Plan, low_only: bool):
    """This version's responses with a non-blank text answer (and a low rating when asked)."""
    has_text = or_(*(_blank_trim(Response.answers[code].as_string()) != "" for code in plan.texts))
    clauses = [Response.version_id == plan.version_id, has_text]
    if low_only:
        clauses.append(or_(*(getattr(Response, column) <= LOW_RATING for _, column in plan.ratings)))
    return and_(*clauses)


def comments_page(scope: Scope, low_only: bool = False, page: int = 1,
                  per_page: int = PER_PAGE) -> CommentPage:
    """The scope's comments of the period, newest first: the page asked for (clamped) and the total."""
    plans = _plans(scope) if scope.design is not None else []
    if not plans:
        return CommentPage([], 0, 1, per_page)
    where = [or_(*(_condition(plan, low_only) for plan in plans)),
             Response.agency_id.in_(sorted(scope.ids)), _period_clause(scope), *scope.filters.where()]

    def count() -> int:
        return int(db.session.scalar(select(func.count()).select_from(Response).where(*where)))

    total = rs.cached("comment-count", (scope.root, scope.filters, scope.start, scope.end, low_only),
                      count, scope.key)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    columns = sorted({column for plan in plans for _, column in plan.ratings})
    rows = db.session.execute(
        select(Response.version_id, Response.submitted_at, Response.agency_id, Response.channel,
               Response.answers, Response.uid, *(getattr(Response, c).label(c) for c in columns))
        .where(*where)
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ).mappings().all()
    by_version = {plan.version_id: plan for plan in plans}
    return CommentPage([_comment(row, by_version[row["version_id"]]) for row in rows], total, page, per_page)


def _comment(row, plan: _Plan) -> Comment:
    answers = row["answers"] or {}
    texts = (str(answers.get(code) or "").strip(BLANK) for code in plan.texts)
    ratings = {code: row[column] for code, column in plan.ratings if row[column] is not None}
    return Comment(row["submitted_at"], row["agency_id"], row["channel"], " / ".join(t for t in texts if t),
                   ratings, row["uid"])
