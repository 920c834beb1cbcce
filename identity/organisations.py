"""Organisation names: folded, with the legal form taken off ("Kovács és Társa Kft." -> "kovacs").

Legal forms come from `identity/data/legal_forms.csv` (Hungarian, Polish, English, German,
Hebrew transliterated and common European forms). They are removed from the end of the name,
repeatedly ("Alfa Sp. z o.o. Sp.k."), and a few Russian ones from the start ("OOO Romashka").
"""

from __future__ import annotations

from functools import lru_cache

from identity.folding import fold, fold_words
from identity.nicknames import read_table

__all__ = ["has_legal_form", "legal_forms", "strip_legal_form"]


_Forms = dict[str, tuple[tuple[str, ...], ...]]


@lru_cache(maxsize=1)
def legal_forms() -> tuple[_Forms, _Forms]:
    """The folded legal forms as word tuples, longest first: (suffixes by their last word,
    prefixes by their first word)."""
    suffixes: dict[str, set[tuple[str, ...]]] = {}
    prefixes: dict[str, set[tuple[str, ...]]] = {}
    for _, position, form in read_table("legal_forms.csv", 3):
        words = tuple(fold(form).split())
        if position not in ("suffix", "prefix") or not words:
            raise ValueError(
                f"identity/data/legal_forms.csv: position must be suffix or prefix and the "
                f"form not empty, got {position!r} for {form!r}"
            )
        if position == "suffix":
            suffixes.setdefault(words[-1], set()).add(words)
        else:
            prefixes.setdefault(words[0], set()).add(words)

    def longest_first(forms: dict[str, set[tuple[str, ...]]]) -> _Forms:
        return {k: tuple(sorted(v, key=len, reverse=True)) for k, v in forms.items()}

    return longest_first(suffixes), longest_first(prefixes)


def _strip(words: list[str]) -> tuple[list[str], bool]:
    suffixes, prefixes = legal_forms()
    stripped = False
    while len(words) > 1:
        form = next(
            (
                f
                for f in suffixes.get(words[-1], ())
                if len(f) < len(words) and tuple(words[-len(f) :]) == f
            ),
            None,
        )
        if form is None:
            break
        del words[-len(form) :]
        stripped = True
    while len(words) > 1:
        form = next(
            (
                f
                for f in prefixes.get(words[0], ())
                if len(f) < len(words) and tuple(words[: len(f)]) == f
            ),
            None,
        )
        if form is None:
            break
        del words[: len(form)]
        stripped = True
    return words, stripped


@lru_cache(maxsize=1 << 16)
def strip_legal_form(org: str) -> str:
    """The organisation name, folded, without its legal form (kft, sp. z o.o., ltd, gmbh)."""
    words, _ = _strip(fold_words(org).split())
    return " ".join(words)


def has_legal_form(name: str) -> bool:
    """The name ends (or starts) with a legal form, so it names an organisation."""
    words = name.split()
    if not words:
        return False
    suffixes, prefixes = legal_forms()
    last, first = fold(words[-1]).rpartition(" ")[2], fold(words[0]).partition(" ")[0]
    if last not in suffixes and first not in prefixes:  # the common case, on cached words
        return False
    return _strip(fold_words(name).split())[1]
