"""The batch contract end to end: `crmhub analyse` in a subprocess on a small generated file."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from benchmarks.analytics.generator import generate, write_jsonl

HEADER = (
    "customer_id,recency_days,frequency,monetary,clv_12m,p_alive,churn_risk,churn_reasons,"
    "stage,customer_type,next_best_offers"
)


def test_crmhub_analyse_writes_the_contract(tmp_path: Path) -> None:
    data = generate(400, seed=5)
    write_jsonl(data.interactions, tmp_path / "i.jsonl.gz")
    with (tmp_path / "i.jsonl.gz").open("ab") as fh:
        import gzip

        fh.write(gzip.compress(b"not json\n"))
    done = subprocess.run(
        [sys.executable, "-m", "hub", "analyse", "--interactions", str(tmp_path / "i.jsonl.gz"),
         "--as-of", "2024-01-01", "--out", str(tmp_path / "out"), "--horizon-days", "60"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "analysed" in done.stdout and "1 unreadable lines" in done.stdout
    lines = (tmp_path / "out" / "customers.csv").read_text().splitlines()
    assert lines[0] == HEADER
    rows = list(csv.DictReader(lines))
    assert len({r["customer_id"] for r in rows}) == len(rows) > 300
    buyers = [r for r in rows if int(r["frequency"]) >= 1]
    assert all(r["clv_12m"] not in ("", "nan") and r["p_alive"] != "" for r in buyers)
    segments = (tmp_path / "out" / "segments.csv").read_text().splitlines()
    assert (
        segments[0] == "segmentation,segment,customers,customers_share,revenue_share,profit_share"
    )


def test_bad_as_of_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "i.jsonl").write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "hub", "analyse", "--interactions", str(tmp_path / "i.jsonl"),
         "--as-of", "yesterday", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "YYYY-MM-DD" in done.stderr


def test_the_fast_reader_and_the_line_by_line_reader_agree(tmp_path: Path) -> None:
    import gzip

    from hub.analyse.batch import read_interactions

    data = generate(60, seed=2)
    good = tmp_path / "good.jsonl.gz"
    write_jsonl(data.interactions, good)
    bad = tmp_path / "bad.jsonl"
    body = gzip.decompress(good.read_bytes())
    bad.write_bytes(body + b'[1, 2]\n{"broken\n\n')
    fast, slow = read_interactions(good), read_interactions(bad)
    assert not fast.bad and [(b.line, b.reason[:8]) for b in slow.bad] == [
        (len(data.interactions) + 1, "not a JS"),
        (len(data.interactions) + 2, "not vali"),
    ]
    assert str(fast.frame["amount"].dtype) == "float64"  # typed, through pyarrow
    for column in ("customer_id", "type", "occurred_at", "amount", "category", "days_late"):
        a = fast.frame[column].astype(object).where(fast.frame[column].notna(), None)
        b = slow.frame[column].astype(object).where(slow.frame[column].notna(), None)
        assert a.tolist() == b.tolist(), column


def test_analysing_prepared_interactions_gives_the_same_results() -> None:
    import pandas as pd

    from analytics import analyse, prepare_input

    data = generate(300, seed=7)
    direct = analyse(data.interactions, "2024-01-01", customers=data.customers)
    prepared = prepare_input(data.interactions, "2024-01-01", customers=data.customers)
    staged = analyse(prepared, "2024-01-01", customers=data.customers)
    pd.testing.assert_frame_equal(direct.customers, staged.customers)
    pd.testing.assert_frame_equal(direct.segments, staged.segments)
    assert direct.rejected == staged.rejected
