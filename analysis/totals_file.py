"""The totals file: one installation's per-cell sums for a period, signed (docs/FORMATS.md §7).

A province (or a ministry) keeps its citizens' answers; what it sends to the
national roll-up is the aggregate table of :mod:`analysis.totals` (one row
per agency × stratum × PSU [× calibration cell]) as a Parquet file, with
its unit, questionnaire and period in the file's key-value metadata and the
column sums per agency ("margins") that the reader checks the rows against.
A detached Ed25519 signature over the file's bytes says which installation
wrote it and that nothing changed since.

:func:`table_from_responses` reduces a responses CSV's columns to that table,
:func:`write_totals` makes the file's bytes, :func:`read_totals` reads and
checks one, :func:`sign_totals` / :func:`verify_totals` sign and verify.
pyarrow and cryptography are imported by the functions that use them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .errors import AnalysisError, QuestionnaireError
from .io import MAX_ERRORS, DataError, ResponseColumns
from .spec import IndexSpec
from .totals import totals_from_codes

__all__ = ["FORMAT_VERSION", "META_KEY", "TotalsFile", "count_columns", "definition_sha256",
           "numeric_columns", "read_totals", "sign_totals", "table_from_responses", "unit_of",
           "verify_totals", "write_totals"]

FORMAT_VERSION = 1
#: Parquet key-value metadata key holding the file's JSON description.
META_KEY = b"sipas.totals"
#: Unit codes: what a stratum prefix and a file name can hold unchanged.
UNIT_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
#: Relative tolerance of the margin check on weighted sums (counts must match exactly).
MARGIN_RTOL = 1e-9


def definition_sha256(definition: Mapping) -> str:
    """SHA-256 (hex) of a questionnaire definition's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def numeric_columns(spec: IndexSpec) -> list[str]:
    """The sums of a row, in file order: n, w, K__ws, K__wa, K__wr, K__n, …, E__n, OVERALL__n."""
    out = ["n", "w"]
    for k in spec.criteria:
        out += [f"{k}__ws", f"{k}__wa", f"{k}__wr", f"{k}__n"]
    return out + [f"{e.code}__n" for e in spec.elements] + ["OVERALL__n"]


def count_columns(spec: IndexSpec) -> list[str]:
    """The numeric columns that are counts of responses (whole numbers)."""
    return [c for c in numeric_columns(spec) if c == "n" or c.endswith("__n")]


def table_from_responses(columns: ResponseColumns, spec: IndexSpec, *, by: Sequence[str] = ("agency",),
                         calibration: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """Reduce validated responses (:func:`analysis.io.read_responses`) to the aggregate table.

    Without a ``stratum`` column there is one stratum ``-``; without a ``psu``
    column each response is its own PSU, named ``#<row>`` (1-based row of the
    data), as the web app names it ``#<response id>``.
    """
    n_rows = len(columns.weight)
    stratum = columns.stratum if columns.stratum is not None else np.full(n_rows, "-", dtype=object)
    psu = columns.psu
    if psu is None:
        psu = np.array([f"#{i}" for i in range(1, n_rows + 1)], dtype=object)
    keys = {name: columns.by[name] for name in by}
    # stratum and psu as grouping columns too: every group is then one PSU, and its labels are the cell's
    keys |= {"\0stratum": stratum, "\0psu": psu}
    totals = totals_from_codes(columns.codes, spec, columns.weight, stratum=stratum, psu=psu,
                               by=keys, calibration={c: columns.calibration[c] for c in calibration})
    g = totals.cell_group
    table: dict[str, np.ndarray] = {}
    for name, labels in zip(totals.by, totals.group_labels, strict=True):
        table[name.lstrip("\0")] = np.asarray([str(v) for v in labels[g]], dtype=object)
    for name, labels in zip(totals.calib, totals.calib_labels, strict=True):
        # an empty cell is the empty label, as the web app writes an unanswered question
        table[name] = np.asarray(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                                  for v in labels[totals.cell_calib]], dtype=object)
    table["n"], table["w"] = totals.n.astype(np.int64), totals.w
    for j, k in enumerate(spec.criteria):
        table[f"{k}__ws"], table[f"{k}__wa"] = totals.ws[:, j], totals.wa[:, j]
        table[f"{k}__wr"], table[f"{k}__n"] = totals.wr[:, j], totals.n_answered[:, j].astype(np.int64)
    for j, e in enumerate(spec.elements):
        table[f"{e.code}__n"] = totals.n_element[:, j].astype(np.int64)
    table["OVERALL__n"] = totals.n_any.astype(np.int64)
    return table


def _group_sums(table: Mapping[str, np.ndarray], by: Sequence[str],
                numeric: Sequence[str]) -> tuple[list[tuple], np.ndarray]:
    """The groups of ``by`` (sorted) and the sums of every numeric column per group: one bincount each."""
    n_rows = len(table["n"])
    if by:
        keys = list(zip(*(np.asarray(table[b], dtype=object).tolist() for b in by), strict=True))
        labels = sorted(set(keys))
        position = {key: i for i, key in enumerate(labels)}
        inverse = np.fromiter((position[key] for key in keys), dtype=np.int64, count=n_rows)
    else:
        labels, inverse = [()], np.zeros(n_rows, dtype=np.int64)
    sums = np.column_stack([np.bincount(inverse, weights=np.asarray(table[c], dtype=float),
                                        minlength=len(labels)) for c in numeric])
    return labels, sums.reshape(len(labels), len(numeric))


def _margins(table: Mapping[str, np.ndarray], by: Sequence[str], numeric: Sequence[str],
             counts: set[str]) -> dict:
    """Per group of ``by`` and for the whole file: the sum of every numeric column."""
    labels, sums = _group_sums(table, by, numeric)

    def plain(row: np.ndarray) -> dict:
        # counts as integers (exact below 2**53, far above any survey), sums as floats
        return {c: (int(round(v)) if c in counts else float(v)) for c, v in zip(numeric, row.tolist(),
                                                                              strict=True)}

    groups = [{**dict(zip(by, key, strict=True)), **plain(row)}
              for key, row in zip(labels, sums, strict=True)]
    return {"groups": groups, "total": plain(sums.sum(axis=0))}


def write_totals(table: Mapping[str, Sequence], *, definition: Mapping, unit: str, period_from: str,
                 period_to: str, by: Sequence[str] = ("agency",), calibration: Sequence[str] = (),
                 timezone: str | None = None, created_at: datetime | None = None,
                 software: str = "sipas") -> bytes:
    """The bytes of a totals file (format version 1) for one unit's aggregate table.

    Parameters
    ----------
    table : mapping of str to sequence
        The aggregate table of :mod:`analysis.totals` with the ``by`` and
        ``calibration`` columns and the unit's own stratum codes.
    definition : mapping
        The questionnaire's normalised definition (``Questionnaire.definition``).
    unit : str
        The sending installation's code (letters, digits, ``_``, ``-``); the
        strata are written as ``<unit>:<stratum>`` so that strata of two
        units never merge when their files are pooled.
    period_from, period_to : str
        First and last month (``YYYY-MM``) of the responses in the table.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .questionnaire import parse_questionnaire

    if not UNIT_CODE.fullmatch(unit or ""):
        raise AnalysisError(f"unit code {unit!r}: use 1 to 32 letters, digits, '_' or '-'")
    spec = IndexSpec.from_questionnaire(parse_questionnaire(dict(definition), "definition"))
    numeric = numeric_columns(spec)
    counts = set(count_columns(spec))
    missing = [c for c in [*by, *calibration, "stratum", "psu", *numeric] if c not in table]
    if missing:
        raise AnalysisError(f"the aggregate table lacks columns {missing}")
    n_rows = len(table["n"])
    text = {"unit": np.full(n_rows, unit, dtype=object)}
    for c in [*by, "stratum", "psu", *calibration]:
        text[c] = np.asarray([str(v) for v in table[c]], dtype=object)
    text["stratum"] = np.asarray([f"{unit}:{s}" for s in text["stratum"]], dtype=object)
    values = {c: np.asarray(table[c], dtype=np.int64 if c in counts else float) for c in numeric}
    order = np.lexsort([text[c] for c in reversed(["unit", *by, "stratum", "psu", *calibration])]) \
        if n_rows else np.arange(0)
    columns = {c: v[order] for c, v in {**text, **values}.items()}
    meta = {
        "format": "sipas-totals", "format_version": FORMAT_VERSION, "unit": unit,
        "questionnaire": {"code": spec.code, "version": definition.get("version"),
                          "sha256": definition_sha256(definition), "definition": dict(definition)},
        "period": {"from": period_from, "to": period_to, "timezone": timezone},
        "by": list(by), "calibration": list(calibration),
        "created_at": (created_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "software": software,
        "margins": _margins(columns, by, numeric, counts),
    }
    arrow = pa.table({c: pa.array(v.tolist() if v.dtype == object else v,
                                  type=pa.string() if v.dtype == object else None)
                      for c, v in columns.items()})
    text_meta = json.dumps(meta, ensure_ascii=False, separators=(",", ":"))
    buffer = io.BytesIO()
    # the metadata as the file's key-value metadata only: Arrow's own copy of the schema would hold it twice
    with pq.ParquetWriter(buffer, arrow.schema, compression="zstd", store_schema=False) as writer:
        writer.write_table(arrow)
        writer.add_key_value_metadata({META_KEY: text_meta.encode("utf-8")})
    return buffer.getvalue()


@dataclass(frozen=True)
class TotalsFile:
    """A checked totals file: its metadata, index structure and columns (text as object arrays)."""

    path: str
    meta: dict
    spec: IndexSpec
    table: dict[str, np.ndarray]

    @property
    def unit(self) -> str:
        """The sending installation's code."""
        return self.meta["unit"]

    @property
    def calibration(self) -> tuple[str, ...]:
        """The calibration columns the file carries."""
        return tuple(self.meta.get("calibration") or ())


def _meta_of(name: str, schema) -> dict:
    raw = (schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise DataError([(name, None, None, "not a totals file (no sipas.totals metadata)")])
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError([(name, None, None, f"the sipas.totals metadata is not JSON: {exc}")]) from exc
    if not isinstance(meta, dict) or meta.get("format") != "sipas-totals":
        raise DataError([(name, None, None, "not a totals file (format is not sipas-totals)")])
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise DataError([(name, None, None, f"format version {version!r}: this program reads totals files "
                                            f"of format version {FORMAT_VERSION} only")])
    return meta


def _spec_of(name: str, meta: dict) -> IndexSpec:
    from .questionnaire import parse_questionnaire

    q = meta.get("questionnaire") or {}
    definition = q.get("definition")
    if not isinstance(definition, dict) or definition_sha256(definition) != q.get("sha256"):
        raise DataError([(name, None, None, "the questionnaire definition does not match its sha256")])
    try:
        return IndexSpec.from_questionnaire(parse_questionnaire(definition, f"{name}: questionnaire"))
    except QuestionnaireError as exc:
        raise DataError([(name, None, None, f"invalid questionnaire definition: {exc}")]) from exc


def _check_meta(name: str, meta: dict) -> list:
    problems = []
    if not isinstance(meta.get("unit"), str) or not UNIT_CODE.fullmatch(meta["unit"]):
        problems.append((name, None, None, f"unit code {meta.get('unit')!r} is not valid"))
    period = meta.get("period") or {}
    month = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
    if not all(isinstance(period.get(k), str) and month.fullmatch(period[k]) for k in ("from", "to")):
        problems.append((name, None, None, "period from/to must be months YYYY-MM"))
    for key in ("by", "calibration"):
        if not isinstance(meta.get(key), list) or not all(isinstance(c, str) for c in meta[key]):
            problems.append((name, None, None, f"{key} must be a list of column names"))
    if not isinstance(meta.get("margins"), dict):
        problems.append((name, None, None, "the margins are missing"))
    return problems


def _rows(name: str, column: str, mask: np.ndarray, message: str) -> list:
    """(file, row, column, message) for the first rows where ``mask`` holds (rows counted from 1)."""
    return [(name, int(i) + 1, column, message) for i in np.flatnonzero(mask)[:MAX_ERRORS]]


def _check_values(name: str, table: dict, spec: IndexSpec, unit: str) -> list:
    """Counts whole and >= 0, n >= 1, sums finite and >= 0, answered <= n, satisfied <= answered."""
    problems = []
    counts = set(count_columns(spec))
    for c in numeric_columns(spec):
        v = table[c]
        problems += _rows(name, c, ~np.isfinite(v), "not a finite number")
        problems += _rows(name, c, v < 0, "negative count" if c in counts else "negative sum")
        if c in counts:
            problems += _rows(name, c, np.isfinite(v) & (v != np.rint(v)), "a count must be a whole number")
    problems += _rows(name, "n", (table["n"] >= 0) & (table["n"] < 1), "a cell holds at least one response")
    problems += _rows(name, "w", (table["w"] >= 0) & (table["w"] == 0), "a cell's weight sum must be > 0")
    for c in [*(f"{k}__n" for k in spec.criteria), *(f"{e.code}__n" for e in spec.elements), "OVERALL__n"]:
        problems += _rows(name, c, table[c] > table["n"], "more answers than responses (n)")
    slack = 1 + MARGIN_RTOL
    for k in spec.criteria:
        problems += _rows(name, f"{k}__ws", table[f"{k}__ws"] > table[f"{k}__wa"] * slack + 1e-12,
                          "satisfied weight above the answered weight")
        problems += _rows(name, f"{k}__wa", table[f"{k}__wa"] > table["w"] * slack + 1e-12,
                          "answered weight above the cell's weight")
    problems += _rows(name, "unit", table["unit"] != unit, f"unit is not the file's unit {unit!r}")
    prefix = f"{unit}:"
    problems += _rows(name, "stratum", ~np.char.startswith(table["stratum"].astype(str), prefix),
                      f"stratum does not start with {prefix!r}")
    return problems


def _stated(rows: list, numeric: Sequence[str]) -> np.ndarray:
    """The margins' numbers as a matrix, NaN where one is missing or not a number."""
    def number(value) -> float:
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else np.nan

    try:  # numbers, as written: one conversion of the whole matrix
        out = np.array([[row.get(c, np.nan) for c in numeric] for row in rows], dtype=float)
    except (TypeError, ValueError):
        out = np.array([[number(row.get(c)) for c in numeric] for row in rows], dtype=float)
    return out.reshape(len(rows), len(numeric))


def _check_margins(name: str, table: dict, meta: dict, spec: IndexSpec) -> list:
    """Every group's and the whole file's column sums equal the margins in the metadata."""
    by = meta["by"]
    numeric = numeric_columns(spec)
    stated = meta["margins"]
    stated_rows = [g for g in stated.get("groups") or [] if isinstance(g, dict)]
    labels, sums = _group_sums(table, by, numeric)
    stated_keys = [tuple(str(g.get(b)) for b in by) for g in stated_rows]
    got_keys = [tuple(str(v) for v in key) for key in labels]
    problems = [(name, None, None, f"group {', '.join(key)} is "
                 + ("in the margins but not in the rows" if key in stated_keys else
                    "in the rows but not in the margins"))
                for key in sorted(set(stated_keys) ^ set(got_keys))]
    if problems:
        return problems
    order = [stated_keys.index(key) for key in got_keys]
    want = np.vstack([_stated([stated.get("total") or {}], numeric), _stated(stated_rows, numeric)[order]])
    have = np.vstack([sums.sum(axis=0), sums])
    counts = set(count_columns(spec))
    is_count = np.array([c in counts for c in numeric])
    tolerance = np.where(is_count, 0.0, MARGIN_RTOL * np.maximum(np.maximum(abs(want), abs(have)), 1.0))
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(want - have) <= tolerance)
    label = ["total", *(", ".join(key) for key in got_keys)]
    for i, j in zip(*np.nonzero(bad), strict=True):
        w = want[i, j]
        said = _shown(w, is_count[j]) if np.isfinite(w) else "nothing"
        problems.append((name, None, numeric[j], f"the cells add up to {_shown(have[i, j], is_count[j])} "
                                                  f"for {label[i]}, the file's margin says {said}"))
        if len(problems) >= MAX_ERRORS:
            break
    return problems


def _shown(value: float, count: bool) -> str:
    return str(int(round(value))) if count else repr(float(value))


def unit_of(name: str, data: bytes) -> str:
    """The unit a totals file names in its metadata (read from the footer only)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        footer = pq.read_metadata(pa.BufferReader(data))
    except (OSError, pa.ArrowException) as exc:
        raise DataError([(name, None, None, f"cannot read as Parquet: {exc}")]) from exc
    raw = (footer.metadata or {}).get(META_KEY)
    try:
        unit = json.loads(raw.decode("utf-8")).get("unit") if raw else None
    except (UnicodeDecodeError, ValueError, AttributeError):
        unit = None
    if not isinstance(unit, str):
        raise DataError([(name, None, None, "not a totals file (no unit in its sipas.totals metadata)")])
    return unit


def read_totals(path: str | Path, data: bytes | None = None) -> TotalsFile:
    """Read and check a totals file (format version 1).

    Refused, with the reason (file, row counted from 1, column): another
    format version; a missing column; a negative, fractional or too large
    count; a cell whose sums are not finite or whose answered weight exceeds
    its weight; a row of another unit or with a stratum not prefixed by the
    unit; rows that do not add up to the margins in the metadata.

    Raises
    ------
    DataError
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = str(path)
    try:
        source = pa.BufferReader(data) if data is not None else str(path)
        # ParquetFile, not read_table: the dataset layer would import pandas for nothing
        arrow = pq.ParquetFile(source).read()
    except (OSError, pa.ArrowException) as exc:
        raise DataError([(name, None, None, f"cannot read as Parquet: {exc}")]) from exc
    meta = _meta_of(name, arrow.schema)
    problems = _check_meta(name, meta)
    if problems:
        raise DataError(problems)
    spec = _spec_of(name, meta)
    text = ["unit", *meta["by"], "stratum", "psu", *meta["calibration"]]
    numeric = numeric_columns(spec)
    present = set(arrow.column_names)
    missing = [c for c in [*text, *numeric] if c not in present]
    if missing:
        raise DataError([(name, None, c, "required column is missing") for c in missing[:MAX_ERRORS]])
    table: dict[str, np.ndarray] = {}
    for c in text:
        column = arrow.column(c)
        if column.null_count:
            first_null = np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0]
            raise DataError([(name, int(first_null) + 1, c, "empty cell")])
        table[c] = column.cast(pa.string()).to_numpy(zero_copy_only=False).astype(object)
    for c in numeric:
        column = arrow.column(c)
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)) or column.null_count:
            raise DataError([(name, None, c, "must be numbers without empty cells")])
        table[c] = column.to_numpy().astype(float)
    problems = _check_values(name, table, spec, meta["unit"])
    if problems:
        raise DataError(problems[:MAX_ERRORS])
    problems = _check_margins(name, table, meta, spec)
    if problems:
        raise DataError(problems[:MAX_ERRORS])
    return TotalsFile(path=name, meta=meta, spec=spec, table=table)


def sign_totals(data: bytes, private_key_pem: bytes) -> bytes:
    """The detached signature file's content: base64 of Ed25519(data), one line."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise AnalysisError("the signing key is not an Ed25519 private key")
    return base64.b64encode(key.sign(data)) + b"\n"


def verify_totals(data: bytes, signature: bytes, public_key_pem: bytes) -> None:
    """Check a detached signature (base64 Ed25519) of ``data`` with a PEM public key.

    Raises
    ------
    AnalysisError
        The key is not an Ed25519 public key, the signature is not base64 of
        64 bytes, or it does not verify (the file was altered or signed by
        another key).
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(public_key_pem)
    except ValueError as exc:
        raise AnalysisError(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise AnalysisError("the public key is not an Ed25519 key")
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AnalysisError("the signature is not base64") from exc
    if len(raw) != 64:
        raise AnalysisError(f"the signature has {len(raw)} bytes, an Ed25519 signature 64")
    try:
        key.verify(raw, data)
    except InvalidSignature as exc:
        raise AnalysisError("the signature does not match: the file was altered or signed by another key") \
            from exc
