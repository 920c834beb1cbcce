"""Active learning: which pair a steward is asked next (`identity.active`)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.active import PSEUDO, cells, cells_of_weights, informative_order, select

NAN = np.nan


def test_cells_group_by_level_and_term_frequency_band() -> None:
    weights = np.array(
        [
            [9.9, 7.1, NAN],  # same family name (common), same given name, no e-mail
            [9.5, 7.1, NAN],  # the same band: one cell with the first
            [13.2, 7.1, NAN],  # same *rare* family name: another cell
            [9.9, 7.1, -4.2],  # and a different e-mail: another cell
            [9.9, NAN, NAN],  # given name missing: another cell
        ]
    )
    cell = cells(weights)
    assert cell[0] == cell[1]
    assert len({int(cell[0]), int(cell[2]), int(cell[3]), int(cell[4])}) == 4


def test_cells_missing_differs_from_any_weight() -> None:
    # a missing comparison must not share a band with a weight of 0 (or any other)
    cell = cells(np.array([[0.0, 1.0], [NAN, 1.0], [-0.5, 1.0]]))
    assert cell[0] != cell[1] and cell[1] != cell[2]


def test_cells_of_weights_reads_the_review_queue_form() -> None:
    rows = [
        {"family_name": 9.9, "given_name": 7.1},
        {"given_name": 7.0, "family_name": 9.0},  # same bands, other key order
        {"family_name": 9.9, "given_name": 7.1, "email": -4.2},
    ]
    cell = cells_of_weights(rows)
    assert cell[0] == cell[1] != cell[2]
    assert cells_of_weights([]).size == 0


@pytest.mark.parametrize(
    ("weights", "band", "message"),
    [(np.zeros(3), 2.0, "shape"), (np.zeros((2, 2)), 0.0, "band_bits")],
)
def test_cells_reject_bad_input(weights: np.ndarray, band: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cells(weights, band_bits=band)


def test_big_uncertain_cell_is_asked_before_a_lone_uncertain_pair() -> None:
    # cell 0: 100 pairs the model puts at 0.6; cell 1: one pair at exactly 0.5;
    # cell 2: 100 pairs the model is sure of (0.99)
    probability = np.r_[np.full(100, 0.6), 0.5, np.full(100, 0.99)]
    cell = np.r_[np.zeros(100, dtype=np.int64), 1, np.full(100, 2)]
    order, value = informative_order(probability, cell)
    assert cell[order[0]] == 0
    assert value[0] > value[list(order).index(100)]  # the lone pair is worth less
    assert (value[:-1] >= value[1:]).all()  # most informative first
    # the sure cell's first pair is worth less than cell 0's first pair
    first_sure = next(k for k, i in enumerate(order) if cell[i] == 2)
    assert value[first_sure] < value[0]


def test_batch_spreads_over_cells_instead_of_asking_one_pattern_again() -> None:
    probability = np.r_[np.full(50, 0.5), np.full(50, 0.5)]
    cell = np.r_[np.zeros(50, dtype=np.int64), np.ones(50, dtype=np.int64)]
    picks = select(probability, cell, 4)
    assert sorted(int(cell[i]) for i in picks) == [0, 0, 1, 1]


def test_answers_are_not_asked_again_and_make_their_cell_worth_less() -> None:
    probability = np.full(20, 0.5)
    cell = np.r_[np.zeros(10, dtype=np.int64), np.ones(10, dtype=np.int64)]
    answers = np.full(20, NAN)
    answers[:5] = [1, 1, 0, 1, 1]  # five answers already in cell 0
    order, _ = informative_order(probability, cell, answers)
    assert set(order.tolist()).isdisjoint(range(5))
    assert cell[order[0]] == 1  # the unasked cell first
    # answers that agree with each other make the cell surer: worth less than uncertain
    all_yes = answers.copy()
    all_yes[:5] = 1.0
    _, v_mixed = informative_order(probability, cell, answers, eligible=cell == 0)
    _, v_sure = informative_order(probability, cell, all_yes, eligible=cell == 0)
    assert v_sure[0] < v_mixed[0]


def test_value_is_the_expected_change_of_the_cell_belief_times_its_pairs() -> None:
    probability = np.full(10, 0.3)
    cell = np.zeros(10, dtype=np.int64)
    _, value = informative_order(probability, cell)
    q = 0.3
    assert value[0] == pytest.approx(2 * q * (1 - q) / (PSEUDO + 1) * 10)
    assert value[1] == pytest.approx(2 * q * (1 - q) / (PSEUDO + 2) * 10)


def test_eligible_limits_the_questions_but_every_pair_counts_for_its_cell() -> None:
    probability = np.full(6, 0.5)
    cell = np.array([0, 0, 0, 0, 1, 1])
    eligible = np.array([True, False, False, False, True, True])
    order, _ = informative_order(probability, cell, eligible=eligible)
    assert set(order.tolist()) == {0, 4, 5}
    assert order[0] == 0  # one askable pair, but it speaks for four


def test_within_a_cell_the_least_sure_pair_goes_first() -> None:
    probability = np.array([0.9, 0.55, 0.7])
    order, _ = informative_order(probability, np.zeros(3, dtype=np.int64))
    assert order.tolist() == [1, 2, 0]


@pytest.mark.parametrize(
    ("probability", "cell", "answers", "message"),
    [
        (np.zeros(3), np.zeros(2, dtype=np.int64), None, "3 probabilities for 2 cells"),
        (np.zeros(2), np.zeros(2, dtype=np.int64), np.zeros(3), "3 answers for 2 pairs"),
    ],
)
def test_mismatched_inputs_say_what_to_pass(
    probability: np.ndarray, cell: np.ndarray, answers: np.ndarray | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        informative_order(probability, cell, answers)


def test_negative_count_is_refused_and_empty_input_asks_nothing() -> None:
    with pytest.raises(ValueError, match="count must be non-negative"):
        select(np.zeros(1), np.zeros(1, dtype=np.int64), -1)
    assert select(np.zeros(0), np.zeros(0, dtype=np.int64), 5) == []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.0, 1.0), st.integers(0, 4)),
        min_size=1,
        max_size=40,
    ),
)
def test_order_does_not_depend_on_input_order(pairs: list[tuple[float, int]]) -> None:
    probability = np.array([p for p, _ in pairs])
    cell = np.array([c for _, c in pairs], dtype=np.int64)
    order, value = informative_order(probability, cell)
    assert sorted(order.tolist()) == list(range(len(pairs)))
    perm = np.random.default_rng(len(pairs)).permutation(len(pairs))
    order2, value2 = informative_order(probability[perm], cell[perm])
    # the same values in the same order (pairs tied on everything may swap)
    np.testing.assert_allclose(value, value2, atol=1e-12)  # the order's rounding
    doubt = np.abs(probability - 0.5)
    np.testing.assert_allclose(doubt[order], doubt[perm][order2], atol=1e-12)
