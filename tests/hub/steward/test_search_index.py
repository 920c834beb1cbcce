"""The name search of the index scores each distinct spelling once and counts shared words
without sorting: its hits must be exactly those of scoring every candidate name with
process.extract (the reference below), in the same order, capped or not."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from rapidfuzz import fuzz, process

from hub.steward import search_index
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
    per_word = []
    for word in dict.fromkeys(folded.split()):
        lists = [
            np.frombuffer(index._postings[t], dtype=np.int32) for t in index._vocabulary_for(word)
        ]
        if lists:
            per_word.append(np.unique(np.concatenate(lists)))
    if not per_word:
        return np.empty(0, dtype=np.int32)
    names, shared = np.unique(np.concatenate(per_word), return_counts=True)
    if len(names) > cap:
        names = names[np.argsort(-shared, kind="stable")[:cap]]
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
    with sqlite_hub.store.engine.connect() as conn:
        index = SearchIndex(conn)
    assert len(index.distinct_names) < len(index.names), "golden and source names repeat"
    monkeypatch.setattr(search_index, "MAX_CANDIDATES", cap)
    matched = 0
    for query in QUERIES:
        folded = fold_words(query)
        hits: list[Any] = []
        index._names(folded, rank_cap, lambda *hit: hits.append(hit))
        assert hits == reference_hits(index, folded, cap, max(rank_cap * 5, 100)), query
        assert len(index.candidates(folded)) <= cap
        matched += bool(hits)
    assert matched >= len(QUERIES) // 2, "the table exercises real matches"
