"""The learning-from-steward-decisions benchmark, at a size that runs in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.identity import TruthRow, crm_generator, learning
from benchmarks.identity.learning import (
    Ceilings,
    Curve,
    active_questions,
    ceilings,
    learning_curve,
    split_entities,
)

# Measured at 2,000 entities (crm and webshop, seeds 1 and 2, uncertain and active order, up
# to 300 decisions): held-out F1 moved by -0.0021 to +0.0003. Decisions do not improve the
# held-out half measurably, at any size tried (README, "Learning from steward decisions",
# and `ceilings`: with every labelling-half candidate pair answered, +0.001 at 20,000
# entities), so the assertion is "labels do not hurt", within this tolerance — not the
# improvement issue 12 asks for, which no learner over the engine's comparison cells reaches.
F1_TOLERANCE = 0.01


@pytest.fixture(scope="module")
def data() -> crm_generator.GeneratedData:
    return crm_generator.generate_data(2000, 1)


@pytest.fixture(scope="module")
def curve(data: crm_generator.GeneratedData) -> Curve:
    return learning_curve(data.records, data.truth, (0, 100), seed=1)


def test_split_is_disjoint_complete_and_deterministic(data: crm_generator.GeneratedData) -> None:
    ids = [t.entity_id for t in data.truth]
    split = split_entities(ids, 1)
    assert not split.labelling & split.held_out
    assert split.labelling | split.held_out == set(ids)
    assert abs(len(split.labelling) - len(split.held_out)) <= 1
    assert split_entities(list(reversed(ids)), 1) == split  # not the input order
    assert split_entities(ids, 2) != split


def test_steward_queue_is_labelling_half_only_most_uncertain_first(
    data: crm_generator.GeneratedData,
) -> None:
    from identity.resolve import resolve

    entity_of = {(t.source, t.source_id): t.entity_id for t in data.truth}
    split = split_entities([t.entity_id for t in data.truth], 1)
    queue = learning.steward_queue(
        resolve(data.records, build_golden=False), entity_of, split.labelling
    )
    assert queue
    for d in queue:
        assert entity_of[d.left] in split.labelling and entity_of[d.right] in split.labelling
        assert d.is_match == (entity_of[d.left] == entity_of[d.right])
    uncertainty = [abs(d.probability - 0.5) for d in queue]
    assert uncertainty == sorted(uncertainty)


def test_learning_curve_labels_do_not_hurt_held_out_accuracy(curve: Curve) -> None:
    unlabelled, labelled = curve.points
    assert unlabelled.labels == 0 and unlabelled.must_link == unlabelled.cannot_link == 0
    assert 0 < labelled.labels <= 100
    assert labelled.must_link + labelled.cannot_link == labelled.labels
    assert labelled.in_model > 0  # the decisions reached estimate(), not only the clusters
    assert curve.held_out_records < curve.records
    assert curve.held_out_true_pairs > 0
    assert 0.8 < unlabelled.f1 <= 1.0
    assert labelled.f1 >= unlabelled.f1 - F1_TOLERANCE


def test_command_line_prints_the_table_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "curve.json"
    learning.main(["--entities", "300", "--labels", "0,10", "--json", str(out)])
    printed = capsys.readouterr().out
    assert "Held-out accuracy" in printed and "held-out F1" in printed
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["points"][0]["labels"] == 0
    assert len(written["points"]) == 2
    assert written["entities"] == 300


@pytest.fixture(scope="module")
def webshop() -> tuple[list[dict[str, object]], list[TruthRow]]:
    return learning.DATASETS["webshop"](1500, 1)


def test_active_questions_are_new_labelling_half_candidate_pairs(
    webshop: tuple[list[dict[str, object]], list[TruthRow]],
) -> None:
    from identity.resolve import resolve

    records, truth = webshop
    entity_of = {(t.source, t.source_id): t.entity_id for t in truth}
    split = split_entities([t.entity_id for t in truth], 1)
    run = resolve(records, build_golden=False)
    first = active_questions(run, entity_of, split.labelling, [], 30)
    second = active_questions(run, entity_of, split.labelling, first, 30)
    assert len(first) == len(second) == 30
    asked = [frozenset((d.left, d.right)) for d in first + second]
    assert len(set(asked)) == 60, "a pair answered in the first batch is not asked again"
    blocked = run.stats["candidate_pairs"]
    candidates = {
        frozenset((run.keys[a], run.keys[b]))
        for a, b in zip(run.scored.left[:blocked], run.scored.right[:blocked], strict=True)
    }
    for d in first + second:
        assert entity_of[d.left] in split.labelling and entity_of[d.right] in split.labelling
        assert d.is_match == (entity_of[d.left] == entity_of[d.right])
        assert frozenset((d.left, d.right)) in candidates  # EM sees every answer


def test_active_learning_curve_re_estimates_after_each_batch(
    webshop: tuple[list[dict[str, object]], list[TruthRow]],
) -> None:
    records, truth = webshop
    curve = learning_curve(records, truth, (0, 25, 50), seed=1, order="active", batch=25)
    assert curve.order == "active"
    assert [p.labels for p in curve.points] == [0, 25, 50]
    unlabelled, *labelled = curve.points
    for p in labelled:
        assert p.in_model == p.labels  # active questions are all blocked candidate pairs
        assert p.f1 >= unlabelled.f1 - F1_TOLERANCE
    with pytest.raises(ValueError, match="order must be one of"):
        learning_curve(records, truth, (0,), order="random")
    with pytest.raises(ValueError, match="batch must be at least 1"):
        learning_curve(records, truth, (0,), order="active", batch=0)


def test_ceilings_bound_what_decisions_can_do_on_the_held_out_half(
    webshop: tuple[list[dict[str, object]], list[TruthRow]],
) -> None:
    """What the README's learning section rests on: the held-out half gains more from its
    own review pairs being answered than from any number of labels elsewhere, and nothing
    passes knowing every candidate pair's truth."""
    records, truth = webshop
    limits = ceilings(records, truth, seed=1)
    assert isinstance(limits, Ceilings)
    assert 0.7 < limits.unsupervised < 1.0
    assert limits.every_pair_known > limits.held_out_review_answered > limits.unsupervised
    assert limits.every_pair_known >= max(limits.cell_calibrated, limits.every_labelling_pair)
    # every labelling-half candidate pair answered: labels do not hurt the held-out half
    assert limits.every_labelling_pair >= limits.unsupervised - F1_TOLERANCE


def test_command_line_runs_the_webshop_data_set_actively_with_ceilings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "curve.json"
    learning.main(
        [
            "--dataset", "webshop", "--entities", "300", "--labels", "0,10", "--order",
            "active", "--batch", "5", "--ceilings", "--json", str(out),
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert "generated webshop" in printed and "active order" in printed
    assert "held-out F1 ceilings" in printed
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["order"] == "active" and written["entities"] == 300
    assert [p["labels"] for p in written["points"]] == [0, 10]
    assert set(written["ceilings"]) == {
        "unsupervised",
        "every_labelling_pair",
        "held_out_review_answered",
        "cell_calibrated",
        "every_pair_known",
    }
