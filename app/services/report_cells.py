"""Report cells: add responses to their design cells as they are written, read the reports' table.

Every writer of responses (the citizen form, the CSV import, the demo) calls
`add_responses` in its own transaction, so the cells always hold exactly the
committed responses. One INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE
statement per call does the arithmetic in the database, the same expressions
for one response as for a rebuild of a million. The leaders' reports then read
`cells_table`: thousands of cells instead of every response.

A version's cells are complete once `ensure_built` has run for it (after the
migration that added them, or after `flask reports rebuild`); from then on the
writers keep them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from analysis.questionnaire import Questionnaire
from app.extensions import db
from app.models import QuestionnaireVersion, Response, slot_column
from app.models.report_cell import CELL_KEY, SLOT_SUMS, ReportCell, ReportCellsBuilt
from app.services.aggregates import GROUP_COLUMNS
from app.services.questionnaires import questionnaire_of, rating_slots

_CELLS = ReportCell.__table__
_KEYS = ("agency", "month", "stratum", "psu")


def element_columns(questionnaire: Questionnaire) -> dict[str, str]:
    """Column of each element's "answered any criterion" count: e1, e2, … in questionnaire order."""
    slots = rating_slots(questionnaire)
    out = {}
    for element in questionnaire.elements:
        if any(q.code in slots for q in element.questions):
            out[element.code] = f"e{len(out) + 1}"
    return out


def _answered_any(ratings: list):
    return func.coalesce(func.sum(case((or_(*(r.is_not(None) for r in ratings)), 1), else_=0)), 0)


def _total(expression):
    # SUM over a cell whose criterion nobody answered is NULL; the columns are NOT NULL.
    return func.coalesce(func.sum(expression), 0)


def _cell_select(version_id: int, questionnaire: Questionnaire, where):
    """Per design cell of the selected responses: every sum a ReportCell holds."""
    slots = rating_slots(questionnaire)
    points = questionnaire.scale.points
    satisfied = sorted(questionnaire.scale.satisfied)
    weight = func.coalesce(Response.weight, 1.0)
    keys = [
        Response.version_id, Response.agency_id, GROUP_COLUMNS["month"],
        func.coalesce(Response.stratum, "-"),
        func.coalesce(Response.psu, "#" + cast(Response.id, String)),
        Response.channel, Response.verified, Response.suspicious,
    ]
    ratings = {code: getattr(Response, slot_column(slot)) for code, slot in slots.items()}
    columns = list(CELL_KEY) + ["n", "w", "any_answered"]
    criteria = [ratings[code] for code in questionnaire.likert_codes()]
    measures = [func.count(), _total(weight), _answered_any(criteria)]
    for code, rating in ratings.items():
        slot = slots[code]
        answered = cast(rating.is_not(None), Integer)
        # A top range like {4, 5} is one comparison; NULL (unanswered) counts as not satisfied.
        top = satisfied == list(range(satisfied[0], points + 1))
        is_sat = cast(func.coalesce(rating >= satisfied[0] if top else rating.in_(satisfied), False), Integer)
        rated = func.coalesce(rating, 0)
        columns += [f"{kind}{slot}" for kind in SLOT_SUMS]
        measures += [func.count(rating), _total(is_sat), _total(rated),
                     _total(weight * answered), _total(weight * is_sat), _total(weight * rated)]
    for element in questionnaire.elements:
        members = [ratings[q.code] for q in element.questions if q.code in ratings]
        if members:
            columns.append(element_columns(questionnaire)[element.code])
            measures.append(_answered_any(members))
    query = select(*keys, *measures).where(Response.version_id == version_id, where).group_by(*keys)
    return columns, query


def _upsert(columns: list[str], query, sign: int = 1):
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    statement = insert(_CELLS).from_select(columns, query, include_defaults=False)
    added = [name for name in columns if name not in CELL_KEY]
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=list(CELL_KEY),
        set_={name: _CELLS.c[name] + (excluded[name] if sign > 0 else -excluded[name]) for name in added},
    )


# The statement for one response, per database and version, as SQL text with one
# parameter. Built from the same expressions as a rebuild, but compiled once with
# its constants inline: as a Core statement it carried about 300 bound parameters,
# which cost the driver more (parsing them on every call) than the database spent.
_ONE: dict[tuple, object] = {}
_ONE_LOCK = threading.Lock()


def _one_response_statement(version_id: int, questionnaire: Questionnaire):
    columns, query = _cell_select(version_id, questionnaire, Response.id == literal_column(":response_id"))
    compiled = _upsert(columns, query).compile(dialect=db.engine.dialect,
                                              compile_kwargs={"literal_binds": True})
    return text(str(compiled))


def add_response(version_id: int, response_id: int, questionnaire: Questionnaire | None = None) -> None:
    """Add one just-inserted response to its cell, in the caller's transaction."""
    key = (db.engine.url.render_as_string(), version_id)
    with _ONE_LOCK:
        statement = _ONE.get(key)
    if statement is None:
        statement = _one_response_statement(version_id, questionnaire or _questionnaire(version_id))
        with _ONE_LOCK:
            _ONE[key] = statement
    db.session.execute(statement, {"response_id": response_id})


def add_responses(version_id: int, where, questionnaire: Questionnaire | None = None) -> None:
    """Add the responses of a version matching `where` (just inserted, in this transaction)."""
    columns, query = _cell_select(version_id, questionnaire or _questionnaire(version_id), where)
    db.session.execute(_upsert(columns, query))


def add_uids(uids: Sequence[str]) -> None:
    """Add just-inserted responses, named by their uid, whatever their versions."""
    if not uids:
        return
    versions = db.session.scalars(select(Response.version_id).where(Response.uid.in_(uids)).distinct())
    for version_id in list(versions):
        add_responses(version_id, Response.uid.in_(uids))


def _questionnaire(version_id: int) -> Questionnaire:
    return questionnaire_of(db.session.get(QuestionnaireVersion, version_id))


def _build(version_id: int) -> None:
    db.session.execute(delete(ReportCell).where(ReportCell.version_id == version_id))
    add_responses(version_id, literal(True))
    db.session.commit()


def rebuild(version_id: int) -> None:
    """Recompute a version's cells from its responses (after responses were changed by hand); commits."""
    db.session.execute(delete(ReportCellsBuilt).where(ReportCellsBuilt.version_id == version_id))
    db.session.add(ReportCellsBuilt(version_id=version_id, built_at=datetime.now(UTC)))
    db.session.flush()
    _build(version_id)


def ensure_built(version_id: int) -> bool:
    """Build a version's cells unless they are complete; True when they were built now.

    The marker row is inserted first and serves as the lock: a concurrent build of
    the same version waits on its primary key and then finds it taken. Responses
    submitted meanwhile add themselves to cells as usual; the DELETE and the
    INSERT … ON CONFLICT take the cells' row locks, so each such response ends up
    counted once, by whichever statement sees it.
    """
    if db.session.get(ReportCellsBuilt, version_id) is not None:
        return False
    db.session.rollback()  # end the read snapshot: the marker may have been committed meanwhile
    try:
        db.session.add(ReportCellsBuilt(version_id=version_id, built_at=datetime.now(UTC)))
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # another worker built them
        return False
    _build(version_id)
    return True


def cells_table(
    version_id: int,
    questionnaire: Questionnaire,
    where: Sequence = (),
    weighted: bool = True,
    domain: Sequence = (),
    rating_sums: bool = True,
) -> dict[str, np.ndarray]:
    """The reports' aggregate table (agency × month × stratum × PSU) summed from the cells.

    Same contract as app.services.aggregates.psu_totals_table(by=("agency", "month")),
    whose GROUP BY over the responses it replaces: n, w, K__ws, K__wa, K__wr, K__n,
    E__n and OVERALL__n, plus `inside`. `where` (conditions on ReportCell's key
    columns) drops cells. With a `domain`, the cells outside it come as separate
    rows with inside = False: the reports give them no weight but keep their PSUs
    in the design, so variances are domain variances. Without `rating_sums` the
    K__wr columns (only the mean-score measure reads them) are zeros, not read.
    """
    slots = rating_slots(questionnaire)
    prefix = "w" if weighted else ""
    sources = {"n": "n", "w": "w" if weighted else "n"}
    for code in questionnaire.likert_codes():
        slot = slots[code]
        sources |= {f"{code}__ws": f"{prefix}s{slot}", f"{code}__wa": f"{prefix}a{slot}",
                    f"{code}__n": f"a{slot}"}
        if rating_sums:
            sources[f"{code}__wr"] = f"{prefix}r{slot}"
    sources |= {f"{element}__n": column for element, column in element_columns(questionnaire).items()}
    sources["OVERALL__n"] = "any_answered"
    columns = list(dict.fromkeys(sources.values()))
    inside = case((and_(*domain), 1), else_=0) if domain else literal(1)
    query = (select(ReportCell.agency_id, ReportCell.month, ReportCell.stratum, ReportCell.psu, inside,
                    *(_CELLS.c[name] for name in columns))
             .where(and_(ReportCell.version_id == version_id, *where)))
    # The driver's plain tuples: SQLAlchemy's row processing cost more than the query.
    result = db.session.connection().execute(query)
    rows = result.cursor.fetchall()
    result.close()
    if not rows:
        empty = {name: np.array([], dtype=object if name in _KEYS else float) for name in (*_KEYS, *sources)}
        return {**empty, "inside": np.array([], dtype=bool)}
    everything = np.array(rows, dtype=object)
    keys = pd.DataFrame(everything[:, :5], columns=[*_KEYS, "inside"])
    sums = pd.DataFrame(everything[:, 5:].astype(float), columns=columns)
    # Cells differ also by channel and flags: add those of one agency × month × stratum × PSU.
    grouped = sums.groupby([keys[k] for k in (*_KEYS, "inside")], sort=False).sum()
    index = grouped.index
    table: dict[str, np.ndarray] = {
        "agency": index.get_level_values(0).to_numpy(dtype=np.int64),
        **{k: index.get_level_values(i).to_numpy(dtype=object) for i, k in enumerate(_KEYS) if i},
        "inside": index.get_level_values(4).to_numpy(dtype=np.int64) == 1,
    }
    for name, column in sources.items():
        table[name] = grouped[column].to_numpy(dtype=float)
    if not rating_sums:
        zeros = np.zeros(len(index))
        table |= {f"{code}__wr": zeros for code in questionnaire.likert_codes()}
    return table
