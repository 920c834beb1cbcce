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
    touching_pairs,
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


def test_pairs_from_the_touching_rows_blocks_are_those_touching_them(
    records: list[dict[str, Any]],
) -> None:
    frame, _ = standardised_frame(records, max_shared=25)
    index = _index(frame, identifying_hashes(standardise(records)))
    usable = (index.block_sizes(index.keys) <= 200) & index.rules_used(200)[None, :]
    touching = np.zeros(len(frame), dtype=bool)
    touching[np.random.default_rng(3).choice(len(frame), 60, replace=False)] = True
    expected = local_pairs(index.keys, usable, touching)
    found = touching_pairs(index.keys, usable, touching)
    assert expected[0].size > 20
    assert np.array_equal(found[0], expected[0]) and np.array_equal(found[1], expected[1])


def _brute_counts(column: np.ndarray) -> dict[int, int]:
    values, counts = np.unique(column[column != 0], return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


def test_crossings_are_found_from_the_changed_rows_alone(records: list[dict[str, Any]]) -> None:
    frame = standardise(records)
    ident = identifying_hashes(frame)
    keys = key_hashes(standardised_frame(records, max_shared=25)[0], DEFAULT_RULES)
    before = KeyIndex.build(np.arange(len(frame)), keys, ident)
    # 30 records take the e-mail of record 100 (it becomes shared by > 25), the shared
    # mailbox's holders 0..39 drop to 20 (no longer shared), 5 records are deleted
    changed = np.arange(200, 230)
    new_ident = ident[changed].copy()
    new_ident[:, 0] = ident[100, 0]
    new_keys = keys[changed].copy()
    new_keys[:, 0] = keys[100, 0]  # the e-mail rule's key follows the e-mail
    gone = np.arange(0, 20)
    after = before.replaced(gone, changed, new_keys, new_ident)
    rows_left = before.rows(np.concatenate([gone, changed]))
    crossed = after.shared_crossed(before.ident[rows_left], new_ident, 25)
    old, new = _brute_counts(before.ident[:, 0]), _brute_counts(after.ident[:, 0])
    flipped = {v for v in set(old) | set(new) if (old.get(v, 0) > 25) != (new.get(v, 0) > 25)}
    assert flipped == {int(ident[100, 0]), int(ident[0, 0])}
    assert set(after.ident[crossed, 0].tolist()) == flipped
    regrouped, used_before = after.blocks_crossed(before.keys[rows_left], new_keys, 25)
    old_b, new_b = _brute_counts(before.keys[:, 0]), _brute_counts(after.keys[:, 0])
    grown = {v for v in set(old_b) | set(new_b) if (old_b.get(v, 0) > 25) != (new_b.get(v, 0) > 25)}
    assert grown and grown <= set(after.keys[regrouped, 0].tolist())
    assert np.array_equal(used_before, before.rules_used(25))


def _across_rules() -> list[int]:
    return [r for r, rule in enumerate(DEFAULT_RULES) if rule.across is not None]


def test_pair_estimates_are_blockings_pairs_per_rule(records: list[dict[str, Any]]) -> None:
    frame, _ = standardised_frame(records, max_shared=25)
    _, _, report = candidate_pairs(frame, DEFAULT_RULES, max_block=25)
    index = _index(frame, identifying_hashes(standardise(records)))
    expected = [report.pairs_per_rule.get(rule.name, 0) for rule in DEFAULT_RULES]
    assert index.pair_estimates(25).tolist() == expected
    # the e-mail-spells rules pair a mailbox with a name, never two names: data to check with
    assert all(expected[r] > 0 for r in _across_rules())


def test_pairs_before_a_change_are_counted_for_across_rules(
    records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`blocks_crossed` tells whether each rule was under the pair limit before a change;
    for an across rule (pairs = one side x the other) from the changed rows alone."""
    import identity.incremental as incremental

    frame, _ = standardised_frame(records, max_shared=25)
    ident = identifying_hashes(standardise(records))
    keys = key_hashes(frame, DEFAULT_RULES)
    after = KeyIndex.build(np.arange(len(frame)), keys, ident)
    for r in _across_rules():
        # the change: records in three of the rule's pairs, and ten others, got their keys
        left, _, _ = candidate_pairs(frame, (DEFAULT_RULES[r],), max_block=25)
        came = np.unique(np.concatenate([left[:3], np.arange(10)]))
        before_keys = keys.copy()
        before_keys[came] = 0
        earlier = KeyIndex.build(np.arange(len(frame)), before_keys, ident).pair_estimates(25)
        assert earlier[r] < after.pair_estimates(25)[r]  # the change added pairs to count
        for limit, used in ((int(earlier[r]), True), (int(earlier[r]) - 1, False)):
            monkeypatch.setattr(incremental, "_MAX_PAIRS_PER_RULE", limit)
            _, used_before = after.blocks_crossed(before_keys[came], keys[came], 25)
            assert bool(used_before[r]) is used
