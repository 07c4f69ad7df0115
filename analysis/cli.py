"""``python -m analysis``: indices, comparisons and rankings from a responses CSV.

docs/FORMATS.md §4 describes the three commands, their options and records;
``rollup`` gives the indices from the units' totals files instead (§7).
Results go to standard output (or ``--output``), messages to standard
error; bad input exits with status 2 and names file, row and column.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import AnalysisError
from .estimate import MEASURES, IndexTable, estimate_indices
from .intervals import CI_METHODS
from .io import DataError, read_population
from .reporting import ReportingRules
from .spec import IndexSpec

if TYPE_CHECKING:
    from .weighting import Margin

__all__ = ["main"]

EXIT_BAD_INPUT = 2


def _columns(text: str | None) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()] if text else []


def _level(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _common(p: argparse.ArgumentParser, rollup: bool = False) -> None:
    if rollup:  # the totals files carry their questionnaire; a file given must be the same one
        p.add_argument("--questionnaire", help="questionnaire file the totals must have been made with")
    else:
        p.add_argument("responses", nargs="?", help="responses CSV (docs/FORMATS.md §2)")
        p.add_argument("--questionnaire", required=True, help="questionnaire file (YAML or JSON)")
        p.add_argument("--totals", help="the saved result (CSV or Parquet) of the totals-sql query, "
                                        "instead of a responses CSV (FORMATS.md §4.7)")
    p.add_argument("--by", default="", help="grouping columns, comma separated")
    p.add_argument("--ci-level", type=_level, default=0.95)
    p.add_argument("--ci-method", choices=CI_METHODS, default="logit")
    p.add_argument("--measure", choices=[*MEASURES, "both"], default="satisfied")
    p.add_argument("--poststratify-by", default="", help="post-stratification columns")
    p.add_argument("--population", help="population CSV: post-stratification columns + total")
    p.add_argument("--rake", action="append", default=[], metavar="COLS=FILE",
                   help="raking margin (repeat): columns and population CSV")
    p.add_argument("--min-n", type=int, default=30, help="flag estimates with n below this")
    p.add_argument("--max-cv", type=float, default=0.3, help="flag estimates with CV above")
    p.add_argument("--suppress", action="store_true", help="blank flagged estimates")
    p.add_argument("--format", choices=["json", "csv"], default="json")
    p.add_argument("--output", help="output file (default: standard output)")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``python -m analysis``.

    With ``command`` only that subcommand gets its options (the others keep
    their name and help): building all three took longer than the parsing.
    """
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    helps = {"indices": "criterion, element and overall indices",
             "compare": "differences between groups or periods",
             "rank": "ranking with rank intervals"}
    for name, text in helps.items():
        p = sub.add_parser(name, help=text)
        if command in (None, name):
            _common(p)
            {"indices": lambda p: None, "compare": _compare_options, "rank": _rank_options}[name](p)
    from .rollup import add_rollup_parser

    add_rollup_parser(sub, _common, command in (None, "rollup"))
    sql = sub.add_parser("totals-sql", help="the GROUP BY query of the per-cell totals")
    if command in (None, "totals-sql"):
        _totals_sql_options(sql)
    return parser


def _totals_sql_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--questionnaire", required=True, help="questionnaire file (YAML or JSON)")
    p.add_argument("--dialect", required=True, choices=["duckdb", "postgresql", "spark"])
    p.add_argument("--table", required=True, help="table or view of the responses (FORMATS.md §2)")
    p.add_argument("--by", default="", help="grouping columns, comma separated")
    p.add_argument("--poststratify-by", default="", help="post-stratification / raking columns")
    for column in ("stratum", "psu", "weight", "survey"):
        p.add_argument(f"--no-{column}", action="store_true",
                       help=f"the table has no {column} column")
    p.add_argument("--output", help="output file (default: standard output)")


def _compare_options(cmp: argparse.ArgumentParser) -> None:
    cmp.add_argument("--groups", action="append", default=[], metavar="A:B",
                     help="compare group A with group B (repeat); labels join --by values with ','")
    cmp.add_argument("--against-all", action="store_true", help="each group minus the whole")
    cmp.add_argument("--trend", action="store_true", help="consecutive groups (periods)")


def _rank_options(rank: argparse.ArgumentParser) -> None:
    rank.add_argument("--code", default="OVERALL", help="statistic to rank on")
    rank.add_argument("--draws", type=int, default=2000)
    rank.add_argument("--seed", type=int, default=20170101)


def _margins(args) -> list[tuple[Margin, str]]:
    """Population margins from --poststratify-by/--population and --rake."""
    from .weighting import Margin  # here and below: imported only by the runs that need it

    out = []
    ps = _columns(args.poststratify_by)
    if bool(ps) != bool(args.population):
        raise AnalysisError("--poststratify-by and --population go together")
    if ps:
        out.append((Margin.from_table(read_population(args.population, ps), ps), args.population))
    for item in args.rake:
        cols, sep, path = item.partition("=")
        if not sep or not _columns(cols) or not path:
            raise AnalysisError(f"--rake {item!r}: use COLS=FILE")
        out.append((Margin.from_table(read_population(path, _columns(cols)), _columns(cols)),
                    path))
    return out


def _load(args):
    """Questionnaire, totals and calibration for the common options."""
    from .questionnaire import load_questionnaire

    spec = IndexSpec.from_questionnaire(load_questionnaire(args.questionnaire))
    margins = _margins(args)
    calib = list(dict.fromkeys(c for m, _ in margins for c in m.columns))
    if bool(args.responses) == bool(args.totals):
        raise AnalysisError("give either a responses CSV or --totals FILE")
    if args.totals:
        from .sql_totals import read_totals_table

        totals = read_totals_table(args.totals, spec, by=_columns(args.by), calibration=calib)
    else:
        from .streaming import responses_totals

        totals, missing = responses_totals(args.responses, spec, by=_columns(args.by),
                                           calibration=calib)
        for k in missing:
            print(f"{args.responses}: column {k}: not in the file; counted as unanswered",
                  file=sys.stderr)
    if not margins:
        return spec, totals, None
    from .weighting import calibrate

    cal = _naming_population(margins, calibrate, totals, [m for m, _ in margins])
    return spec, cal.apply(totals), cal


def _naming_population(population, run, *a, **k):
    """``run(*a, **k)``; a population table that does not fit is named with its row."""
    from .weighting import CalibrationError

    try:
        return run(*a, **k)
    except CalibrationError as exc:
        if exc.margin is None:
            raise
        path = population[exc.margin][1]
        row = exc.row + 2 if exc.row is not None else None
        raise DataError([(path, row, exc.column, str(exc))]) from exc


def _rules(args) -> ReportingRules:
    return ReportingRules(min_n=args.min_n, max_cv=args.max_cv, suppress=args.suppress)


def _indices(args) -> tuple[list[dict], dict]:
    if args.responses and not args.totals:
        # a file without psu: each response its own PSU, streamed by (group × calibration
        # cell × stratum) moments
        from .questionnaire import load_questionnaire
        from .singletons import indices_without_psu

        spec = IndexSpec.from_questionnaire(load_questionnaire(args.questionnaire))
        margins = _margins(args)
        table = _naming_population(margins, indices_without_psu, args.responses, spec,
                                   by=_columns(args.by), measure=args.measure,
                                   ci_level=args.ci_level, ci_method=args.ci_method,
                                   rules=_rules(args), margins=[m for m, _ in margins])
        if table is not None:
            return table, {**table.meta, "measure": args.measure}
    _, totals, cal = _load(args)
    table = estimate_indices(totals, measure=args.measure, ci_level=args.ci_level,
                             ci_method=args.ci_method, calibration=cal, rules=_rules(args))
    return table, {**table.meta, "measure": args.measure}


def _rollup(args) -> tuple[list[dict], dict]:
    from .rollup import rollup

    return rollup(args, _margins(args))


def _totals_sql(args) -> int:
    from .questionnaire import load_questionnaire
    from .sql_totals import totals_query

    spec = IndexSpec.from_questionnaire(load_questionnaire(args.questionnaire))
    text = totals_query(spec, args.table, args.dialect, by=_columns(args.by),
                        calibration=_columns(args.poststratify_by),
                        stratum=None if args.no_stratum else "stratum",
                        psu=None if args.no_psu else "psu",
                        weight=None if args.no_weight else "weight",
                        survey=None if args.no_survey else "survey")
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _diff_records(diff, keyname="comparison") -> list[dict]:
    out = []
    for i, label in enumerate(diff.labels):
        for j, code in enumerate(diff.codes):
            out.append({keyname: label, "level": diff.levels[j], "code": code,
                        "measure": diff.measure, "estimate": _num(diff.estimate[i, j]),
                        "se": _num(diff.se[i, j]), "ci_low": _num(diff.ci_low[i, j]),
                        "ci_high": _num(diff.ci_high[i, j]),
                        "p_value": _num(diff.p_value[i, j]), "df": int(diff.df[i])})
    return out


def _num(x) -> float | None:
    return float(x) if np.isfinite(x) else None


def _compare(args) -> tuple[list[dict], dict]:
    from .compare import compare_groups, compare_to_all, trend

    spec, totals, cal = _load(args)
    if not totals.by:
        raise AnalysisError("compare needs --by (e.g. --by agency or --by period)")
    out = []
    for m in (MEASURES if args.measure == "both" else (args.measure,)):
        kw = {"measure": m, "ci_level": args.ci_level, "calibration": cal}
        pairs = []
        for item in args.groups:
            a, sep, b = item.partition(":")
            if not sep:
                raise AnalysisError(f"--groups {item!r}: use A:B")
            pairs.append((a, b))
        if pairs:
            out += _diff_records(compare_groups(totals, pairs, **kw))
        if args.against_all:
            out += _diff_records(compare_to_all(totals, **kw))
        if args.trend:
            out += _diff_records(trend(totals, **kw))
    if not (args.groups or args.against_all or args.trend):
        raise AnalysisError("compare needs --groups A:B, --against-all or --trend")
    return out, {"questionnaire": spec.code, "ci_level": args.ci_level, "by": list(totals.by),
                 "estimate": "difference in percent points, t interval, two-sided p"}


def _rank(args) -> tuple[list[dict], dict]:
    from .compare import rank_groups

    spec, totals, cal = _load(args)
    measure = "satisfied" if args.measure == "both" else args.measure
    table = estimate_indices(totals, measure=measure, ci_level=args.ci_level,
                             calibration=cal, rules=_rules(args))
    pick = [i for i in range(len(table.code)) if table.code[i] == args.code]
    if not pick:
        raise AnalysisError(f"unknown statistic {args.code!r}")
    eligible = ~table.suppressed[pick]
    rk = rank_groups(totals, args.code, np.random.default_rng(args.seed), measure=measure,
                     ci_level=args.ci_level, draws=args.draws, calibration=cal,
                     eligible=eligible)
    return _rank_records(totals, table, pick, rk), {
        "questionnaire": spec.code, "code": args.code, "measure": measure,
        "ci_level": args.ci_level, "draws": args.draws, "seed": args.seed,
        "rank_interval": "parametric bootstrap from the design covariance"}


def _rank_records(totals, table, pick, rk) -> list[dict]:
    j = rk.versus_all.codes.index(rk.code)
    ranked = {int(g): i for i, g in enumerate(rk.groups)}
    out = []
    for g, idx in enumerate(pick):
        i = ranked.get(g)
        vs = rk.versus_all
        p = vs.p_value[g, j]
        verdict = "not different"
        if np.isfinite(p) and p < 1 - table.meta["ci_level"]:
            verdict = "above" if vs.estimate[g, j] > 0 else "below"
        out.append({"by": totals.group_key(g), "code": rk.code, "measure": rk.measure,
                    "estimate": _num(table.estimate[idx]), "se": _num(table.se[idx]),
                    "n": int(table.n[idx]), "flags": list(table.flags[idx]),
                    "rank": None if i is None else int(rk.rank[i]),
                    "rank_low": None if i is None else int(rk.rank_low[i]),
                    "rank_high": None if i is None else int(rk.rank_high[i]),
                    "vs_all": _num(vs.estimate[g, j]), "vs_all_se": _num(vs.se[g, j]),
                    "vs_all_p": _num(p), "vs_average": verdict})
    return sorted(out, key=lambda r: (r["rank"] is None, r["rank"] or 0))


def _csv_text(records: list[dict]) -> str:
    """Flatten records to CSV; text starting with = + - @ is quoted against formula injection."""
    flat = []
    for r in records:
        row = {f"by.{k}": v for k, v in r.get("by", {}).items()}
        row.update({k: (";".join(v) if isinstance(v, list) else v)
                    for k, v in r.items() if k != "by"})
        flat.append(row)
    fields = list(dict.fromkeys(k for row in flat for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in flat:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buf.getvalue()


def _cell(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _write(args, records, meta: dict) -> None:
    """Write records (a list, or an IndexTable with its fast JSON encoder)."""
    fast = isinstance(records, IndexTable)
    if args.format == "json" and fast:
        meta_text = json.dumps(meta, ensure_ascii=False, allow_nan=False)
        # in pieces: the records are Arrow's buffer, written without a copy
        _write_bytes(args.output, [b'{"results": ', *records.results_json_chunks(),
                                   f', "meta": {meta_text}}}\n'.encode()])
        return
    if args.format == "json":
        text = json.dumps({"results": records, "meta": meta}, ensure_ascii=False,
                          allow_nan=False) + "\n"
    else:
        text = _csv_text(records.records() if fast else records)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _write_bytes(output: str | None, chunks: list) -> None:
    if output:
        with open(output, "wb") as f:
            f.writelines(chunks)
        return
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # a text-only stream (tests, embedding)
        sys.stdout.write(b"".join(chunks).decode("utf-8"))
        return
    sys.stdout.flush()
    out.writelines(chunks)
    out.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = (argv[0] if argv and argv[0] in ("indices", "compare", "rank", "rollup", "totals-sql")
               else None)
    args = build_parser(command).parse_args(argv)
    if args.command == "totals-sql":
        try:
            return _totals_sql(args)
        except (AnalysisError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    run = {"indices": _indices, "compare": _compare, "rank": _rank, "rollup": _rollup}[args.command]
    try:
        records, meta = run(args)
        _write(args, records, meta)
    except AnalysisError as exc:
        print(f"error: {exc}" if not isinstance(exc, DataError) else str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0
