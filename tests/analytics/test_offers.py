"""Next best offers and look-alikes, labelled: co-purchase within an affinity group beats
popularity, nothing held is offered, rare items are never offered, a customer holding
nothing gets the popular items; look-alikes are the nearest non-seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from analytics.offers import (
    combine,
    holdings,
    lookalikes,
    next_best_offers,
    popular_offers,
    upsell_offers,
)

ITEMS = np.array(["books", "games", "music", "paint", "tools", "toys"])


def matrix(rows: list[set[str]]) -> sparse.csr_matrix:
    dense = np.array([[item in r for item in ITEMS] for r in rows], dtype=float)
    return sparse.csr_matrix(dense)


# Two affinity groups: {books, music, games} and {tools, paint}; tools is the most popular.
BASKETS = (
    [{"books", "music", "games"}] * 6
    + [{"tools", "paint"}] * 10
    + [{"tools"}] * 4
    + [{"books", "music"}, {"books"}, {"toys"}, set()]
)


def test_offers_follow_co_purchase_not_popularity() -> None:
    held = matrix(BASKETS)
    offers = next_best_offers(held, ITEMS, top=1, min_support=2)
    assert offers[len(BASKETS) - 4] == ["games"]  # holds books and music
    assert offers[len(BASKETS) - 3][0] in ("music", "games")  # holds books
    assert offers[16] == ["paint"]  # holds tools
    assert popular_offers(held, ITEMS, top=1)[len(BASKETS) - 4] == ["tools"]


def test_nothing_held_gets_popular_items_and_rare_items_are_never_offered() -> None:
    held = matrix(BASKETS)
    offers = next_best_offers(held, ITEMS, top=3, min_support=2)
    assert offers[-1] == ["tools", "paint", "books"]
    assert all("toys" not in o for o in offers)  # one buyer: below min_support


def test_purchase_counts_weigh_what_is_held() -> None:
    held = matrix([{"books", "tools"}, *BASKETS])
    often_tools = held.copy().tolil()
    often_tools[0, list(ITEMS).index("tools")] = 9
    plain = next_best_offers(held, ITEMS, top=1, min_support=2)[0]
    weighted = next_best_offers(held, ITEMS, top=1, min_support=2, counts=often_tools.tocsr())[0]
    assert plain != weighted and weighted == ["paint"]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sets(st.sampled_from(list(ITEMS))), min_size=1, max_size=30))
def test_never_offers_what_is_held(rows: list[set[str]]) -> None:
    for offer, held in zip(next_best_offers(matrix(rows), ITEMS, min_support=1), rows, strict=True):
        assert not set(offer) & held and len(offer) == len(set(offer)) <= 3


def test_holdings_are_binary_unless_counted() -> None:
    frame = pd.DataFrame(
        {
            "code": [0, 0, 1, 1],
            "category": ["books", "books", "toys", None],
            "purchase": [True, True, True, True],
            "ts": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-03"], utc=True
            ),
        }
    )
    as_of = pd.Timestamp("2024-02-01", tz="UTC")
    held, items = holdings(frame, 3, "category", as_of)
    counted, _ = holdings(frame, 3, "category", as_of, counts=True)
    assert list(items) == ["books", "toys"]
    assert held.toarray().tolist() == [[1, 0], [0, 1], [0, 0]]
    assert counted.toarray().tolist() == [[2, 0], [0, 1], [0, 0]]


def test_lookalikes_are_the_nearest_non_seeds() -> None:
    features = pd.DataFrame(
        {"frequency": [10.0, 11, 9, 10.5, 1, 2, 1.5], "basket": [200.0, 210, 190, 205, 20, 25, 22]},
        index=["s1", "s2", "s3", "near", "far1", "far2", "far3"],
    )
    got = lookalikes(features, pd.Index(["s1", "s2", "s3"]), n=2)
    assert got.index[0] == "near" and not set(got.index) & {"s1", "s2", "s3"}
    assert got.iloc[0] == pytest.approx(1.0, abs=0.05) and got.is_monotonic_decreasing
    assert lookalikes(features, pd.Index(["nobody"])).empty


LADDERS = {"broadband": ("basic", "plus", "premium"), "phone": ("prepaid", "contract")}
TIER_ITEMS = np.array(["basic", "contract", "plus", "premium", "prepaid", "router"])


def tier_matrix(rows: list[set[str]]) -> sparse.csr_matrix:
    return sparse.csr_matrix(np.array([[i in r for i in TIER_ITEMS] for r in rows], dtype=float))


@pytest.mark.parametrize(
    ("holds", "upsells", "left_out"),
    [
        ({"basic"}, ["plus"], {"premium", "basic"}),
        ({"basic", "plus"}, ["premium"], {"basic", "plus"}),  # the highest held tier counts
        ({"premium"}, [], {"basic", "plus", "premium"}),  # already at the top
        ({"plus", "prepaid"}, ["premium", "contract"], {"basic", "plus", "prepaid"}),
        ({"router"}, [], set()),  # no ladder held
    ],
)
def test_upsell_is_the_next_tier_up(
    holds: set[str], upsells: list[str], left_out: set[str]
) -> None:
    up, other = upsell_offers(tier_matrix([holds]), TIER_ITEMS, LADDERS)
    assert up == [upsells] and other == [left_out]


def test_upsells_come_first_and_cross_sells_skip_other_tiers() -> None:
    got = combine([["plus"]], [["premium", "router", "plus", "prepaid"]], 3, [{"basic", "premium"}])
    assert got == [["plus", "router", "prepaid"]]
