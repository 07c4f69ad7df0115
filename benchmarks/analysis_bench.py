"""Benchmark of ``python -m analysis indices`` on a large designed survey.

Generates N responses × K criteria over A agencies (stratified by province,
clustered by agency-week), then times in one run:

1. ``python -m analysis indices FILE --questionnaire Q --by agency`` end to
   end (a fresh process: start-up, reading, validation, estimation, JSON);
2. ``pandas.read_csv(FILE)`` alone, the bare read of the same file;
3. samplics' Taylor ratio estimator on the same estimates (per criterion,
   domain = agency), on the first ``--samplics-rows`` rows and one
   criterion, scaled linearly to all rows and criteria.

Goals (issue 5): end to end ≤ 2× the bare read, ≥ 20× faster than samplics,
peak memory < 2 GB. The report gives the CLI's ratio to both yardsticks, the
read in this process and the read in a fresh process, in wall and CPU time,
and the load average at the end (the figures mean little on a busy machine).
Run from the repository root:

    .venv/bin/python benchmarks/analysis_bench.py

The data is cached under benchmarks/out/ (git-ignored).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"


def questionnaire(path: Path, n_criteria: int) -> None:
    """Write a questionnaire with ``n_criteria`` likert criteria in five elements."""
    lines = ["code: bench", "version: 1", "title: {en: Benchmark}", "languages: [en]",
             "scale:", "  points: 5", "  labels: {en: [a, b, c, d, e]}", "  satisfied: [4, 5]",
             "elements:"]
    per = -(-n_criteria // 5)
    for e in range(5):
        codes = [f"E{e + 1}_{j + 1}" for j in range(per) if e * per + j < n_criteria]
        lines += [f"  - code: E{e + 1}", f"    title: {{en: Element {e + 1}}}",
                  "    questions:"]
        lines += [f"      - {{code: {c}, type: likert, text: {{en: {c}}}}}" for c in codes]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def generate(path: Path, rows: int, n_criteria: int, agencies: int, seed: int,
             no_psu: bool = False) -> list[str]:
    """Write the responses CSV; returns the criteria codes."""
    rng = np.random.default_rng(seed)
    provinces = 63
    agency = rng.integers(0, agencies, rows)
    province = agency % provinces
    week = rng.integers(0, 10, rows)
    weight = np.round(rng.uniform(0.5, 4.0, agencies)[agency] * rng.uniform(0.8, 1.25, rows), 3)
    level = rng.normal(0.8, 0.6, agencies)[agency]
    per = -(-n_criteria // 5)
    codes = [f"E{e + 1}_{j + 1}" for e in range(5) for j in range(per)][:n_criteria]
    frame = pd.DataFrame({
        "response_id": np.char.add("R", np.arange(rows).astype(str)),
        "survey": "bench",
        "agency": np.char.add("AG", agency.astype(str)),
        "channel": rng.choice(np.array(["qr", "kiosk", "paper"]), rows),
        "submitted_at": "2026-03-01T09:30:00+07:00",
        "stratum": np.char.add("PR", province.astype(str)),
        "psu": np.char.add(np.char.add("AG", agency.astype(str)), np.char.add("-W",
                                                                             week.astype(str))),
        "weight": weight,
    })
    for code in codes:
        r = np.clip(np.rint(3 + level + rng.normal(0, 1.0, rows)), 1, 5).astype(np.int8)
        col = r.astype(str).astype(object)
        col[rng.random(rows) < 0.08] = ""
        frame[code] = col
    if no_psu:
        frame = frame.drop(columns=["psu"])
    frame.to_csv(path, index=False)
    return codes


# A small launcher forks and execs the measured command and reports its wall time, CPU
# time and peak RSS. Spawned straight from this process, the command would inherit this
# process's high-water RSS (Linux keeps the larger of the old and new peaks across exec),
# and the pandas frames read here would show up as the CLI's memory.
_LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
      os.waitstatus_to_exitcode(status))
"""


def run_measured(cmd: list[str]) -> tuple[float, float, float]:
    """Run a process; its wall time, CPU time (user + system) and peak RSS in MB."""
    out = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, *cmd], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    wall, cpu, rss_kb, status = float(out[0]), float(out[1]), int(out[2]), int(out[3])
    if status != 0:
        raise SystemExit(f"{cmd} failed")
    return wall, cpu, rss_kb / 1024


def time_cli(data: Path, qfile: Path) -> tuple[float, float, float]:
    """Wall time, CPU time and peak memory of the CLI run in a fresh process."""
    return run_measured([sys.executable, "-m", "analysis", "indices", str(data),
                         "--questionnaire", str(qfile), "--by", "agency",
                         "--output", str(OUT / "bench-result.json")])


def time_read_process(data: Path) -> tuple[float, float]:
    """Wall and CPU time of ``python -c "import pandas; pandas.read_csv(FILE)"``."""
    wall, cpu, _ = run_measured([sys.executable, "-c",
                                 f"import pandas; pandas.read_csv({str(data)!r})"])
    return wall, cpu


def time_read(data: Path) -> tuple[float, float]:
    """Wall and CPU time of a bare pandas.read_csv of the whole file."""
    cpu = time.process_time()
    start = time.perf_counter()
    pd.read_csv(data)
    return time.perf_counter() - start, time.process_time() - cpu


def time_samplics(data: Path, code: str, rows: int, total_rows: int, n_stats: int,
                  agencies: int) -> dict:
    """samplics on one criterion for the first agencies (about ``rows`` rows), scaled.

    The subset keeps whole agencies so every domain has realistic size;
    scaling is linear in rows and in criteria, which flatters samplics (its
    cost also grows with the number of domains).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from samplics.estimation import TaylorEstimator
        from samplics.utils.types import PopParam
    keep = {f"AG{i}" for i in range(max(1, agencies * rows // total_rows))}
    header = pd.read_csv(data, nrows=0).columns
    frame = pd.read_csv(data, usecols=[c for c in ("agency", "stratum", "psu", "weight", code)
                                       if c in header])
    if "psu" not in frame:
        frame["psu"] = np.arange(len(frame))
    frame = frame[frame["agency"].isin(keep)]
    r = frame[code].to_numpy(float)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = TaylorEstimator(PopParam.ratio)
        est.estimate(y=(r >= 4).astype(float), x=(~np.isnan(r)).astype(float),
                     samp_weight=frame["weight"].to_numpy(), stratum=frame["stratum"].to_numpy(),
                     psu=frame["psu"].to_numpy(), domain=frame["agency"].to_numpy())
    seconds = time.perf_counter() - start
    return {"rows": len(frame), "domains": len(keep), "seconds_one_criterion": seconds,
            "scaled_seconds": seconds * total_rows / len(frame) * n_stats}


def main() -> None:
    """Run the benchmark and print a JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--criteria", type=int, default=25)
    parser.add_argument("--agencies", type=int, default=1000)
    parser.add_argument("--samplics-rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-psu", action="store_true",
                        help="drop the psu column: every response is its own PSU")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    stem = f"bench-{args.rows}x{args.criteria}x{args.agencies}-{args.seed}"
    stem += "-nopsu" if args.no_psu else ""
    data, qfile = OUT / f"{stem}.csv", OUT / "bench.yaml"
    questionnaire(qfile, args.criteria)
    # Byte-compile the package as an installation would: with PYTHONDONTWRITEBYTECODE set
    # (as in some shells here) every CLI run would otherwise compile the changed modules
    # from source again (about 0.03 s), which pandas, installed with its .pyc files, never pays.
    compileall.compile_dir(ROOT / "analysis", quiet=1)
    if not data.exists():
        start = time.perf_counter()
        generate(data, args.rows, args.criteria, args.agencies, args.seed, args.no_psu)
        print(f"generated {data} in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    # interleave the runs so both see the same machine load; keep the best of each
    reads, clis, fresh, peak = [], [], [], 0.0
    load_start = os.getloadavg()
    for _ in range(args.repeat):
        reads.append(time_read(data))
        fresh.append(time_read_process(data))
        *seconds, cli_peak = time_cli(data, qfile)
        peak = max(peak, cli_peak)
        clis.append(tuple(seconds))
    bare, cli = min(r[0] for r in reads), min(c[0] for c in clis)
    bare_cpu, cli_cpu = min(r[1] for r in reads), min(c[1] for c in clis)
    fresh_wall, fresh_cpu = min(f[0] for f in fresh), min(f[1] for f in fresh)
    print(f"read {bare:.2f}s, cli {cli:.2f}s, peak {peak:.0f} MB", file=sys.stderr)
    smp = time_samplics(data, "E1_1", args.samplics_rows, args.rows, args.criteria,
                        args.agencies)
    report = {
        "rows": args.rows, "criteria": args.criteria, "agencies": args.agencies,
        "file_mb": round(data.stat().st_size / 2**20, 1),
        "pandas_read_csv_s": round(bare, 2), "cli_end_to_end_s": round(cli, 2),
        "cpu_read_s": round(bare_cpu, 2), "cpu_cli_s": round(cli_cpu, 2),
        "fresh_process_read_s": round(fresh_wall, 2),
        "fresh_process_read_cpu_s": round(fresh_cpu, 2),
        # the goal's two yardsticks: the read in this process (pandas already imported)
        # and the read in a fresh process (paying start-up as the CLI does)
        "ratios": {
            "cli_over_read_wall": round(cli / bare, 2),
            "cli_over_read_cpu": round(cli_cpu / bare_cpu, 2),
            "cli_over_fresh_process_read_wall": round(cli / fresh_wall, 2),
            "cli_over_fresh_process_read_cpu": round(cli_cpu / fresh_cpu, 2),
        },
        "runs_wall": {"read": [round(r[0], 2) for r in reads],
                      "fresh_process_read": [round(f[0], 2) for f in fresh],
                      "cli": [round(c[0], 2) for c in clis]},
        "runs_cpu": {"read": [round(r[1], 2) for r in reads],
                     "fresh_process_read": [round(f[1], 2) for f in fresh],
                     "cli": [round(c[1], 2) for c in clis]},
        "load_average": {"start": [round(x, 2) for x in load_start],
                         "end": [round(x, 2) for x in os.getloadavg()]},
        "cli_peak_rss_mb": round(peak),
        "samplics": {k: round(v, 2) for k, v in smp.items()},
        "speedup_vs_samplics": round(smp["scaled_seconds"] / cli, 1),
        "goals_met": {"within_2x_read_wall": cli <= 2 * bare,
                      "within_2x_fresh_process_read_wall": cli <= 2 * fresh_wall,
                      "20x_faster_than_samplics": smp["scaled_seconds"] >= 20 * cli,
                      "peak_under_2gb": peak < 2048},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
