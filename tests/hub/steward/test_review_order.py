"""The review queue's informative order: what teaches the model most first
(`QueueFilter(order="informative")`, `identity.active`), on the demo hub's real store."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from hub.steward import InvalidInput, QueueFilter, decide, list_queue
from hub.steward.review import QUEUE_ORDERS
from identity.active import PSEUDO, cells_of_weights
from tests.hub.conftest import ResolvedHub

INFORMATIVE = QueueFilter(order="informative")


def queue(hub: ResolvedHub, flt: QueueFilter | None = None) -> list[dict[str, Any]]:
    with hub.store.engine.connect() as conn:
        items, total = list_queue(conn, flt, limit=10_000)
    assert total == len(items)
    return items


def _cells(hub: ResolvedHub, items: list[dict[str, Any]]) -> list[int]:
    """Each item's cell, from the weights the store holds for its pair."""
    from hub.steward.review import _bits, candidate_row

    with hub.store.engine.connect() as conn:
        rows = [_bits(candidate_row(conn, i["id"]).weights) for i in items]
    return [int(c) for c in cells_of_weights(rows)]


def test_informative_order_holds_the_same_pairs_most_informative_first(
    hub: ResolvedHub,
) -> None:
    impact = queue(hub)
    informative = queue(hub, INFORMATIVE)
    assert informative, "the demo has uncertain pairs"
    assert sorted(i["id"] for i in informative) == sorted(i["id"] for i in impact)
    priorities = [i["priority"] for i in informative]
    assert priorities == sorted(priorities, reverse=True)
    by_id = {i["id"]: i for i in impact}
    for item in informative:  # the impact priority is kept beside the new one
        assert item["impact"] == by_id[item["id"]]["priority"]
        assert item["priority"] > 0 or item["score"] in (0.0, 1.0)
    # The first question comes from the cell holding the most open pairs' worth of doubt:
    # no cell's first pair is worth more than the queue's first.
    cells = _cells(hub, informative)
    first_of = {}
    for cell, item in zip(cells, informative, strict=True):
        first_of.setdefault(cell, item)
    assert informative[0] is first_of[cells[0]]
    # each cell's first pair is worth the expected change of the cell's match share (its
    # mean score, nothing decided yet) times the open pairs it holds
    for cell, item in first_of.items():
        scores = [i["score"] for c, i in zip(cells, informative, strict=True) if c == cell]
        q = sum(scores) / len(scores)
        expected = 2 * q * (1 - q) / (PSEUDO + 1) * len(scores)
        assert item["priority"] == pytest.approx(expected, abs=1e-4)


def test_a_cell_is_worth_less_once_a_steward_has_answered_in_it(hub: ResolvedHub) -> None:
    before = queue(hub, INFORMATIVE)
    cells = _cells(hub, before)
    shared = [c for c, n in Counter(cells).items() if n >= 2]
    assert shared, "the demo queue has two pairs of one cell"
    cell = shared[0]
    members = [i for c, i in zip(cells, before, strict=True) if c == cell]
    answered, rest = members[0], members[1:]
    with hub.store.write_transaction() as conn:
        decide(conn, hub.settings, "sam", answered["id"], "no_match")
    after = {i["id"]: i for i in queue(hub, INFORMATIVE)}
    assert answered["id"] not in after
    for item in rest:
        if item["id"] in after:  # still open (not settled by the decision's split)
            assert after[item["id"]]["priority"] < item["priority"]


def test_an_unknown_order_is_refused_naming_the_choices() -> None:
    with pytest.raises(InvalidInput, match="order 'newest' is unknown: use one of impact"):
        QueueFilter(order="newest")
    assert QUEUE_ORDERS == ("impact", "informative")
    assert QueueFilter().order == "impact"  # the default stays uncertainty x records


def test_groups_follow_the_informative_order(hub: ResolvedHub) -> None:
    from hub.steward import list_groups

    pairs = queue(hub, INFORMATIVE)
    with hub.store.engine.connect() as conn:
        groups, total = list_groups(conn, INFORMATIVE, limit=10_000)
    assert total == len(groups) > 0
    assert pairs[0]["id"] in groups[0]["pair_ids"]  # the most informative group first
    assert groups[0]["priority"] == pairs[0]["priority"]
    priorities = [g["priority"] for g in groups]
    assert priorities == sorted(priorities, reverse=True)
