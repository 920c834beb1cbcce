"""An exact filter before WRatio: an upper bound of rapidfuzz's `fuzz.WRatio` from counts.

A name query scores thousands of candidate spellings with WRatio, and most score below the
cut-off of 75. WRatio is the largest of several ratios, and each one is at most what the two
strings' character and word counts allow, so a spelling whose bound is below the cut-off
cannot score and is not scored at all — the hits stay exactly those of scoring every one.

The bounds, for a query q and a spelling s (both folded: words joined by one space), with
M = Σ min(count in q, count in s) over the characters (spaces included), which is at least
their longest common subsequence:

- `ratio` = 200·LCS/(|q|+|s|) ≤ 200·M/(|q|+|s|); `token_sort_ratio` is the ratio of the
  sorted words, the same characters, so the same bound (with the query's distinct words
  too, in case they are deduplicated first).
- `token_set_ratio`, from the words both hold exactly (I, known from the index's postings):
  100 when one's words contain the other's; else the largest of two ratios fixed by the
  lengths of I and of each side's other words, and the ratio of those other words, bounded
  like `ratio` with s's other characters = s's minus I's.
- `partial_ratio` compares the shorter string with substrings of the longer: a substring of
  w characters shares at most min(w, M) of them, so 200·min(w, M)/(short + w) ≤
  200·M/(short + M); `partial_token_ratio` is 100 with a shared word, else partial ratios of
  the same characters (all of s's words, the query's or its distinct words).

WRatio = max(ratio, 0.95·token ratios) when the longer is under 1.5 times the shorter, else
max(ratio, PS·partial_ratio, 0.95·PS·partial_token_ratio) with PS 0.9 up to 8 times, 0.6
beyond. Spellings with a repeated word, not single-spaced, longer than 255 characters or of
more than 127 words are never bounded (always scored); nor is any spelling for a query that
is not single-spaced or has more than MAX_WORDS distinct words.

How M is counted fast: per spelling one 16-byte record (a query's ~12,000 candidates cost
one cache miss each) holding a bit per (character, t), t = 1..4, saying "at least t of this
character" — so min(count in s, count in q) is how many of the query's bits (c, 1..count in
q) it has: a popcount of the AND of two 64-bit words; a query count past 4 adds one per
extra (at most) — and the spelling's length and word count. The 26 characters most frequent
in the index get a column each; the others share one pooled count (Σ min over them is at
most the min of their sums, so the bound stays an upper bound). The property tests check
the bound against WRatio itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

__all__ = ["CUTOFF", "MAX_WORDS", "SpellingCounts", "query_words", "wratio_scores"]

CUTOFF = 75.0  # the name search's WRatio cut-off
MAX_WORDS = 8  # query words whose presence a pattern (one byte) records; more: no pruning
_LEVELS = 4  # "at least t of a character" bits per character, t = 1.._LEVELS
_COLUMNS = 28  # space, the 26 most frequent other characters, and one pooled column
# the record: 112 bits of (character, level), then in the second word's top 16 bits
_LENGTH_AT, _WORDS_AT, _BOUNDED_AT = 48, 56, 63  # in the record's second 64-bit word
_CHUNK = 65_536  # spellings counted at a time while building (bounded scratch memory)
_SLACK = 1e-6  # floating point: drop only what is below the cut-off by more than this

_Rows = np.ndarray[Any, np.dtype[np.intp]]
_Floats = np.ndarray[Any, np.dtype[np.float64]]
_Ints = np.ndarray[Any, np.dtype[np.int64]]
_Masks = np.ndarray[Any, np.dtype[np.uint64]]
_Patterns = np.ndarray[Any, np.dtype[np.uint8]]


def query_words(query: str) -> list[str]:
    """The query's distinct words in order: bit j of a pattern in SpellingCounts.bound."""
    return list(dict.fromkeys(query.split()))


def _single_spaced(text: str) -> bool:
    return text == " ".join(text.split())


def _codepoints(text: str) -> np.ndarray[Any, np.dtype[np.uint32]]:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


class SpellingCounts:
    """Per spelling one 16-byte record: which characters it has at least 1..4 times (a bit
    each), its length, its word count and whether it may be bounded at all — one record so
    that a query's few thousand candidates cost one cache miss each. Built once per index."""

    def __init__(self, spellings: Sequence[str]) -> None:
        frequency: dict[int, int] = {}
        for start in range(0, len(spellings), _CHUNK):
            text = "".join(spellings[start : start + _CHUNK])
            codes, times = np.unique(_codepoints(text), return_counts=True)
            for code, n in zip(codes.tolist(), times.tolist(), strict=True):
                frequency[code] = frequency.get(code, 0) + n
        frequency.pop(ord(" "), None)
        common = sorted(frequency, key=lambda c: (-frequency[c], c))[: _COLUMNS - 2]
        self.alphabet = [" ", *map(chr, common)]  # column len(alphabet) pools the others
        self.width = len(self.alphabet) + 1
        self._codes = np.array(sorted(map(ord, self.alphabet)), dtype=np.uint32)
        self._column_of = np.array(
            [self.alphabet.index(chr(c)) for c in self._codes.tolist()], dtype=np.intp
        )
        n = len(spellings)
        lengths = np.fromiter(map(len, spellings), dtype=np.int64, count=n)
        words = np.fromiter((s.count(" ") + 1 for s in spellings), dtype=np.int64, count=n)
        bounded = np.fromiter(
            (_single_spaced(s) and len(set(s.split())) == s.count(" ") + 1 for s in spellings),
            dtype=np.bool_,
            count=n,
        )
        bounded &= (lengths < 256) & (words < 128)  # what the record's fields hold
        high = np.where(bounded, lengths, 0).astype(np.uint64) << np.uint64(_LENGTH_AT)
        high |= np.where(bounded, words, 0).astype(np.uint64) << np.uint64(_WORDS_AT)
        high |= bounded.astype(np.uint64) << np.uint64(_BOUNDED_AT)
        low = np.zeros(n, dtype=np.uint64)
        for start in range(0, n, _CHUNK):
            chunk = spellings[start : start + _CHUNK]
            size = len(chunk)
            columns = self._columns(_codepoints("".join(chunk)))
            rows = np.repeat(np.arange(size), lengths[start : start + size])
            block = np.bincount(rows * self.width + columns, minlength=size * self.width)
            block = block.reshape(size, self.width)
            for column in range(self.width):
                for level in range(1, _LEVELS + 1):
                    bit = column * _LEVELS + level - 1
                    has = (block[:, column] >= level).astype(np.uint64) << np.uint64(bit % 64)
                    (low if bit < 64 else high)[start : start + size] |= has
        # complex128 is a 16-byte item NumPy gathers in one copy (a (n, 2) array row by row
        # or a structured dtype is several times slower to fancy-index)
        self.records = np.empty(n, dtype=np.complex128)
        pair = self.records.view(np.uint64).reshape(n, 2)
        pair[:, 0], pair[:, 1] = low, high

    @property
    def nbytes(self) -> int:
        return int(self.records.nbytes)

    @property
    def bounded(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Per spelling, whether it is bounded at all (else always scored)."""
        high: _Masks = self.records.view(np.uint64)[1::2]
        bounded: np.ndarray[Any, np.dtype[np.bool_]] = (high >> np.uint64(_BOUNDED_AT)) != 0
        return bounded

    def _columns(self, codes: np.ndarray[Any, np.dtype[np.uint32]]) -> _Rows:
        at = np.minimum(np.searchsorted(self._codes, codes), len(self._codes) - 1)
        return np.where(self._codes[at] == codes, self._column_of[at], self.width - 1)

    def vector(self, text: str) -> _Ints:
        """The character counts of `text` in this alphabet (the last column pooled)."""
        return np.bincount(self._columns(_codepoints(text)), minlength=self.width)

    def _mask(self, counts: _Ints, skip: _Ints | None = None) -> tuple[_Masks, int]:
        """The bits (c, t) for skip_c < t ≤ skip_c + counts_c, and how many such t lie past
        _LEVELS (each adds at most one): with a spelling's bits, Σ min(counts, its minus skip)."""
        bits, excess = 0, 0
        for column in np.flatnonzero(counts).tolist():
            low = 0 if skip is None else int(skip[column])
            high = low + int(counts[column])
            for level in range(low + 1, min(high, _LEVELS) + 1):
                bits |= 1 << (column * _LEVELS + level - 1)
            excess += max(0, high - max(low, _LEVELS))
        words = [bits & (2**64 - 1), bits >> 64]
        return np.array(words, dtype=np.uint64), excess

    @staticmethod
    def _popcount(low: _Masks, high: _Masks, mask_low: Any, mask_high: Any) -> _Ints:
        both: _Ints = np.bitwise_count(low & mask_low).astype(np.int64)
        both += np.bitwise_count(high & mask_high)
        return both

    def bound(
        self, query: str, rows: _Rows, patterns: _Patterns, cutoff: float = CUTOFF
    ) -> _Floats | None:
        """An upper bound of fuzz.WRatio(query, spelling) for each spelling in `rows`, where
        bit j of `patterns[i]` says that spelling rows[i] has query_words(query)[j] as a word.
        Where a cheap term already reaches `cutoff`, the others are not computed and the
        bound is given as 100. None when the query is not single-spaced or has more than
        MAX_WORDS distinct words (then nothing may be dropped)."""
        words = query_words(query)
        if not query or not _single_spaced(query) or len(words) > MAX_WORDS:
            return None
        pair = self.records[rows].view(np.uint64).reshape(len(rows), 2)
        low, high = pair[:, 0], pair[:, 1]
        length = ((high >> np.uint64(_LENGTH_AT)) & np.uint64(0xFF)).astype(np.int64)
        mask, excess = self._mask(self.vector(query))
        shared = self._popcount(low, high, mask[0], mask[1]) + excess
        bound = 200.0 * shared / (len(query) + length)
        distinct = " ".join(words)
        shared_d = shared
        if distinct != query:  # a repeated query word: the words may be deduplicated first
            mask, excess = self._mask(self.vector(distinct))
            shared_d = self._popcount(low, high, mask[0], mask[1]) + excess
            np.maximum(bound, 200.0 * shared_d / (len(distinct) + length), out=bound)
        bounded = (high >> np.uint64(_BOUNDED_AT)) != 0  # the others have no fields
        undecided = (bound < cutoff) & bounded
        longer = np.maximum(length, len(query))
        shorter = np.minimum(length, len(query))
        close = 2 * longer < 3 * shorter  # WRatio's len_ratio < 1.5, in integers
        at = np.flatnonzero(undecided & close)
        if len(at):
            nwords = ((high[at] >> np.uint64(_WORDS_AT)) & np.uint64(0x7F)).astype(np.int64)
            token_set = self._token_set(words, patterns[at], low[at], high[at], length[at], nwords)
            bound[at] = np.maximum(bound[at], 0.95 * token_set)
        at = np.flatnonzero(undecided & ~close)
        if len(at):
            short, common = shorter[at], shared[at]
            scale = np.where(longer[at] <= 8 * short, 0.9, 0.6)  # len_ratio <= 8
            partial = 200.0 * common / (short + common)
            if shared_d is not shared:
                short_d, common_d = np.minimum(length[at], len(distinct)), shared_d[at]
                partial = np.maximum(partial, 200.0 * common_d / (short_d + common_d))
            partial_token = np.where(patterns[at] != 0, 100.0, partial)
            bound[at] = np.maximum.reduce(
                [bound[at], scale * partial, 0.95 * scale * partial_token]
            )
        bound[~undecided] = 100.0  # reaches the cut-off, or not bounded at all
        return bound

    def _token_set(
        self,
        words: list[str],
        patterns: _Patterns,
        low: _Masks,
        high: _Masks,
        length: _Ints,
        nwords: _Ints,
    ) -> _Floats:
        """token_set_ratio's bound per spelling, from which query words it holds."""
        seen = np.bincount(patterns, minlength=1 << len(words))
        kinds = np.flatnonzero(seen)
        lookup = np.zeros(len(seen), dtype=np.intp)
        lookup[kinds] = np.arange(len(kinds))
        which = lookup[patterns]
        k = len(kinds)
        both_n, both_len, rest_len, rest_extra = (np.zeros(k, dtype=np.int64) for _ in range(4))
        rest_masks = np.zeros((2, k), dtype=np.uint64)
        for i, pattern in enumerate(kinds.tolist()):
            inside = [w for j, w in enumerate(words) if pattern >> j & 1]
            outside = sorted(w for j, w in enumerate(words) if not pattern >> j & 1)
            both_n[i], both_len[i] = len(inside), sum(map(len, inside))
            skip = self.vector("".join(inside))
            skip[0] = len(inside)  # s's spaces less those of its shared words
            rest = " ".join(outside)
            rest_len[i] = len(rest)
            rest_masks[:, i], rest_extra[i] = self._mask(self.vector(rest), skip)
        n_both, len_both, ab = both_n[which], both_len[which], rest_len[which]
        subset = (n_both > 0) & ((n_both == len(words)) | (n_both == nwords))
        sect = np.where(n_both > 0, len_both + n_both - 1, 0)
        ba = length - len_both - n_both  # s's other words, joined
        has = (sect > 0).astype(np.int64)
        sect_ab, sect_ba = sect + has + ab, sect + has + ba
        common = self._popcount(low, high, rest_masks[0][which], rest_masks[1][which])
        common += rest_extra[which]
        total = np.maximum(sect_ab + sect_ba, 1)
        rest_ratio = 100.0 * (1.0 - (ab + ba - 2 * common) / total)
        sect_ratio = np.where(sect > 0, 200.0 * sect / (2 * sect + 1 + np.minimum(ab, ba)), 0.0)
        return np.where(subset, 100.0, np.maximum(rest_ratio, sect_ratio))


def wratio_scores(
    query: str,
    choices: np.ndarray[Any, np.dtype[np.object_]],
    bound: _Floats | None,
    cutoff: float = CUTOFF,
) -> _Floats:
    """fuzz.WRatio of the query against each choice (an object array of strings), 0 below
    `cutoff` — exactly process.cdist's answer, but computed only for the choices whose bound
    reaches the cut-off (all of them when `bound` is None)."""
    keep = np.flatnonzero(bound >= cutoff - _SLACK) if bound is not None else None
    picked = choices if keep is None else choices[keep]
    found: _Floats = process.cdist(
        [query], picked.tolist(), scorer=fuzz.WRatio, score_cutoff=cutoff, dtype=np.float64
    )[0]
    if keep is None:
        return found
    scores = np.zeros(len(choices), dtype=np.float64)
    scores[keep] = found
    return scores
