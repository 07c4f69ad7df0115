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

The cells are also kept packed per month and column (ReportCellColumn, see
"packed columns" below): a cold report reads about a thousand packs and the few
cells touched since, not 120,000 wide rows.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import (
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, False_, True_

from analysis.questionnaire import Questionnaire
from app.extensions import db
from app.models import QuestionnaireVersion, Response, slot_column
from app.models.report_cell import CELL_KEY, SLOT_SUMS, ReportCell, ReportCellColumn, ReportCellsBuilt
from app.services.questionnaires.versions import questionnaire_of, rating_slots
from app.services.reports.aggregates import local_month, report_timezone

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
        Response.version_id, Response.agency_id, local_month(Response.submitted_at),
        func.coalesce(Response.stratum, "-"),
        func.coalesce(Response.psu, "#" + cast(Response.id, String)),
        Response.channel, Response.verified, Response.suspicious,
    ]
    ratings = {code: getattr(Response, slot_column(slot)) for code, slot in slots.items()}
    columns = list(CELL_KEY) + ["n", "w", "any_answered", "touched"]
    criteria = [ratings[code] for code in questionnaire.likert_codes()]
    measures = [func.count(), _total(weight), _answered_any(criteria), _clock()]
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
    # A voided response (issue 17) is in no cell, nor one answering a survey campaign (issue 19:
    # the counters' reports are a convenience sample; campaign estimates are weighted apart).
    query = (select(*keys, *measures)
             .where(Response.version_id == version_id, Response.voided_at.is_(None),
                    Response.campaign_id.is_(None), where)
             .group_by(*keys))
    return columns, query


def _clock():
    """The database's clock in seconds since 1970 (when a cell is touched; see ReportCellColumn)."""
    if db.engine.dialect.name == "postgresql":
        return cast(func.extract("epoch", func.clock_timestamp()), Float)
    return (func.julianday("now") - literal_column("2440587.5")) * literal_column("86400.0")


def _upsert(columns: list[str], query, sign: int = 1):
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    statement = insert(_CELLS).from_select(columns, query, include_defaults=False)
    added = [name for name in columns if name not in CELL_KEY and name != "touched"]
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=list(CELL_KEY),
        set_={name: _CELLS.c[name] + (excluded[name] if sign > 0 else -excluded[name]) for name in added}
        | {"touched": excluded["touched"]},
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
    statement = _statement(_ONE, _one_response_statement, version_id, questionnaire)
    # On the session's connection: the ORM layer of session.execute adds nothing for SQL text.
    db.session.connection().execute(statement, {"response_id": response_id})


# PostgreSQL: the response's INSERT and its cell's upsert as one statement (data-modifying
# CTEs), one round trip fewer per citizen post. Keyed like _ONE.
_INSERTING: dict[tuple, object] = {}
# Every column but the id, in table order: the values insert_counted takes.
_INSERTED = [column.name for column in Response.__table__.c if column.name != "id"]


def _inserting_statement(version_id: int, questionnaire: Questionnaire):
    # Only the table's own column names go into the text; the values are bound.
    typed = [bindparam(name, type_=Response.__table__.c[name].type) for name in _INSERTED]
    insert = (f"INSERT INTO response ({', '.join(_INSERTED)}) "  # noqa: S608
              f"VALUES ({', '.join(':' + name for name in _INSERTED)}) RETURNING *")
    # Inside the WITH, "response" is the inserted row: the upsert is the rebuild's own statement over it.
    cell_columns, query = _cell_select(version_id, questionnaire, literal_column("true"))
    upsert = _upsert(cell_columns, query).compile(dialect=db.engine.dialect,
                                                  compile_kwargs={"literal_binds": True})
    sql = f"WITH response AS ({insert}), cell AS ({upsert}) SELECT id FROM response"  # noqa: S608
    return text(sql).bindparams(*typed)


def _statement(cache: dict, build, version_id: int, questionnaire: Questionnaire | None):
    # The month is cut in the configured time zone, compiled into the statement.
    key = (db.engine.url.render_as_string(), version_id, report_timezone())
    with _ONE_LOCK:
        statement = cache.get(key)
    if statement is None:
        statement = build(version_id, questionnaire or _questionnaire(version_id))
        with _ONE_LOCK:
            cache[key] = statement
    return statement


def insert_counted(version_id: int, row: dict, questionnaire: Questionnaire | None = None) -> int:
    """Insert one response (a value for every column but the id) and add it to its cell, in the
    caller's transaction; its id. One statement on PostgreSQL; on SQLite the INSERT, then add_response."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        response_id = connection.execute(Response.__table__.insert(), row).inserted_primary_key[0]
        add_response(version_id, response_id, questionnaire)
        return response_id
    statement = _statement(_INSERTING, _inserting_statement, version_id, questionnaire)
    # The statement binds every column: one the row does not name (a later addition) is empty.
    return connection.execute(statement, dict.fromkeys(_INSERTED) | row).scalar_one()


def warm_statements() -> int:
    """Build the one-response statements of every published version, as the first post of each
    would (compiling one takes about 0.1 s); the number of versions."""
    version_ids = db.session.scalars(
        select(QuestionnaireVersion.id).where(QuestionnaireVersion.status == "published")).all()
    build = _inserting_statement if db.engine.dialect.name == "postgresql" else _one_response_statement
    cache = _INSERTING if db.engine.dialect.name == "postgresql" else _ONE
    for version_id in version_ids:
        _statement(cache, build, version_id, None)
    return len(version_ids)


def add_responses(version_id: int, where, questionnaire: Questionnaire | None = None) -> None:
    """Add the responses of a version matching `where` (just inserted, in this transaction)."""
    columns, query = _cell_select(version_id, questionnaire or _questionnaire(version_id), where)
    db.session.execute(_upsert(columns, query))


def remove_response(version_id: int, response_id: int) -> None:
    """Take a response out of its cell, in the caller's transaction, before it is voided (or its
    cell key changes). Nothing to do while the version's cells are not built: the build leaves
    voided responses out."""
    if db.session.get(ReportCellsBuilt, version_id) is None:
        return
    columns, query = _cell_select(version_id, _questionnaire(version_id), Response.id == response_id)
    db.session.execute(_upsert(columns, query, sign=-1))
    # Its month's packed columns are stale (a cell may go entirely, which no touch would tell).
    month = db.session.scalar(select(local_month(Response.submitted_at)).where(Response.id == response_id))
    db.session.execute(update(ReportCellColumn).where(ReportCellColumn.version_id == version_id,
                                                      ReportCellColumn.month == month).values(packed_at=-1.0))
    # The response's own cell (a PSU of one, or the last response of a cell) goes, not a zero row.
    db.session.execute(delete(ReportCell).where(ReportCell.version_id == version_id, ReportCell.n <= 0))


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
    db.session.execute(delete(ReportCellColumn).where(ReportCellColumn.version_id == version_id))
    db.session.execute(delete(ReportCell).where(ReportCell.version_id == version_id))
    add_responses(version_id, literal(True))
    db.session.commit()


def rebuild(version_id: int) -> None:
    """Recompute a version's cells from its responses (after responses were changed by hand); commits."""
    db.session.execute(delete(ReportCellsBuilt).where(ReportCellsBuilt.version_id == version_id))
    db.session.add(ReportCellsBuilt(version_id=version_id, built_at=datetime.now(UTC),
                                    timezone=report_timezone()))
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
    zone = report_timezone()
    marker = db.session.get(ReportCellsBuilt, version_id)
    if marker is not None and marker.timezone == zone:
        return False
    if marker is not None:
        # Built with months cut in another time zone (or in UTC, before months were local): rebuild.
        rebuild(version_id)
        return True
    db.session.rollback()  # end the read snapshot: the marker may have been committed meanwhile
    try:
        db.session.add(ReportCellsBuilt(version_id=version_id, built_at=datetime.now(UTC), timezone=zone))
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # another worker built them
        return False
    _build(version_id)
    return True


def _plain_rows(query) -> list[tuple]:
    """The driver's plain tuples: SQLAlchemy's row processing cost more than the query."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # psycopg's binary format: numbers arrive as numbers, not as text to parse (a third faster).
        compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
        with connection.connection.driver_connection.cursor(binary=True) as cursor:
            cursor.execute(str(compiled), compiled.params)
            return cursor.fetchall()
    result = connection.execute(query)
    rows = result.cursor.fetchall()
    result.close()
    return rows


def cells_table(
    version_id: int,
    questionnaire: Questionnaire,
    where: Sequence = (),
    weighted: bool = True,
    domain: Sequence = (),
    rating_sums: bool = True,
    verified: bool = False,
    packed_columns: bool = True,
) -> dict[str, np.ndarray]:
    """The reports' aggregate table (agency × month × stratum × PSU) summed from the cells.

    Same contract as app.services.reports.aggregates.psu_totals_table(by=("agency", "month")),
    whose GROUP BY over the responses it replaces: n, w, K__ws, K__wa, K__wr, K__n,
    E__n and OVERALL__n, plus `inside`. `where` (conditions on ReportCell's key
    columns) drops cells. With a `domain`, the cells outside it come as separate
    rows with inside = False: the reports give them no weight but keep their PSUs
    in the design, so variances are domain variances. Without `rating_sums` the
    K__wr columns (only the mean-score measure reads them) are zeros, not read.
    With `verified`, a column "verified_n" holds each row's verified responses (the
    overview's counts, read with the cells instead of by another scan of them).
    The cells come from their packed columns (`read_packed`) unless `packed_columns`
    is False or a condition is not one they can evaluate; both give the same table.
    """
    sources = _sources(questionnaire, weighted, rating_sums)
    columns = list(dict.fromkeys(sources.values()))
    read = None
    if packed_columns:
        read = _read_packed(version_id, questionnaire, columns, where, domain, verified)
    if read is False or not packed_columns:
        read = _read_cells(version_id, columns, and_(ReportCell.version_id == version_id, *where), domain,
                           verified=verified)
    extra = ("verified_n",) if verified else ()
    if read is None:
        empty = {name: np.array([], dtype=object if name in _KEYS else float)
                 for name in (*_KEYS, *sources, *extra)}
        return {**empty, "inside": np.array([], dtype=bool)}
    keys, inside, values, order, flags = read
    first, group, n_groups = _cell_groups(keys, inside)
    # Counts are whole numbers: their sums do not depend on the order of addition.
    verified_n = (np.bincount(group, weights=values[:, order.index("n")] * flags, minlength=n_groups)
                  if verified else None)
    if n_groups < len(group):
        # Cells differ also by channel and flags: add those of one agency × month × stratum × PSU.
        values = _group_sums(values, group, n_groups)
    table: dict[str, np.ndarray] = {
        "agency": np.asarray(keys[0], dtype=np.int64)[first],
        **{name: keys[i][first] for i, name in enumerate(_KEYS) if i},
        "inside": inside[first],
    }
    position = {column: i for i, column in enumerate(order)}
    for name, column in sources.items():
        table[name] = values[:, position[column]]
    if not rating_sums:
        zeros = np.zeros(n_groups)
        table |= {f"{code}__wr": zeros for code in questionnaire.likert_codes()}
    if verified_n is not None:
        table["verified_n"] = verified_n
    return table


def _sources(questionnaire: Questionnaire, weighted: bool, rating_sums: bool) -> dict[str, str]:
    """Each column of the aggregate table and the cell column it is read from."""
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
    return sources


# Bits per count when several counts travel in one 64-bit integer (see _read_cells).
_PACK_LIMIT = 63


def _read_cells(version_id: int, columns: list[str], where, domain: Sequence, packed: bool = True,
                verified: bool = False):
    """The cells' keys, `inside`, the columns' values as one float matrix, their order and the cells'
    verified flags (None without `verified`), or None when there is no cell.

    Reading a value costs the database and the driver about the same whatever it
    holds, so the time goes with the number of columns read (see _Layout).
    """
    postgres = db.session.connection().dialect.name == "postgresql"
    layout = _Layout.of(columns, (2 * _count_bound() + 1).bit_length() if packed else 0, postgres)
    inside = [case((and_(*domain), 1), else_=0)] if domain else []
    flag = [case((ReportCell.verified.is_(True), 1), else_=0)] if verified else []
    # In month and id order: the order of the packed columns (sums depend on the order of addition).
    query = (select(ReportCell.agency_id, ReportCell.month, ReportCell.stratum, ReportCell.psu, *inside,
                    *flag, *layout.expressions()).where(where).order_by(ReportCell.month, ReportCell.id))
    rows = _plain_rows(query)
    if not rows:
        return None
    everything = np.array(rows, dtype=object)
    values = layout.values(everything[:, 4 + len(inside) + len(flag):])
    if values is None:
        return _read_cells(version_id, columns, where, domain, packed=False, verified=verified)
    flags = everything[:, 4] == 1 if inside else np.ones(len(rows), dtype=bool)
    verified_flags = (everything[:, 4 + len(inside)] == 1) if verified else None
    return [everything[:, i] for i in range(4)], flags, values, layout.order, verified_flags


@dataclass(frozen=True)
class _Layout:
    """How the cells' columns travel: a few plain, counts packed into integers, floats as bytes.

    Counts (answered, satisfied without weights, elements' n) are at most the
    cell's n, which is at most the largest response id: several of them travel
    in one integer and numpy splits them again. The cell's own n comes plain and
    proves the width was wide enough; if not (ids reused or reset), the cells
    are read again unpacked. On PostgreSQL the weighted sums travel as one
    bytea of their float8send bytes per cell, exact and read by numpy at once.
    """

    plain: list[str]
    groups: list[list[str]]
    width: int
    floats: list[str]

    @classmethod
    def of(cls, columns: list[str], width: int, as_bytes: bool) -> _Layout:
        """The layout of `columns` for counts of at most `width` bits (0: unpacked)."""
        counts = [c for c in columns if c != "n" and isinstance(_CELLS.c[c].type, Integer)]
        per = _PACK_LIMIT // width if width else 1
        if per < 2:
            counts, per = [], 1
        floats = [c for c in columns if c not in counts and c != "n"] if as_bytes else []
        plain = [c for c in columns if c not in counts and c not in floats]
        return cls(plain, [counts[i:i + per] for i in range(0, len(counts), per)], width, floats)

    @property
    def order(self) -> list[str]:
        """The columns of `values`, in order."""
        return [*self.plain, *(c for group in self.groups for c in group), *self.floats]

    def expressions(self) -> list:
        """The selected expressions, after the keys."""
        packs = [_packed(group, self.width) for group in self.groups]
        floats = [_float_bytes(self.floats)] if self.floats else []
        return [*(_CELLS.c[c] for c in self.plain), *packs, *floats]

    def values(self, block: np.ndarray) -> np.ndarray | None:
        """The rows' values as a float matrix in `order`, None when a count may have overflowed its width."""
        # Column-major: analysis reads the table column by column (strided, each value a cache miss).
        values = np.empty((len(block), len(self.order)), order="F")
        values[:, :len(self.plain)] = block[:, :len(self.plain)].astype(float)
        n = values[:, self.plain.index("n")]
        if self.groups and (n.max() >= 1 << self.width or n.min() < 0):
            return None
        at, mask = len(self.plain), (1 << self.width) - 1
        packed = block[:, len(self.plain):len(self.plain) + len(self.groups)].astype(np.int64)
        for i, group in enumerate(self.groups):
            for j in range(len(group)):
                values[:, at] = (packed[:, i] >> (self.width * j)) & mask
                at += 1
        if self.floats:
            raw = np.frombuffer(b"".join(block[:, -1]), dtype=">f8")
            values[:, at:] = raw.reshape(len(block), len(self.floats))
        return values


def _count_bound() -> int:
    """No cell counts more responses than the largest response id (read from the primary key's index)."""
    return db.session.scalar(select(func.max(Response.id))) or 0


def _packed(columns: list[str], width: int):
    """c0 + c1·2^width + c2·2^(2·width) + …, the constants inline (no bound parameter to type)."""
    expression = _CELLS.c[columns[0]]
    for j, column in enumerate(columns[1:], start=1):
        expression = expression + _CELLS.c[column] * literal_column(str(1 << (width * j)))
    return expression


def _float_bytes(columns: list[str]):
    """float8send(c0) || float8send(c1) || …: PostgreSQL's output of one value per column cost more."""
    expression = func.float8send(_CELLS.c[columns[0]])
    for column in columns[1:]:
        expression = expression.op("||")(func.float8send(_CELLS.c[column]))
    return expression


def _cell_groups(keys: list[np.ndarray], inside: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows of one agency × month × stratum × PSU × inside: (each group's first row, each row's group, count).

    Groups are numbered in the order they first appear (as pandas' groupby(sort=False) did).
    """
    group = inside.astype(np.int64)
    size = 2
    for key in keys:
        codes, uniques = pd.factorize(key)
        # Re-densified after every key, so the combined code stays below rows² (no overflow).
        group, combined = pd.factorize(group * len(uniques) + codes)
        size = len(combined)
    # Numbered by first appearance, a group's first row is where the running maximum grows.
    new = np.ones(len(group), dtype=bool)
    new[1:] = group[1:] > np.maximum.accumulate(group)[:-1]
    return np.flatnonzero(new), group, size


def _group_sums(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Column sums per group, adding each group's rows in table order."""
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], np.arange(n_groups))
    return np.asfortranarray(np.add.reduceat(values[order], starts, axis=0))


# ---------------------------------------------------------------- packed columns
#
# A cold report read 120,000 cells of about 2.6 KB each (six sums for every rating slot),
# 1-1.6 s at a million responses. The cells of a version and month are also kept packed,
# one row per column (ReportCellColumn): a cold report reads the dozen rows of each column
# it needs. A writer touches its cells (ReportCell.touched, the database's clock), so a
# month whose cells were touched after its pack is read from the cells, and packed again
# once its writes have settled: one new response costs a live read of its month only.

# A writer's transaction commits within this many seconds of touching its cells (they touch
# them last); cells touched later than a pack's time less this margin may be missing from it.
SETTLE_SECONDS = 300.0
# Months are packed again once this many touched cells are read on top of the packs.
REPACK_CELLS = 2000
_TEXT_KEYS = ("stratum", "psu", "channel")
_FLAG_KEYS = ("verified", "suspicious")


def _settle_seconds() -> float:
    from flask import current_app

    return float(current_app.config.get("REPORT_CELLS_SETTLE_SECONDS", SETTLE_SECONDS))


def _repack_cells() -> int:
    from flask import current_app

    return int(current_app.config.get("REPORT_CELLS_REPACK_CELLS", REPACK_CELLS))


def packed_names(questionnaire: Questionnaire) -> list[str]:
    """The cell columns a version's packs hold: its keys but the month, and the sums it fills."""
    slots = sorted(set(rating_slots(questionnaire).values()))
    sums = [f"{kind}{slot}" for slot in slots for kind in SLOT_SUMS]
    return ["agency_id", *_TEXT_KEYS, *_FLAG_KEYS, "n", "w", "any_answered", *sums,
            *element_columns(questionnaire).values()]


def _encode(name: str, values: np.ndarray) -> bytes:
    if name in _TEXT_KEYS:
        return json.dumps([str(v) for v in values], ensure_ascii=False).encode()
    if name in _FLAG_KEYS:
        return np.asarray(values, dtype=bool).astype("u1").tobytes()
    if name in ("id", "agency_id"):
        return np.asarray(values, dtype="<i8").tobytes()
    return np.asarray(values, dtype="<f8").tobytes()


def _decode(name: str, payload: bytes) -> np.ndarray:
    if name in _TEXT_KEYS:
        return np.array(json.loads(bytes(payload).decode()), dtype=object)
    if name in _FLAG_KEYS:
        return np.frombuffer(payload, dtype="u1").astype(bool)
    if name == "agency_id":
        return np.frombuffer(payload, dtype="<i8").astype(object)
    if name == "id":
        return np.frombuffer(payload, dtype="<i8")
    return np.frombuffer(payload, dtype="<f8")


def _database_clock() -> float:
    return float(db.session.scalar(select(_clock())))


def _live_months(version_id: int, names: list[str], months: list[str] | None = None,
                 touched_after: float | None = None) -> dict[str, dict]:
    """Cells as columns per month, in id order, with each month's last touch: the cells of
    `months` (all when None), or only those touched after `touched_after`."""
    where = [ReportCell.version_id == version_id]
    if months is not None:
        where.append(ReportCell.month.in_(months))
    query = select(ReportCell.month, ReportCell.touched, ReportCell.id, *(_CELLS.c[name] for name in names))
    if touched_after is None:
        rows = _plain_rows(query.where(*where).order_by(ReportCell.month, ReportCell.id))
    else:
        # Sorted here: ordered in SQL, SQLite would walk the month index through every cell of
        # the version instead of the touch index through the few touched since.
        rows = sorted(_plain_rows(query.where(*where, ReportCell.touched > touched_after)),
                      key=lambda row: (row[0], row[2]))
    out: dict[str, dict] = {}
    if not rows:
        return out
    block = np.array(rows, dtype=object)
    month = block[:, 0]
    bounds = np.flatnonzero(month[1:] != month[:-1]) + 1
    for start, end in zip(np.r_[0, bounds], np.r_[bounds, len(month)], strict=True):
        part = block[start:end]
        columns = {}
        for i, name in enumerate(names, start=3):
            if name in _TEXT_KEYS or name == "agency_id":
                columns[name] = part[:, i]
            elif name in _FLAG_KEYS:
                columns[name] = part[:, i].astype(bool)
            elif name == "id":
                columns[name] = part[:, i].astype(np.int64)
            else:
                columns[name] = part[:, i].astype(float)
        out[str(month[start])] = {"columns": columns, "touched": part[:, 1].astype(float)}
    return out


def _store_packs(version_id: int, packs: dict[str, dict], gone: list[str], packed_at: float,
                 still: list[str]) -> None:
    """Write the months' packed columns and restamp the `still` months' packs (no cell of theirs
    touched since), in a transaction of their own: a cache, so a failure only means the next
    report reads more cells again."""
    table = ReportCellColumn.__table__
    rows = [{"version_id": version_id, "month": month, "name": name, "packed_at": packed_at,
             "payload": _encode(name, values)}
            for month, pack in packs.items() for name, values in pack.items()]
    try:
        with db.engine.connect() as connection:
            sqlite_file = connection.dialect.name == "sqlite"
            try:
                with connection.begin():
                    # Never wait on a writer for a cache (it may be this request's own transaction,
                    # holding a pack it marked stale): give up at once when the rows are locked.
                    if sqlite_file:
                        connection.exec_driver_sql("PRAGMA busy_timeout=0")
                    else:
                        connection.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
                    months = [*packs, *gone]
                    connection.execute(delete(table).where(table.c.version_id == version_id,
                                                           table.c.month.in_(months)))
                    if rows:
                        connection.execute(table.insert(), rows)
                    if still:
                        connection.execute(update(table).where(
                            table.c.version_id == version_id, table.c.month.in_(still),
                            table.c.packed_at >= 0).values(packed_at=packed_at))
            finally:
                if sqlite_file:
                    connection.exec_driver_sql("PRAGMA busy_timeout=10000")
                    connection.rollback()
    except OperationalError:
        return


def _merge(base: dict[str, np.ndarray] | None, changes: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A month's packed columns with the cells touched since put in: a changed cell's row replaced,
    a new cell's inserted, both by id (the rows stay in id order)."""
    if base is None or not len(base["id"]):
        return dict(changes)
    ids, changed = base["id"], changes["id"]
    at = np.searchsorted(ids, changed)
    known = np.zeros(len(changed), dtype=bool)
    inside = at < len(ids)
    known[inside] = ids[at[inside]] == changed[inside]
    out = {}
    for name, values in base.items():
        merged = values.copy()
        merged[at[known]] = changes[name][known]
        out[name] = np.insert(merged, at[~known], changes[name][~known]) if (~known).any() else merged
    return out


def read_packed(version_id: int, questionnaire: Questionnaire, names: list[str]) -> dict[str, dict]:
    """Every cell of a version per month (in month order) as columns (at least `names`), in id order.

    A month comes from its pack with the cells touched since put in (one new response
    costs a read of its cell, not of its month). A month whose pack is stale (a voided
    response may have removed a cell) is read from the cells. A month with cells touched
    since its pack but before the settling margin is packed again, in passing.
    """
    settle = _settle_seconds()
    every = ["id", *packed_names(questionnaire)]
    wanted = list(dict.fromkeys(["id", *names]))
    packed_at, payloads = _packs(version_id, wanted)
    now = _database_clock()
    if not packed_at:
        # Nothing packed yet: every cell is read, and packed.
        read = _live_months(version_id, every)
        packs = {month: got["columns"] for month, got in read.items()}
        _store_packs(version_id, packs, [], now, [])
        return {month: packs[month] for month in sorted(packs)}
    stale = sorted(month for month, at in packed_at.items() if at < 0 or len(payloads[month]) < len(wanted))
    valid = [at for month, at in packed_at.items() if month not in stale]
    delta = _live_months(version_id, every, touched_after=min(valid, default=now) - settle)
    whole = _live_months(version_id, every, stale) if stale else {}
    # Packing a month again writes all its columns (megabytes): worth it once the cells read on
    # top of the packs are many, not for every new response.
    due = sum(len(got["touched"]) for got in delta.values()) >= _repack_cells()
    months: dict[str, dict[str, np.ndarray]] = {}
    packs: dict[str, dict[str, np.ndarray]] = {}
    for month in sorted(set(packed_at) | set(delta)):
        if month in stale:
            if month in whole:
                months[month] = packs[month] = whole[month]["columns"]
            continue
        touched = delta.get(month)
        threshold = packed_at.get(month, -np.inf) - settle
        # Packed again when some touch since its pack has settled (the pack would move on).
        repack = due and touched is not None and bool(((touched["touched"] > threshold)
                                               & (touched["touched"] < now - settle)).any())
        base = None
        if month in packed_at:
            names_read = every if repack else wanted
            extra = _packs(version_id, [n for n in names_read if n not in payloads[month]], month)[1] \
                if repack else {}
            raw = payloads[month] | extra.get(month, {})
            base = {name: _decode(name, raw[name]) for name in names_read}
        if touched is None:
            months[month] = base
            continue
        changes = touched["columns"]
        merged = _merge(base, changes if repack else {name: changes[name] for name in wanted})
        months[month] = merged
        if repack:
            packs[month] = merged
    gone = [month for month in stale if month not in whole]
    if packs or gone:
        still = [month for month in packed_at if month not in packs and month not in stale
                 and month not in delta]
        _store_packs(version_id, packs, gone, now, still)
    return {month: months[month] for month in sorted(months)}


def _packs(version_id: int, names: list[str], month: str | None = None):
    """The packs' times per month (the oldest of its columns) and payloads per month and name."""
    where = [ReportCellColumn.version_id == version_id, ReportCellColumn.name.in_(names)]
    if month is not None:
        where.append(ReportCellColumn.month == month)
    # The driver's binary format: bytea as hex text would double what travels and cost a parse.
    rows = _plain_rows(select(ReportCellColumn.month, ReportCellColumn.name, ReportCellColumn.packed_at,
                              ReportCellColumn.payload).where(*where)) if names else []
    packed_at: dict[str, float] = {}
    payloads: dict[str, dict[str, bytes]] = {}
    for row_month, name, at, payload in rows:
        packed_at[row_month] = min(packed_at.get(row_month, at), at)
        payloads.setdefault(row_month, {})[name] = payload
    return packed_at, payloads


def pack(version_id: int) -> None:
    """Pack the months of a version, as the first cold report would."""
    read_packed(version_id, _questionnaire(version_id), ["n"])


def _condition_mask(columns: dict[str, np.ndarray], clause) -> np.ndarray | None:
    """A condition of the reports' filters on a cell key column, evaluated on packed columns;
    None for any other kind of condition."""
    if not isinstance(clause, BinaryExpression) or clause.operator not in (operators.eq, operators.is_):
        return None
    column, value = clause.left, clause.right
    if getattr(column, "table", None) is not _CELLS or column.name not in (*_TEXT_KEYS, *_FLAG_KEYS):
        return None
    if isinstance(value, BindParameter):
        value = value.effective_value
    elif isinstance(value, True_ | False_):
        value = isinstance(value, True_)
    else:
        return None
    if column.name in _FLAG_KEYS:
        return columns[column.name] == bool(value)
    return columns[column.name] == value


def _condition_columns(clauses: Sequence) -> list[str] | None:
    names = []
    for clause in clauses:
        name = getattr(getattr(clause, "left", None), "name", None)
        if name not in (*_TEXT_KEYS, *_FLAG_KEYS):
            return None
        names.append(name)
    return names


def _read_packed(version_id: int, questionnaire: Questionnaire, columns: list[str], where: Sequence,
                 domain: Sequence, verified: bool):
    """What _read_cells returns, from the packed columns; False when a condition is not a key's."""
    conditions = _condition_columns([*where, *domain])
    if conditions is None:
        return False
    keys = ["agency_id", "stratum", "psu", *conditions, *(("verified",) if verified else ())]
    names = list(dict.fromkeys([*keys, *columns]))
    months = read_packed(version_id, questionnaire, names)
    keeps, insides = [], []
    for part in months.values():
        keep = np.ones(len(part["id"]), dtype=bool)
        inside = np.ones(len(keep), dtype=bool)
        for clause, flags in [(clause, keep) for clause in where] + [(clause, inside) for clause in domain]:
            mask = _condition_mask(part, clause)
            if mask is None:
                return False
            flags &= mask
        keeps.append(keep)
        insides.append(inside[keep])
    total = sum(int(keep.sum()) for keep in keeps)
    if not total:
        return None
    # Straight into the column-major matrix, a month at a time: one copy of each value.
    values = np.empty((total, len(columns)), order="F")
    keys: list[list] = [[], [], [], []]
    verified_flags = []
    at = 0
    for (month, part), keep in zip(months.items(), keeps, strict=True):
        size = int(keep.sum())
        for i, name in enumerate(columns):
            np.compress(keep, part[name], out=values[at:at + size, i])
        for j, name in enumerate(("agency_id", None, "stratum", "psu")):
            keys[j].append(np.full(size, month, dtype=object) if name is None else part[name][keep])
        if verified:
            verified_flags.append(part["verified"][keep])
        at += size
    keys_out = [np.concatenate(parts) for parts in keys]
    flags_out = np.concatenate(verified_flags) if verified else None
    return keys_out, np.concatenate(insides), values, columns, flags_out
