"""``python -m analysis rollup``: national indices from the units' totals files (FORMATS.md §7).

Every estimator here is a function of weighted sums per PSU (and per
post-stratum), so the units' totals files, stacked, give exactly the
indices, standard errors and degrees of freedom that pooling their
responses would. Each file is checked (:func:`analysis.totals_file.read_totals`),
optionally its signature too; the files must share the questionnaire (by
the hash of its definition) and the period, and no unit may come twice.
The records are those of ``indices`` for every ``--by`` group, then for the
whole (``"scope": "nation"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import AnalysisError
from .estimate import estimate_indices
from .io import DataError
from .spec import IndexSpec
from .totals import PsuTotals, totals_from_table
from .totals_file import TotalsFile, numeric_columns, read_totals, unit_of, verify_totals

__all__ = ["add_rollup_parser", "combine_totals", "read_files", "rollup", "rollup_files", "verify_file"]

#: ``province`` is another name of the ``unit`` column (the national ranking's units are provinces
#: and ministries).
UNIT_ALIASES = ("unit", "province")


def add_rollup_parser(sub, common, full: bool) -> None:
    """The ``rollup`` subcommand; ``common`` adds the options it shares with ``indices``."""
    p = sub.add_parser("rollup", help="indices of every unit and the nation from totals files")
    if not full:
        return
    p.add_argument("files", nargs="+", metavar="FILE", help="totals files (Parquet, FORMATS.md §7)")
    common(p, rollup=True)
    p.add_argument("--verify-key", action="append", default=[], metavar="[UNIT=]KEY.pub",
                   help="check FILE.sig with this Ed25519 public key (PEM); UNIT= binds it to a unit")


def _keys(items: Sequence[str]) -> tuple[dict[str, bytes], list[bytes]]:
    """Public keys bound to a unit (``UNIT=KEY``) and keys for every unit."""
    bound, shared = {}, []
    for item in items:
        unit, sep, path = item.partition("=")
        if sep:
            bound[unit] = Path(path).read_bytes()
        else:
            shared.append(Path(item).read_bytes())
    return bound, shared


def verify_file(path: str, data: bytes, bound: dict[str, bytes], shared: list[bytes]) -> None:
    """Check ``FILE.sig`` of one file's bytes with its unit's key, else with a key for every unit."""
    sig_path = Path(f"{path}.sig")
    if not sig_path.exists():
        raise DataError([(str(path), None, None, f"no signature file {sig_path}")])
    unit = unit_of(str(path), data)
    candidates = [bound[unit]] if unit in bound else shared
    if not candidates:
        raise DataError([(str(path), None, None, f"no --verify-key for unit {unit!r}")])
    signature = sig_path.read_bytes()
    errors = []
    for key in candidates:
        try:
            verify_totals(data, signature, key)
            return
        except AnalysisError as exc:
            errors.append(str(exc))
    raise DataError([(str(path), None, None, f"signature check failed: {errors[-1]}")])


def read_files(paths: Sequence[str], keys: Sequence[str] = ()) -> list[TotalsFile]:
    """Read and check every file, each read once; with ``keys``, its signature first."""
    bound, shared = _keys(keys)
    files = []
    for path in paths:
        data = Path(path).read_bytes()
        if keys:
            verify_file(path, data, bound, shared)
        files.append(read_totals(path, data))
    return files


def combine_totals(files: Sequence[TotalsFile]) -> tuple[IndexSpec, dict[str, np.ndarray], dict]:
    """Stack the files' tables after checking they can be pooled; the spec, table and a summary."""
    if not files:
        raise AnalysisError("no totals files")
    first = files[0]
    problems = []
    seen: dict[str, str] = {}
    for f in files:
        q, q0 = f.meta["questionnaire"], first.meta["questionnaire"]
        if q["sha256"] != q0["sha256"]:
            problems.append((f.path, None, None,
                             f"questionnaire {q['code']} v{q['version']} ({q['sha256'][:12]}) differs "
                             f"from {first.path}'s {q0['code']} v{q0['version']} ({q0['sha256'][:12]})"))
        if f.meta["period"]["from"] != first.meta["period"]["from"] or \
                f.meta["period"]["to"] != first.meta["period"]["to"]:
            mine, theirs = f.meta["period"], first.meta["period"]
            problems.append((f.path, None, None, f"period {mine['from']}..{mine['to']} differs from "
                                                 f"{first.path}'s {theirs['from']}..{theirs['to']}"))
        if f.unit in seen:
            problems.append((f.path, None, None, f"unit {f.unit!r} is also in {seen[f.unit]}"))
        seen.setdefault(f.unit, f.path)
    if problems:
        raise DataError(problems)
    text = ["unit", *sorted({c for f in files for c in [*f.meta["by"], *f.calibration]}), "stratum", "psu"]
    table: dict[str, np.ndarray] = {}
    for c in text:
        # a column some file lacks (another grouping or calibration) is empty in its rows
        table[c] = np.concatenate([f.table.get(c, np.full(len(f.table["n"]), "", dtype=object))
                                   for f in files])
    for c in numeric_columns(first.spec):
        table[c] = np.concatenate([f.table[c] for f in files])
    table["province"] = table["unit"]
    summary = {"units": [f.unit for f in files], "period": first.meta["period"],
               "questionnaire_sha256": first.meta["questionnaire"]["sha256"],
               "files": [{"path": f.path, "unit": f.unit, "created_at": f.meta.get("created_at"),
                          "responses": int(f.table["n"].sum())} for f in files]}
    return first.spec, table, summary


def _check_columns(table: dict, columns: Sequence[str], files: Sequence[TotalsFile], what: str) -> None:
    for c in columns:
        if c in UNIT_ALIASES:
            continue
        lacking = [f.path for f in files if c not in f.table]
        if lacking:
            raise DataError([(lacking[0], None, c, f"{what} column is not in the file")])


def _calibrated(totals: PsuTotals, margins):
    if not margins:
        return totals, None
    from .weighting import CalibrationError, calibrate

    try:
        cal = calibrate(totals, [m for m, _ in margins])
    except CalibrationError as exc:
        if exc.margin is None:
            raise
        row = exc.row + 2 if exc.row is not None else None
        raise DataError([(margins[exc.margin][1], row, exc.column, str(exc))]) from exc
    return cal.apply(totals), cal


def rollup(args, margins) -> tuple[list[dict], dict]:
    """Records of every ``--by`` group and of the nation, and the run's meta."""
    files = read_files(args.files, args.verify_key)
    from .reporting import ReportingRules

    rules = ReportingRules(min_n=args.min_n, max_cv=args.max_cv, suppress=args.suppress)
    by = [c.strip() for c in args.by.split(",") if c.strip()]
    records, meta = rollup_files(files, by=by, margins=margins, measure=args.measure, ci_level=args.ci_level,
                                 ci_method=args.ci_method, rules=rules, questionnaire=args.questionnaire)
    meta["rollup"]["verified"] = bool(args.verify_key)
    return records, meta


def rollup_files(files: Sequence[TotalsFile], *, by: Sequence[str] = ("unit",), margins=(),
                 measure: str = "satisfied", ci_level: float = 0.95, ci_method: str = "logit",
                 rules=None, questionnaire: str | None = None) -> tuple[list[dict], dict]:
    """The records of ``rollup`` for checked files, in-process (the defaults are the CLI's).

    ``rollup FILES --by unit`` gives the same records as ``rollup_files(read_files(FILES))``.
    """
    spec, table, summary = combine_totals(files)
    if questionnaire:
        _check_questionnaire(questionnaire, summary["questionnaire_sha256"])
    by = list(by)
    calib = list(dict.fromkeys(c for m, _ in margins for c in m.columns))
    _check_columns(table, by, files, "--by")
    _check_columns(table, calib, files, "calibration")
    from .reporting import ReportingRules

    rules = rules if rules is not None else ReportingRules(min_n=30, max_cv=0.3, suppress=False)
    kw = {"measure": measure, "ci_level": ci_level, "ci_method": ci_method, "rules": rules}
    records, meta = [], {}
    for scope, cols in (("group", by), ("nation", [])):
        if scope == "group" and not by:
            continue
        totals, cal = _calibrated(totals_from_table(table, spec, by=cols, calibration=calib), margins)
        result = estimate_indices(totals, calibration=cal, **kw)
        records += [{"scope": scope, **r} for r in result.records()]
        meta = {**result.meta, **meta}
    meta.update({"measure": measure, "by": by, "rollup": {**summary, "verified": False}})
    return records, meta


def _check_questionnaire(path: str, sha256: str) -> None:
    from .questionnaire import load_questionnaire
    from .totals_file import definition_sha256

    mine = definition_sha256(load_questionnaire(path).definition)
    if mine != sha256:
        raise AnalysisError(f"--questionnaire {path}: its definition ({mine[:12]}) is not the one the "
                            f"totals files were made with ({sha256[:12]})")
