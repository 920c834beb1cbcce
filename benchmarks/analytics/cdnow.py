"""CDNOW: the public benchmark of customer-base models (`python -m benchmarks.analytics.cdnow
--json`).

The data ship inside the `lifetimes` wheel on PyPI (`datasets/CDNOW_master.txt`, 23,570
customers, 78 weeks from 1997-01-01; `CDNOW_sample.txt`, 2,357 of them); the wheel is
fetched once with `pip download` and cached under ~/.cache/crmhub. Both files go through the
same code path as `crmhub analyse`: rows become interactions, `analytics.frame.prepare` and
`analytics.btyd.summarise` build the per-customer summary at the cut-off 1997-10-01 (39
weeks), and `BetaGeo.fit` / `GammaGamma.fit` estimate the models. The sample reproduces the
published fits; the master file is fitted on 39 weeks and predicts the 39 held out.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.btyd import BetaGeo, GammaGamma, summarise
from analytics.frame import prepare

__all__ = ["load", "run", "wheel"]

CACHE = Path.home() / ".cache" / "crmhub"
CUT = pd.Timestamp("1997-10-01", tz="UTC")
END = pd.Timestamp("1998-07-01", tz="UTC")
HOLDOUT_WEEKS = 39.0


def wheel(cache: Path = CACHE) -> Path:
    """The lifetimes 0.11.3 wheel, downloaded from PyPI once and cached."""
    found = sorted(cache.glob("[Ll]ifetimes-0.11.3-*.whl"))
    if not found:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "lifetimes==0.11.3",
             "-d", str(cache)],
            check=True,
        )  # fmt: skip
        found = sorted(cache.glob("[Ll]ifetimes-0.11.3-*.whl"))
    return found[0]


def load(name: str = "master") -> pd.DataFrame:
    """CDNOW as interactions (customer_id, type order, occurred_at, amount in USD)."""
    with zipfile.ZipFile(wheel()) as z:
        text = z.read(f"lifetimes/datasets/CDNOW_{name}.txt").decode()
    rows = [line.split() for line in text.splitlines() if line.strip()]
    if name == "master":
        rows = rows[1:]  # a header line
        ids, dates, amounts = ([r[i] for r in rows] for i in (0, 1, 3))
    else:  # sample: master id, sample id, date, CDs, dollars
        ids, dates, amounts = ([r[i] for r in rows] for i in (1, 2, 4))
    return pd.DataFrame(
        {
            "customer_id": ids,
            "type": "order",
            "occurred_at": pd.to_datetime(dates, format="%Y%m%d", utc=True),
            "amount": np.asarray(amounts, dtype=float),
            "currency": "USD",
        }
    )


def _summary(raw: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    data = prepare(raw, as_of, rates={"USD": 1.0}, now=END)
    summary = summarise(data.frame, data.n_customers, as_of)
    summary.index = pd.Index(data.customer_ids, name="customer_id")
    return summary


def run() -> dict[str, dict[str, float]]:
    """The sample's fits and the master file's hold-out figures."""
    sample = _summary(load("sample"), CUT)
    bg = BetaGeo.fit(sample["x"].to_numpy(), sample["t_x"].to_numpy(), sample["T"].to_numpy())
    gg = GammaGamma.fit(sample["x"].to_numpy(), sample["m"].to_numpy())
    master = load("master")
    calibration = _summary(master, CUT)
    full = _summary(master, END).reindex(calibration.index)
    actual = (full["n_days"] - calibration["n_days"]).to_numpy(dtype=float)
    x, t_x, T = (calibration[c].to_numpy() for c in ("x", "t_x", "T"))
    model = BetaGeo.fit(x, t_x, T)
    predicted = model.expected_purchases(HOLDOUT_WEEKS, x, t_x, T)
    naive = np.where(T > 0, x / np.maximum(T, 1e-9), 0.0) * HOLDOUT_WEEKS
    return {
        "bgnbd": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b},
        "gamma_gamma": {"p": gg.p, "q": gg.q, "v": gg.v},
        "holdout": {
            "predicted": float(predicted.sum()),
            "actual": float(actual.sum()),
            "mae": float(np.mean(np.abs(predicted - actual))),
            "naive_mae": float(np.mean(np.abs(naive - actual))),
        },
        "master_bgnbd": {"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = run()
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for group, values in figures.items():
            print(group, ", ".join(f"{k} {v:,.3f}" for k, v in values.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
