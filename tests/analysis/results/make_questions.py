"""Generate designed_questions.csv: designed.csv plus the questions outside the indices.

Run: python tests/analysis/results/make_questions.py  (writes designed_questions.csv
beside this file). Adds, with a fixed seed: OVERALL and E1_GEN ratings (some
missing), GENDER and AGE_GROUP (single choice, some missing), EXPECT (multi
choice as 'a;b', some missing, one option nobody chooses in agency A05) and
verified (0/1). The design (strata, PSUs, weights) is designed.csv's: five
strata, one with a single PSU, shared PSUs, unequal weights, a tiny agency.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
EXPECT = ["staff_attitude", "simpler_procedures", "processing_time", "facilities", "online_services"]
AGES = ["18-29", "30-44", "45-59", "60-plus"]


def _rating(rng, n, missing):
    values = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.05, 0.1, 0.2, 0.4, 0.25]).astype(object)
    values[rng.random(n) < missing] = ""
    return values


def main() -> None:
    """Write designed_questions.csv."""
    d = pd.read_csv(HERE / "designed.csv", dtype=str)
    rng = np.random.default_rng(20261206)
    n = len(d)
    d["OVERALL"] = _rating(rng, n, 0.03)
    d["E1_GEN"] = _rating(rng, n, 0.15)
    gender = rng.choice(["m", "f"], size=n, p=[0.45, 0.55]).astype(object)
    gender[rng.random(n) < 0.2] = ""
    d["GENDER"] = gender
    age = rng.choice(AGES, size=n, p=[0.2, 0.35, 0.3, 0.15]).astype(object)
    age[rng.random(n) < 0.25] = ""
    d["AGE_GROUP"] = age
    picks = []
    for i in range(n):
        if rng.random() < 0.4:
            picks.append("")
            continue
        chosen = [o for o, p in zip(EXPECT, [0.4, 0.35, 0.3, 0.15, 0.1], strict=True) if rng.random() < p]
        if d.loc[i, "agency"] == "A05":
            chosen = [o for o in chosen if o != "online_services"]
        picks.append(";".join(chosen) or EXPECT[1])
    d["EXPECT"] = picks
    d["verified"] = (rng.random(n) < 0.3).astype(int)
    d.to_csv(HERE / "designed_questions.csv", index=False)


if __name__ == "__main__":
    main()
