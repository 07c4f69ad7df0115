"""Generate designed.csv: a small deterministic stratified cluster sample (reference data).

Run: python tests/analysis/results/make_designed.py  (writes designed.csv and
population.csv beside this file). Features the estimators must handle:
five strata, one with a single PSU; PSUs shared by several agencies;
unequal weights; missing answers and respondents answering nothing; a
tiny agency (A06); two periods; a channel column for raking.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
CRITERIA = ["E1_1", "E1_2", "E1_3", "E2_1", "E2_2", "E3_1", "E3_2"]


def main() -> None:
    """Write designed.csv and population.csv."""
    rng = np.random.default_rng(20261122)
    psus_per_stratum = {"S1": 8, "S2": 12, "S3": 5, "S4": 2, "S5": 1}
    agencies = ["A01", "A02", "A03", "A04", "A05"]
    rows = []
    for stratum, n_psu in psus_per_stratum.items():
        for j in range(n_psu):
            size = int(rng.integers(40, 140))
            psu_w = rng.uniform(1.0, 6.0)
            own = rng.choice(agencies, size=2, replace=False)
            for _ in range(size):
                rows.append((stratum, f"P{j + 1}", rng.choice(own, p=[0.7, 0.3]), psu_w))
    frame = pd.DataFrame(rows, columns=["stratum", "psu", "agency", "psu_w"])
    tiny = frame.index[frame["stratum"] == "S2"][:5]
    frame.loc[tiny, "agency"] = "A06"
    n = len(frame)
    frame["weight"] = np.round(frame.pop("psu_w") * rng.uniform(0.5, 1.5, n), 4)
    frame.insert(0, "response_id", [f"R{i:05d}" for i in range(1, n + 1)])
    frame.insert(1, "survey", "ref-survey")
    frame["channel"] = rng.choice(["qr", "kiosk", "paper"], n, p=[0.5, 0.3, 0.2])
    frame["period"] = rng.choice(["2025", "2026"], n)
    level = {a: rng.normal(0.6, 0.5) for a in [*agencies, "A06"]}
    for k, code in enumerate(CRITERIA):
        latent = frame["agency"].map(level).to_numpy() + rng.normal(0, 1.1, n) + 0.1 * k
        rating = np.clip(np.rint(3 + latent), 1, 5).astype(int).astype(object)
        rating[rng.random(n) < 0.12] = ""
        frame[code] = rating
    silent = rng.choice(n, 40, replace=False)
    frame.loc[silent, CRITERIA] = ""
    frame.loc[frame["agency"] == "A06", "E3_2"] = ""
    frame.to_csv(HERE / "designed.csv", index=False)
    # population totals near the weighted counts (ten times, tilted) so raking converges
    wt = frame.groupby("agency")["weight"].sum() * 10
    tilt = np.array([1.2, 0.8, 1.1, 0.9, 1.0, 1.5])
    agency_total = np.rint(wt.to_numpy() * tilt).astype(int)
    population = pd.DataFrame({"agency": wt.index, "total": agency_total})
    population.to_csv(HERE / "population.csv", index=False)
    ct = frame.groupby("channel")["weight"].sum() * np.array([1.1, 0.9, 1.0])
    channel_total = np.rint(ct.to_numpy() / ct.sum() * agency_total.sum()).astype(int)
    channel_total[-1] = agency_total.sum() - channel_total[:-1].sum()
    channels = pd.DataFrame({"channel": ct.index, "total": channel_total})
    channels.to_csv(HERE / "population_channel.csv", index=False)

if __name__ == "__main__":
    main()
