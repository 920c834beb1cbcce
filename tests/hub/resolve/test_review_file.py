"""The batch contract's review file: the pairs a steward should look at, one row each."""

from __future__ import annotations

import csv
from pathlib import Path

from benchmarks.identity.crm_generator import generate
from hub.resolve.batch import review_header, write_review
from identity.model import ModelSpec, Settings
from identity.resolve import run
from tests.cli import crmhub


def test_each_pair_left_for_review_is_one_sorted_row_with_its_levels(tmp_path: Path) -> None:
    records, _truth = generate(300, seed=5)
    settings = Settings()
    result = run(records, ModelSpec.from_settings(settings))
    write_review(result, tmp_path / "review.csv")
    with (tmp_path / "review.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    assert header == review_header(result.model)
    assert header[5:] == [c.name for c in result.model.comparisons]
    assert len(body) == result.stats["review_pairs"] > 0
    assert body == sorted(body, key=lambda row: row[:4])
    levels = {c.name: set(c.levels) | {""} for c in result.model.comparisons}
    for row in body:
        left, right = (row[0], row[1]), (row[2], row[3])
        assert left < right
        assert result.crosswalk[left] and result.crosswalk[right]
        assert settings.lower - 1e-4 <= float(row[4]) < settings.upper + 1e-4
        for name, label in zip(header[5:], row[5:], strict=True):
            assert label in levels[name]
        assert any(row[5:])  # every pair was compared on something


def test_review_is_a_batch_mode_option(tmp_path: Path) -> None:
    found = crmhub("resolve", "--review", "r.csv", cwd=tmp_path, inherit=True, columns=None)
    assert found.returncode != 0
    assert "--review is an option of batch mode" in found.stderr
