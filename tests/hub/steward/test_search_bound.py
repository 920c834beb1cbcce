"""The WRatio bound before scoring: never below fuzz.WRatio itself (else a hit would be lost),
and scoring only what reaches the cut-off gives exactly process.cdist's scores.

Property tests draw words from a small mixed alphabet (so strings overlap and score) and
from all Unicode letters (so the alphabet's pooled column is used), with repeated words,
swapped, dropped, added and mistyped ones, and not single-spaced strings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from hub.steward.search_bound import (
    CUTOFF,
    MAX_WORDS,
    SpellingCounts,
    query_words,
    wratio_scores,
)

LETTERS = st.sampled_from("aabceeiklmnorstvyzéöłא\u0431")
WORD = st.one_of(
    st.text(LETTERS, min_size=1, max_size=9),
    st.text(st.characters(categories=["L"]), min_size=1, max_size=7),
    st.text(LETTERS, min_size=12, max_size=40),  # long words: partial ratios past 8x
)


@st.composite
def names(draw: st.DrawFn, words: st.SearchStrategy[str] = WORD) -> str:
    chosen = draw(st.lists(words, min_size=1, max_size=5))
    if draw(st.booleans()):  # a repeated word
        chosen.append(draw(st.sampled_from(chosen)))
    return " ".join(chosen)


@st.composite
def near(draw: st.DrawFn, query: str) -> str:
    """A spelling made from the query: words swapped, dropped, added, letters mistyped."""
    words = draw(st.permutations(query.split()))
    words = words[: draw(st.integers(1, len(words)))]
    words += draw(st.lists(WORD, max_size=2))
    text = " ".join(words)
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + draw(LETTERS) + text[at + 1 :]
    return " ".join(text.split()) or query


def patterns_of(query: str, spellings: list[str]) -> np.ndarray:
    """Which query words each spelling holds, from the strings themselves."""
    words = query_words(query)[:MAX_WORDS]
    return np.array(
        [sum(1 << j for j, w in enumerate(words) if w in s.split()) for s in spellings],
        dtype=np.uint8,
    )


def assert_bounded(query: str, spellings: list[str]) -> np.ndarray:
    counts = SpellingCounts(spellings)
    rows = np.arange(len(spellings))
    patterns = patterns_of(query, spellings)
    exact = np.array([fuzz.WRatio(query, s) for s in spellings])
    for cutoff in (CUTOFF, 101.0):  # 101: every term computed
        bound = counts.bound(query, rows, patterns, cutoff=cutoff)
        assert bound is not None
        low = np.flatnonzero(bound + 1e-9 < exact)
        assert not len(low), [(query, spellings[i], bound[i], exact[i]) for i in low]
    choices = np.array(spellings, dtype=object)
    pruned = wratio_scores(query, choices, counts.bound(query, rows, patterns))
    every = process.cdist(
        [query], spellings, scorer=fuzz.WRatio, score_cutoff=CUTOFF, dtype=np.float64
    )[0]
    assert pruned.tolist() == every.tolist()
    return counts.bound(query, rows, patterns, cutoff=101.0)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), query=names())
def test_the_bound_is_never_below_wratio(data: st.DataObject, query: str) -> None:
    spellings = data.draw(st.lists(st.one_of(names(), near(query)), min_size=1, max_size=30))
    assert_bounded(query, list(dict.fromkeys(spellings)))


@settings(max_examples=150, deadline=None)
@given(query=names(), spellings=st.lists(names(), min_size=1, max_size=30))
def test_the_bound_holds_with_uneven_spacing(query: str, spellings: list[str]) -> None:
    """Strings with doubled or leading spaces are never bounded (scored as they are)."""
    spaced = [f"{s} " if i % 2 else f" {s}" for i, s in enumerate(spellings)]
    counts = SpellingCounts(spaced)
    bound = counts.bound(query, np.arange(len(spaced)), patterns_of(query, spaced))
    assert bound is not None and (bound == 100).all()
    assert counts.bound(f" {query}", np.arange(len(spaced)), patterns_of(query, spaced)) is None


SPELLINGS = [
    "anna kovacs",  # identical
    "kovacs anna",  # swapped: token sort
    "anna kovacs nagy",  # the query's words and one more: token set 100
    "anna",  # one of its words, half as long: partial
    "anna maria kovacsne szabo",  # longer than 1.5x with a shared word
    "kovac",  # a typo of one word
    "piotr wisniewski",  # nothing alike
    "zsofia toth",  # nothing alike
    "annakovacs",  # no space: no shared word, ratio high
    "a",  # more than 8x shorter
    "istvan horvath gabor molnar peter",
]


@pytest.mark.parametrize(
    "query",
    ["anna kovacs", "kovacs anna", "anna anna kovacs", "anna kovasc", "anna", "x", "a b c d"],
)
def test_labelled_spellings(query: str) -> None:
    bound = assert_bounded(query, SPELLINGS)
    scores = np.array([fuzz.WRatio(query, s) for s in SPELLINGS])
    # what is pruned is far from the cut-off, and what scores is kept
    assert (bound[scores >= CUTOFF] >= CUTOFF).all()
    if query.startswith("anna k") or query == "kovacs anna":
        assert bound[SPELLINGS.index("piotr wisniewski")] < CUTOFF
        assert bound[SPELLINGS.index("zsofia toth")] < CUTOFF


def test_most_unlike_spellings_are_pruned() -> None:
    """On the demo's kind of names, the bound drops most spellings that do not score."""
    rng = np.random.default_rng(5)
    given_names = ["anna", "eva", "zsofia", "istvan", "laszlo", "piotr", "lukasz", "yael"]
    family = ["kovacs", "nagy", "szabo", "toth", "nowak", "wojcik", "cohen", "levi", "smith"]
    spellings = sorted({f"{rng.choice(given_names)} {rng.choice(family)}" for _ in range(200)})
    query = "anna kovasc"
    bound = assert_bounded(query, spellings)
    scores = process.cdist([query], spellings, scorer=fuzz.WRatio)[0]
    below = scores < CUTOFF
    assert (bound[below] < CUTOFF).mean() > 0.6, "the bound prunes most non-scoring spellings"


def test_a_query_with_more_words_than_a_pattern_holds_is_not_pruned() -> None:
    words = [f"w{i}" for i in range(MAX_WORDS + 1)]
    counts = SpellingCounts(["w1 w2", "zzz"])
    rows = np.arange(2)
    assert counts.bound(" ".join(words), rows, np.zeros(2, dtype=np.uint8)) is None


def test_records_are_sixteen_bytes_a_spelling() -> None:
    spellings = [f"name{i} family{i % 7}" for i in range(1000)]
    assert SpellingCounts(spellings).nbytes == 16 * len(spellings)


@settings(max_examples=60, deadline=None)
@given(query=names(st.text(st.sampled_from("abcdeilmnorstvz"), min_size=1, max_size=8)))
def test_pooled_characters_keep_the_bound(query: str) -> None:
    """An index of more distinct characters than columns pools the rare ones."""
    many = [chr(c) for c in range(0x3B1, 0x3C9)] + list("abcdeilmnorstvz")
    spellings = [" ".join(many[i : i + 4]) for i in range(0, len(many), 3)]
    spellings += [query, "".join(reversed(query)).strip() or "q"]
    counts = SpellingCounts(list(dict.fromkeys(" ".join(s.split()) for s in spellings)))
    assert counts.width == 28
    assert_bounded(query, list(dict.fromkeys(" ".join(s.split()) for s in spellings)))
