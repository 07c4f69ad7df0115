"""Writes campaign.csv and campaign_population.csv: a drawn campaign sample with non-response.

Run from the repository root:  PYTHONPATH=. .venv/bin/python tests/analysis/results/make_campaign.py
A frame of 580 dossiers in three strata (agencies S1, S2, S3) and two post-strata (procedure
groups G1, G2) is drawn by analysis.sampling.draw_sample (seed 20261206); about 60 % answer;
weights are 1/π adjusted for non-response within strata. reference_campaign.R reads the files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.sampling import design_weights, draw_sample

HERE = Path(__file__).parent
POPULATION = np.array([400, 150, 30])
SIZES = np.array([60, 40, 20])


def main() -> None:
    rng = np.random.Generator(np.random.PCG64(20261206))
    stratum = np.repeat(np.arange(3), POPULATION)
    group = np.where(rng.random(len(stratum)) < 0.35 + 0.2 * stratum, "G2", "G1")
    codes = np.array([f"D{i:04d}" for i in range(len(stratum))])
    draw = draw_sample(stratum, SIZES, rng, order_key=codes)
    responded = rng.random(len(draw.index)) < 0.6
    weights = design_weights(draw.probability, responded, draw.stratum)
    rows = ["dossier,stratum,N_h,prob,w,group,E1_1,E1_2,E2_1"]
    for j in np.flatnonzero(responded):
        i = draw.index[j]
        h = draw.stratum[j]
        # satisfaction differs by stratum; some answers are missing
        ratings = np.clip(np.round(rng.normal(3.2 + 0.5 * h, 1.1, 3)), 1, 5).astype(int)
        cells = ["" if rng.random() < 0.1 else str(r) for r in ratings]
        rows.append(f"{codes[i]},S{h + 1},{POPULATION[h]},{float(draw.probability[j])!r},"
                    f"{float(weights.adjusted[j])!r},{group[i]},{','.join(cells)}")
    (HERE / "campaign.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    counts = {g: int((group == g).sum()) for g in ("G1", "G2")}
    (HERE / "campaign_population.csv").write_text(
        "group,total\n" + "".join(f"{g},{n}\n" for g, n in counts.items()), encoding="utf-8")


if __name__ == "__main__":
    main()
