"""The name search of the index works on distinct spellings (postings, shared-word counts and
scores per spelling, expanded to names only where they score): its hits must be exactly
those of scoring every candidate name with process.extract (the reference below), in the
same order, capped or not, and it must score exactly the candidates' spellings."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from hub.steward import search_index
from hub.steward.search_bound import query_words
from hub.steward.search_index import SearchIndex
from identity.folding import fold_words
from tests.hub.conftest import ResolvedHub

QUERIES = [
    "Anna Kovács",
    "kovacs anna",
    "Anna Kovasc",
    "anna",
    "a",
    "wojc",
    "Pista Nagy",
    "lukasz nowak",
    "nagy nagy istvan",
    "Kft",
    "no such person",
]


def reference_candidates(index: SearchIndex, folded: str, cap: int) -> Any:
    """Positions of the names sharing most query words (through each word's vocabulary
    matches), counted name by name from the names' own words — not from the index's
    postings — and past `cap` the most shared first, by position within a count."""
    per_word = [set(index._vocabulary_for(word)) for word in dict.fromkeys(folded.split())]
    shared = np.array(
        [sum(bool(tokens & set(name.split())) for tokens in per_word) for name in index.names]
    )
    names = np.flatnonzero(shared)
    if len(names) > cap:
        names = names[np.argsort(-shared[names], kind="stable")[:cap]]
    return names


def reference_hits(index: SearchIndex, folded: str, cap: int, limit: int) -> list[Any]:
    picked = reference_candidates(index, folded, cap)
    choices = [index.names[i] for i in picked]
    found = process.extract(folded, choices, scorer=fuzz.WRatio, limit=limit, score_cutoff=75)
    return [
        (
            index.golden_ids[index.name_owner[int(picked[i])]],
            float(score),
            f"name: {index.names[int(picked[i])]}",
        )
        for _, score, i in found
    ]


@pytest.mark.parametrize("cap", [3, 20, search_index.MAX_CANDIDATES])
@pytest.mark.parametrize("rank_cap", [1, 1001])
def test_name_hits_equal_scoring_every_candidate(
    sqlite_hub: ResolvedHub, monkeypatch: pytest.MonkeyPatch, cap: int, rank_cap: int
) -> None:
    monkeypatch.setattr(search_index, "PRUNE_FROM", 0)  # the small store's queries pruned too
    with sqlite_hub.store.engine.connect() as conn:
        index = SearchIndex(conn)
    assert len(index.distinct_names) < len(index.names), "golden and source names repeat"
    monkeypatch.setattr(search_index, "MAX_CANDIDATES", cap)
    matched = 0
    for query in QUERIES:
        folded = fold_words(query)
        owners, scores, positions = index._names(folded, rank_cap)
        hits = [
            (index.golden_ids[owner], score, f"name: {index.names[at]}")
            for owner, score, at in zip(
                owners.tolist(), scores.tolist(), positions.tolist(), strict=True
            )
        ]
        # each golden record once, where its first (best-scoring) name stands
        expected_hits = reference_hits(index, folded, cap, max(rank_cap * 5, 100))
        firsts = list({gid: (gid, s, m) for gid, s, m in reversed(expected_hits)}.values())
        assert hits == sorted(firsts, key=expected_hits.index), query
        spellings = index.candidates(folded)[0]
        expected = reference_candidates(index, folded, cap)
        assert sorted(spellings.tolist()) == sorted({index.name_key[i] for i in expected}), query
        matched += bool(hits)
    assert matched >= len(QUERIES) // 2, "the table exercises real matches"


@pytest.mark.parametrize("rank_cap", [1, 5, 1001])
def test_name_ranking_equals_best_hit_per_record_sorted(
    sqlite_hub: ResolvedHub, rank_cap: int
) -> None:
    """rank() ranks a name query's hits in NumPy: it must equal keeping each golden record's
    best hit (the first among equals) and sorting by score descending, then golden id."""
    with sqlite_hub.store.engine.connect() as conn:
        index = SearchIndex(conn)
    found = 0
    for query in QUERIES:
        folded = fold_words(query)
        limit = max(rank_cap * 5, 100)
        best: dict[str, tuple[float, str]] = {}
        for gid, score, matched in reference_hits(
            index, folded, search_index.MAX_CANDIDATES, limit
        ):
            if score > best.get(gid, (-1.0, ""))[0]:
                best[gid] = (score, matched)
        expected = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:rank_cap]
        ranked = index.rank(query, cap=rank_cap)
        assert ranked == [(gid, score, matched) for gid, (score, matched) in expected], query
        found += len(ranked)
    assert found, "the table exercises real matches"


def _misspelt(draw: st.DrawFn, name: str) -> str:
    """A name as a steward might type it: words swapped or dropped, a letter mistyped,
    transposed or dropped, sometimes a word added."""
    words = draw(st.permutations(name.split()))
    words = words[: draw(st.integers(1, len(words)))]
    if draw(st.booleans()):
        words.append(draw(st.sampled_from(["anna", "kft", "nagy", "x", "smithson"])))
    text = " ".join(words)
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, max(0, len(text) - 2)))
        edit = draw(st.sampled_from(["swap", "drop", "typo"]))
        if edit == "swap":
            text = text[:at] + text[at + 1 : at + 2] + text[at : at + 1] + text[at + 2 :]
        elif edit == "drop":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + draw(st.sampled_from("aeiouszck")) + text[at + 1 :]
    return text


def test_pruned_name_search_equals_scoring_every_candidate(
    sqlite_hub: ResolvedHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the WRatio bound (search_index.PRUNE) a name query gives exactly the hits —
    golden ids, order, scores, matched names — of scoring every candidate spelling."""
    monkeypatch.setattr(search_index, "PRUNE_FROM", 0)  # the small store's queries pruned too
    with sqlite_hub.store.engine.connect() as conn:
        index = SearchIndex(conn)
    assert index.spelling_counts is not None
    monkeypatch.setattr(search_index, "PRUNE", True)

    def both(query: str, cap: int) -> tuple[Any, Any]:
        search_index.PRUNE = False
        try:
            every = index.rank(query, cap=cap)
        finally:
            search_index.PRUNE = True
        return every, index.rank(query, cap=cap)

    @settings(max_examples=150, deadline=None)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        query = _misspelt(data.draw, data.draw(st.sampled_from(index.distinct_names)))
        for cap in (1, 21, 1001):
            every, pruned = both(query, cap)
            assert pruned == every, (query, cap)

    check()
    dropped = 0
    for query in QUERIES:
        folded = fold_words(query)
        spellings = index.candidates(folded)[0]
        patterns = index._holds(query_words(folded), spellings)
        bound = index.spelling_counts.bound(folded, spellings, patterns)
        dropped += 0 if bound is None else int((bound < 75).sum())
        every, pruned = both(query, 1001)
        assert pruned == every, query
    assert dropped, "the table's queries exercise the pruning"


def test_rank_is_by_score_then_golden_id(sqlite_hub: ResolvedHub) -> None:
    """The order search._rank relies on when no overlay layer adds a hit (no re-sort)."""
    with sqlite_hub.store.engine.connect() as conn:
        index = SearchIndex(conn)
    some_id = next(iter(index.ids))
    for query in [*QUERIES, some_id, "a", "anna@example.com"]:
        ranked = index.rank(query, cap=1001)
        assert ranked == sorted(ranked, key=lambda r: (-r[1], r[0])), query


def test_a_small_index_builds_no_counts(sqlite_hub: ResolvedHub) -> None:
    """Below PRUNE_FROM spellings (the demo, an overlay layer) scoring them all is cheaper."""
    with sqlite_hub.store.engine.connect() as conn:
        index = SearchIndex(conn)
    assert len(index.distinct_names) < search_index.PRUNE_FROM
    assert index.spelling_counts is None
    assert index.rank("Anna Kovacs", cap=5), "and names are still found"


def test_fuzzy_scoring_runs_one_at_a_time_and_exact_lookups_never_wait(
    sqlite_hub: ResolvedHub,
) -> None:
    """While one query's fuzzy scoring holds the gate, a phone lookup answers at once and a
    name query waits for the gate (and then gives the same hits as an ungated one)."""
    with sqlite_hub.store.engine.connect() as conn:
        index = SearchIndex(conn)
    phone = next(iter(index.phones))
    expected = index.rank("Anna Kovasc", cap=20)
    results: dict[str, Any] = {}

    def query(label: str, text: str) -> threading.Thread:
        thread = threading.Thread(target=lambda: results.update({label: index.rank(text, cap=20)}))
        thread.start()
        return thread

    with search_index.FUZZY_GATE:
        query("phone", phone).join(timeout=10)
        assert results.get("phone"), "a phone lookup does not wait for the gate"
        waiting = query("name", "Anna Kovasc")
        waiting.join(timeout=0.3)
        assert waiting.is_alive() and "name" not in results, "fuzzy scoring waits for it"
    waiting.join(timeout=10)
    assert results["name"] == expected
