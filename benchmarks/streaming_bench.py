"""Benchmark of the streaming reader (issue 20 item 4): peak memory and time against a bare read.

Writes N responses × 25 criteria (CSV and Parquet, with and without a ``psu``
column; 1,000 agencies in 63 provinces, PSU = agency × week) under --dir, then
for each file runs in fresh processes, in the same run:

1. ``python -m analysis indices FILE --questionnaire Q --by agency``;
2. the bare pyarrow read of the same file, batch by batch (``pyarrow.csv.open_csv``
   or ``ParquetFile.iter_batches``, every column), the yardstick.

and reports wall time, CPU time and peak RSS of each, and the ratios (the
machine is shared and noisy: the ratios mean more than the seconds). Run from
the repository root, e.g.

    .venv/bin/python benchmarks/streaming_bench.py --rows 1000000 10000000 --dir /tmp/streaming

The generated files are deleted at the end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]

from analysis_bench import questionnaire, run_measured  # noqa: E402

from analysis import streaming  # noqa: E402

CHUNK = 500_000


def generate(stem: Path, rows: int, n_criteria: int = 25, agencies: int = 1000,
             seed: int = 7) -> dict[str, Path]:
    """Write the four files (csv/parquet × psu/no psu) chunk by chunk; returns their paths."""
    rng = np.random.default_rng(seed)
    base_weight = rng.uniform(0.5, 4.0, agencies)
    level = rng.normal(0.8, 0.6, agencies)
    per = -(-n_criteria // 5)
    codes = [f"E{e + 1}_{j + 1}" for e in range(5) for j in range(per)][:n_criteria]
    paths = {f"{kind}-{psu}": stem.with_name(f"{stem.name}-{psu}.{kind}")
             for kind in ("csv", "parquet") for psu in ("psu", "nopsu")}
    writers = {}
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        agency = rng.integers(0, agencies, n)
        week = rng.integers(0, 10, n)
        columns = {
            "response_id": pa.array(np.char.add("R", np.arange(start, start + n).astype(str))),
            "survey": pa.array(["bench"] * n).dictionary_encode(),
            "agency": pa.array(np.char.add("AG", agency.astype(str))),
            "stratum": pa.array(np.char.add("PR", (agency % 63).astype(str))),
            "psu": pa.array(np.char.add(np.char.add("AG", agency.astype(str)),
                                        np.char.add("-W", week.astype(str)))),
            "weight": pa.array(np.round(base_weight[agency] * rng.uniform(0.8, 1.25, n), 3)),
        }
        for code in codes:
            r = np.clip(np.rint(3 + level[agency] + rng.normal(0, 1.0, n)), 1, 5).astype(np.int8)
            columns[code] = pa.array(r, mask=rng.random(n) < 0.08)
        table = pa.table(columns)
        for key, path in paths.items():
            part = table if key.endswith("-psu") else table.drop_columns(["psu"])
            if key not in writers:
                # unquoted, as the platform's export writes these cells (the header too)
                if key.startswith("csv"):
                    path.write_text(",".join(part.column_names) + "\n", encoding="utf-8")
                options = pacsv.WriteOptions(quoting_style="none", include_header=False)
                writers[key] = (pacsv.CSVWriter(pa.OSFile(str(path), "ab"), part.schema,
                                                write_options=options)
                                if key.startswith("csv")
                                else pq.ParquetWriter(path, part.schema))
            writers[key].write_table(part)
    for writer in writers.values():
        writer.close()
    return paths


def bare_read(path: Path) -> list[str]:
    """pyarrow's own streaming read of every batch (a whole-file read of 10M rows takes ~6 GB)."""
    reader = ("import pyarrow.csv as c\nfor b in c.open_csv({p!r}): pass" if path.suffix == ".csv"
              else "import pyarrow.parquet as p\nfor b in p.ParquetFile({p!r}).iter_batches(): pass")
    return [sys.executable, "-c", reader.format(p=str(path))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--dir", default=str(ROOT / "benchmarks" / "out" / "streaming"))
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--output", help="JSON results file")
    args = parser.parse_args()
    out_dir = Path(args.dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    qfile = out_dir / "bench.yaml"
    questionnaire(qfile, 25)
    results = []
    for rows in args.rows:
        start = time.perf_counter()
        paths = generate(out_dir / f"bench-{rows}", rows)
        print(f"generated {rows:,} rows in {time.perf_counter() - start:.0f} s", flush=True)
        for key, path in paths.items():
            cmd = [sys.executable, "-m", "analysis", "indices", str(path), "--questionnaire",
                   str(qfile), "--by", "agency", "--output", str(out_dir / "result.json")]
            wall, cpu, rss = run_measured(cmd)
            r_wall, r_cpu, r_rss = run_measured(bare_read(path))
            size = path.stat().st_size
            whole = key == "csv-psu" and size < streaming.STREAM_MIN_BYTES or (
                key == "csv-nopsu" and size < streaming.STREAM_MIN_BYTES_NO_PSU)
            row = {"rows": rows, "file": key, "mb": round(size / 2**20),
                   "path": "in memory" if whole else "streamed",
                   "cli_s": round(wall, 2), "cli_cpu_s": round(cpu, 2), "cli_rss_mb": round(rss),
                   "read_s": round(r_wall, 2), "read_cpu_s": round(r_cpu, 2),
                   "read_rss_mb": round(r_rss), "ratio_to_read": round(wall / r_wall, 2),
                   "cpu_ratio_to_read": round(cpu / r_cpu, 2)}
            results.append(row)
            print(json.dumps(row), flush=True)
        if not args.keep:
            for path in paths.values():
                path.unlink()
    for rows in args.rows:
        got = {r["file"]: r for r in results if r["rows"] == rows}
        for kind in ("csv", "parquet"):
            a, b = got[f"{kind}-nopsu"], got[f"{kind}-psu"]
            print(f"{rows:,} {kind}: no psu / psu = {a['cli_s'] / b['cli_s']:.2f} (time), "
                  f"{a['cli_cpu_s'] / b['cli_cpu_s']:.2f} (CPU), "
                  f"{a['cli_rss_mb'] / b['cli_rss_mb']:.2f} (memory)")
    if args.output:
        Path(args.output).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
