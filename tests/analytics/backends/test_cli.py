"""`crmhub analyse --engine spark`: the batch contract on Spark writes the local files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.analytics.generator import generate, write_jsonl


def analyse(tmp_path: Path, out: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", "analyse", "--interactions", "i.jsonl.gz",
         "--customers", "c.jsonl", "--as-of", "2024-01-01", "--out", out, *options],
        capture_output=True, text=True, check=False, cwd=tmp_path, timeout=600,
    )  # fmt: skip


def test_the_batch_contract_on_spark_writes_the_local_files(tmp_path: Path) -> None:
    data = generate(300, seed=11)
    write_jsonl(data.interactions, tmp_path / "i.jsonl.gz")
    write_jsonl(data.customers, tmp_path / "c.jsonl")
    local = analyse(tmp_path, "local")
    assert local.returncode == 0, local.stderr
    spark = analyse(tmp_path, "spark", "--engine", "spark", "--spark-master", "local[2]")
    assert spark.returncode == 0, spark.stderr
    for name in ("customers.csv", "segments.csv"):
        assert (tmp_path / "spark" / name).read_text() == (tmp_path / "local" / name).read_text()
    assert spark.stdout.split("wrote")[0] == local.stdout.split("wrote")[0]  # the same summary


def test_engine_mistakes_are_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "i.jsonl.gz").write_bytes(b"")
    (tmp_path / "c.jsonl").write_text("")
    unknown = analyse(tmp_path, "out", "--engine", "flink")
    assert unknown.returncode != 0
    assert "--engine flink: use local (in process) or spark" in unknown.stderr + unknown.stdout
    master = analyse(tmp_path, "out", "--spark-master", "local[1]")  # but the local engine
    assert master.returncode != 0
    assert "--spark-master is an option of --engine spark" in master.stderr + master.stdout
    store = subprocess.run(  # store mode on Spark is allowed: it needs a hub.yaml
        [sys.executable, "-m", "hub", "analyse", "--engine", "spark"],
        capture_output=True, text=True, check=False, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert store.returncode != 0
    assert "hub.yaml: not found" in store.stderr + store.stdout
