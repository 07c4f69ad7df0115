"""Benchmark of ``python -m analysis rollup`` on the 63 provinces' totals files (issue 20).

Builds one province's responses (``--responses`` over 20 agencies, a stratum
per district, a PSU per agency-week, random weights, the SIPAS 2017
criteria), writes 63 provinces' signed totals files from them (each its own
unit, its weights scaled by a random factor), then times in a fresh process

    python -m analysis rollup P01.parquet … P63.parquet --by province --verify-key all.pub

and reports the wall time, peak memory, files' size and cells. Run from the
repository root:

    .venv/bin/python benchmarks/rollup_bench.py [--responses 20000]

The files go under benchmarks/out/rollup/ (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.io import read_responses  # noqa: E402
from analysis.questionnaire import load_questionnaire  # noqa: E402
from analysis.spec import IndexSpec  # noqa: E402
from analysis.totals_file import sign_totals, table_from_responses, write_totals  # noqa: E402

SURVEY = ROOT / "surveys/sipas-2017.yaml"


def _province_csv(path: Path, n: int, spec: IndexSpec, rng: np.random.Generator) -> None:
    agency = rng.integers(0, 20, size=n)
    week = rng.integers(1, 53, size=n)
    lines = ["response_id,survey,agency,stratum,psu,weight," + ",".join(spec.criteria)]
    ratings = rng.integers(1, 6, size=(n, len(spec.criteria)))
    blank = rng.random((n, len(spec.criteria))) < 0.1
    weight = np.round(rng.uniform(0.5, 8.0, size=n), 4)
    for i in range(n):
        cells = ["" if blank[i, j] else str(ratings[i, j]) for j in range(len(spec.criteria))]
        lines.append(f"R{i},{spec.code},A{agency[i]:02d},D{agency[i] // 4},A{agency[i]:02d}/W{week[i]:02d},"
                     f"{weight[i]}," + ",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    """Build the files (once per size) and time the roll-up."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--responses", type=int, default=20000, help="responses per province")
    args = parser.parse_args()
    folder = ROOT / "benchmarks/out/rollup" / str(args.responses)
    folder.mkdir(parents=True, exist_ok=True)
    questionnaire = load_questionnaire(SURVEY)
    spec = IndexSpec.from_questionnaire(questionnaire)
    rng = np.random.default_rng(20)
    if not (folder / "P63.parquet.sig").exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        csv_path = folder / "province.csv"
        _province_csv(csv_path, args.responses, spec, rng)
        table = table_from_responses(read_responses(csv_path, spec, by=["agency"]), spec)
        key = Ed25519PrivateKey.generate()
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        (folder / "all.pub").write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        for i in range(1, 64):
            factor = rng.uniform(0.5, 2.0)
            scaled = {c: (v * factor if c == "w" or c.endswith(("__ws", "__wa", "__wr")) else v)
                      for c, v in table.items()}
            data = write_totals(scaled, definition=questionnaire.definition, unit=f"P{i:02d}",
                                period_from="2026-01", period_to="2026-12")
            (folder / f"P{i:02d}.parquet").write_bytes(data)
            (folder / f"P{i:02d}.parquet.sig").write_bytes(sign_totals(data, private))
    files = sorted(str(p) for p in folder.glob("P*.parquet"))
    command = [sys.executable, "-m", "analysis", "rollup", *files, "--by", "province",
               "--verify-key", str(folder / "all.pub"), "--output", str(folder / "out.json")]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size = sum(os.path.getsize(f) for f in files) / 1e6
    import pyarrow.parquet as pq

    cells = sum(pq.read_metadata(f).num_rows for f in files)
    print(f"rollup of 63 files ({size:.1f} MB, {cells} cells, {63 * args.responses} responses): "
          f"{wall:.2f} s wall, peak {peak:.0f} MB; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
