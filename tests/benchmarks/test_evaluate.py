"""Pairwise scoring against hand-computed cases and brute force; the orchestrator's plumbing."""

from __future__ import annotations

import csv
import itertools
import json
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.identity import run
from benchmarks.identity.evaluate import (
    EvaluationError,
    pair_counts,
    pairwise_scores,
    scores_from_labels,
)

# Six records; truth: {a, b, c}, {d, e}, {f} → 3 + 1 = 4 true pairs.
TRUTH = {"a": "1", "b": "1", "c": "1", "d": "2", "e": "2", "f": "3"}

# case: predicted cluster per record, then (tp, fp, fn, precision, recall, f1, clusters, largest)
CASES = {
    "perfect": ("AAABBC", (4, 0, 0, 1.0, 1.0, 1.0, 3, 3)),
    "all merged": ("AAAAAA", (4, 11, 0, 4 / 15, 1.0, 2 * (4 / 15) / (4 / 15 + 1), 1, 6)),
    "all split": ("ABCDEF", (0, 0, 4, 1.0, 0.0, 0.0, 6, 1)),
    "one wrong merge": ("AAABBB", (4, 2, 0, 4 / 6, 1.0, 0.8, 2, 3)),
    "one record split off": ("AABCCD", (2, 0, 2, 1.0, 0.5, 2 / 3, 4, 2)),
    "labels are only names": ("xxxyyz", (4, 0, 0, 1.0, 1.0, 1.0, 3, 3)),
}


@pytest.mark.parametrize("predicted, expected", CASES.values(), ids=CASES.keys())
def test_labelled_cases(predicted: str, expected: tuple[float, ...]) -> None:
    s = scores_from_labels(list(predicted), list(TRUTH.values()))
    tp, fp, fn, precision, recall, f1, clusters, largest = expected
    assert (s.tp, s.fp, s.fn) == (tp, fp, fn)
    assert s.precision == pytest.approx(precision)
    assert s.recall == pytest.approx(recall)
    assert s.f1 == pytest.approx(f1)
    assert (s.predicted_clusters, s.largest_cluster, s.true_entities) == (clusters, largest, 3)
    assert s.records == 6


def _brute_force(pred: list[int], true: list[int]) -> tuple[int, int, int]:
    tp = predicted = actual = 0
    for i, j in itertools.combinations(range(len(pred)), 2):
        same_pred, same_true = pred[i] == pred[j], true[i] == true[j]
        predicted += same_pred
        actual += same_true
        tp += same_pred and same_true
    return tp, predicted, actual


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 40).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 6), min_size=n, max_size=n),
            st.lists(st.integers(0, 6), min_size=n, max_size=n),
        )
    )
)
def test_pair_counts_match_brute_force(labels: tuple[list[int], list[int]]) -> None:
    pred, true = labels
    c = pair_counts(pred, true)
    assert (c.tp, c.predicted_pairs, c.true_pairs) == _brute_force(pred, true)
    assert (c.predicted_clusters, c.true_entities) == (len(set(pred)), len(set(true)))
    assert c.largest_cluster == max(Counter(pred).values(), default=0)


def _write(path: Path, header: tuple[str, str, str], rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def truth_csv(tmp_path: Path) -> Path:
    rows = [("erp" if k in "abc" else "web", k, v) for k, v in TRUTH.items()]
    return _write(tmp_path / "truth.csv", ("source", "source_id", "entity_id"), rows)


def _crosswalk(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    return _write(tmp_path / "crosswalk.csv", ("source", "source_id", "golden_id"), rows)


def test_csv_scores_join_on_source_and_id_in_any_order(tmp_path: Path, truth_csv: Path) -> None:
    rows = [("erp" if k in "abc" else "web", k, g) for k, g in zip(TRUTH, "AAABBB", strict=True)]
    s = pairwise_scores(_crosswalk(tmp_path, rows[::-1]), truth_csv)
    assert (s.tp, s.fp, s.fn, s.predicted_clusters) == (4, 2, 0, 2)


@pytest.mark.parametrize(
    "rows, message",
    [
        ([("erp", "a", "A"), ("erp", "b", "A")], "4 of 6 records are missing"),
        (
            [("erp" if k in "abc" else "web", k, "A") for k in TRUTH] + [("web", "zz", "A")],
            "1 records are not in the truth",
        ),
        (
            [("erp" if k in "abc" else "web", k, "A") for k in TRUTH] + [("erp", "a", "B")],
            "repeat a (source, source_id)",
        ),
        ([("erp" if k in "abc" else "web", k, "") for k in TRUTH], "empty golden_id"),
    ],
    ids=["missing records", "unknown records", "repeated record", "empty golden id"],
)
def test_unscorable_crosswalks_say_why(
    tmp_path: Path, truth_csv: Path, rows: list[tuple[str, str, str]], message: str
) -> None:
    with pytest.raises(EvaluationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pairwise_scores(_crosswalk(tmp_path, rows), truth_csv)


def test_wrong_header_is_rejected(tmp_path: Path, truth_csv: Path) -> None:
    bad = _write(tmp_path / "cw.csv", ("source", "id", "cluster"), [("erp", "a", "A")])
    with pytest.raises(EvaluationError, match="header must be source,source_id,golden_id"):
        pairwise_scores(bad, truth_csv)


# --- the orchestrator, with a stand-in resolver (never a benchmark result) -----------------

STAND_IN = textwrap.dedent(
    """
    import csv, gzip, json, sys
    args = sys.argv[1:]
    if "--fail" in args:
        print("resolve: engine not ready", file=sys.stderr)
        sys.exit(2)
    assert args[0] == "resolve"
    src, out = args[args.index("--input") + 1], args[args.index("--crosswalk") + 1]
    opener = gzip.open if src.endswith(".gz") else open
    with opener(src, "rt") as f, open(out, "w", newline="") as o:
        w = csv.writer(o)
        w.writerow(["source", "source_id", "golden_id"])
        for line in f:
            r = json.loads(line)
            email = (r.get("email") or "").strip().lower()
            w.writerow([r["source"], r["source_id"], email or r["source"] + r["source_id"]])
    """
)


def _stand_in(tmp_path: Path, *extra: str) -> str:
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    return " ".join([sys.executable, str(script), *extra])


def test_run_measures_and_scores_a_resolver(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    argv = ["--dataset", "crm", "--entities", "300", "--no-splink", "--keep", str(tmp_path)]
    assert run.main([*argv, "--crmhub", _stand_in(tmp_path), "--json", str(out)]) == 0
    row, rules = json.loads(out.read_text())
    assert rules["tool"] == "rules" and 0 < rules["scores"]["f1"] <= 1  # the baseline beside it
    assert row["tool"] == "crmhub" and row["note"] == ""
    assert row["seconds"] > 0 and row["peak_mb"] > 5
    scores = row["scores"]
    assert 0 < scores["precision"] < 1 and 0 < scores["recall"] < 1  # "same email" is naive
    assert scores["records"] == row["records"] > 300


def test_failing_resolver_is_reported_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rows.json"
    argv = ["--dataset", "crm", "--entities", "50", "--no-splink", "--keep", str(tmp_path)]
    assert run.main([*argv, "--crmhub", _stand_in(tmp_path, "--fail"), "--json", str(out)]) == 0
    row, rules = json.loads(out.read_text())
    assert rules["scores"] is not None  # the baseline still runs
    assert row["scores"] is None and row["note"] == "exit code 2"
    captured = capsys.readouterr()
    assert "resolve: engine not ready" in captured.err
    assert "exit code 2" in captured.out


def test_measure_reports_each_childs_own_peak_memory() -> None:
    touch_300mb = "b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096])"
    ballast = bytearray(400 * 2**20)  # this process is big: children must not inherit that
    ballast[::4096] = b"x" * len(ballast[::4096])
    big = run.measure([sys.executable, "-c", touch_300mb], timeout=60)
    small = run.measure([sys.executable, "-c", "pass"], timeout=60)
    del ballast
    assert big.returncode == small.returncode == 0
    assert 300 < big.peak_mb < 400 and small.peak_mb < 100


def test_measure_reports_exit_code_and_output() -> None:
    m = run.measure([sys.executable, "-c", "import sys; print('out'); sys.exit('bad')"], timeout=60)
    assert (m.returncode, m.stdout.strip(), m.stderr.strip()) == (1, "out", "bad")
    missing = run.measure(["/nonexistent/crmhub", "resolve"], timeout=60)
    assert missing.returncode != 0 and "nonexistent" in missing.stderr


def test_measure_kills_at_timeout() -> None:
    m = run.measure([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert m.timed_out and m.returncode != 0 and m.seconds < 10
