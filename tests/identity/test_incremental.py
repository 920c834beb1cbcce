"""The incremental engine's parts agree with the full run's: keys, blocks, blanking, the
stored model's scores, and re-clustering an affected set."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from benchmarks.identity.crm_generator import generate
from identity.backends.local import standardised_frame
from identity.blocking import DEFAULT_RULES, candidate_pairs
from identity.incremental import (
    KeyIndex,
    identifying_hashes,
    key_hashes,
    local_pairs,
    recluster,
    rescore,
    standardised_part,
)
from identity.model import ModelSpec, Settings
from identity.model_io import ModelMismatch, fingerprint, model_from_bytes, model_to_bytes
from identity.resolve import resolve
from identity.standardise import standardise


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    generated, _ = generate(400, 11)
    shared = "family@example.com"  # one mailbox on more records than max_shared allows
    for r in generated[:40]:
        r["email"] = shared
    return generated


def _index(frame: Any, ident: np.ndarray) -> KeyIndex:
    return KeyIndex.build(np.arange(len(frame)), key_hashes(frame, DEFAULT_RULES), ident)


def test_local_pairs_over_every_record_are_blockings_pairs(records: list[dict[str, Any]]) -> None:
    frame, _ = standardised_frame(records, max_shared=25)
    left, right, _ = candidate_pairs(frame, DEFAULT_RULES, max_block=5)
    index = _index(frame, identifying_hashes(standardise(records)))
    keys = index.keys
    usable = (index.block_sizes(keys) <= 5) & index.rules_used(5)[None, :]
    mine_l, mine_r = local_pairs(keys, usable)
    assert left.size > 100  # blocks above 5 records are left out, the rest kept
    assert set(zip(mine_l.tolist(), mine_r.tolist(), strict=True)) == set(
        zip(left.tolist(), right.tolist(), strict=True)
    )


def test_neighbours_are_the_records_blocking_pairs_with(records: list[dict[str, Any]]) -> None:
    frame, _ = standardised_frame(records, max_shared=25)
    left, right, _ = candidate_pairs(frame, DEFAULT_RULES, max_block=200)
    index = _index(frame, identifying_hashes(standardise(records)))
    for row in (0, 7, 100, 250):
        expected = set(right[left == row].tolist()) | set(left[right == row].tolist()) | {row}
        found = set(index.neighbours(index.keys[[row]], 200).tolist())
        if expected != {row}:
            assert found == expected
        else:  # a record alone in all its blocks finds only itself (or nothing)
            assert found <= {row}


def test_a_part_is_standardised_as_among_all_records(records: list[dict[str, Any]]) -> None:
    full, stats = standardised_frame(records, max_shared=25)
    assert stats["non_identifying_email"] == 40  # the shared mailbox is blanked
    index = _index(full, identifying_hashes(standardise(records)))
    part = [0, 1, 39, 40, 41, 300]
    frame, ident = standardised_part([records[i] for i in part], index.shared(25))
    assert frame["email"].isna().tolist()[:3] == [True, True, True]
    expected = full.iloc[part].reset_index(drop=True)
    assert frame[expected.columns].equals(expected)
    assert (ident == index.ident[part]).all()
    assert (key_hashes(frame, DEFAULT_RULES) == index.keys[part]).all()


def test_a_stored_model_scores_as_the_fitted_one(records: list[dict[str, Any]]) -> None:
    result = resolve(records)
    stored = model_from_bytes(model_to_bytes(result.model), result.model.comparisons)
    again = rescore(stored, result.frame, result.scored.left, result.scored.right)
    assert np.array_equal(again.probability, result.scored.probability)
    assert np.array_equal(again.weights, result.scored.weights)
    other = result.model.comparisons[:-1]
    with pytest.raises(ModelMismatch, match="other comparisons"):
        model_from_bytes(model_to_bytes(result.model), other)


def test_the_fingerprint_follows_what_the_stored_state_depends_on() -> None:
    base = ModelSpec.from_settings(Settings())
    assert fingerprint(base) == fingerprint(ModelSpec.from_settings(Settings()))
    assert fingerprint(base) != fingerprint(ModelSpec.from_settings(Settings(upper=0.9)))
    assert fingerprint(base) != fingerprint(ModelSpec.from_settings(Settings(max_block=50)))
    fewer = dataclasses.replace(base, comparisons=base.comparisons[:-1])
    assert fingerprint(base) != fingerprint(fewer)


def test_reclustering_every_record_gives_the_full_runs_clusters(
    records: list[dict[str, Any]],
) -> None:
    result = resolve(records)
    spec = ModelSpec.from_settings(Settings())
    index = _index(result.frame, identifying_hashes(standardise(records)))
    usable = (index.block_sizes(index.keys) <= 200) & index.rules_used(200)[None, :]
    left, right = local_pairs(index.keys, usable)
    scored = rescore(result.model, result.frame, left, right)
    clustered = recluster(
        result.frame,
        scored,
        result.model,
        spec,
        previous_group=np.full(len(records), -1, dtype=np.int64),
    )
    assert np.array_equal(clustered.clustering.labels, result.labels)
