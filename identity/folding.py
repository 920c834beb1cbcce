"""Text folding: the one way free text becomes comparable across sources and scripts.

`fold("Kovács-Nagy, Éva")` is `"kovacs nagy eva"`: letters transliterated to ASCII
(ł -> l, ß -> ss, ø -> o, Cyrillic and Hebrew letters spelled out by `anyascii`), lower case,
apostrophes dropped (O'Brien -> obrien), other punctuation turned into spaces, whitespace
collapsed. Every other standardiser builds on it, so it is memoised: names and cities repeat
heavily in customer data.
"""

from __future__ import annotations

import string
from functools import lru_cache

from anyascii import anyascii

__all__ = ["fold", "fold_or_none", "fold_words", "text_or_none"]

# anyascii turns typographic apostrophes (U+2019, U+02BC, U+00B4) into "'" first.
_APOSTROPHES = "'`"
_PUNCT_TO_SPACE = str.maketrans(
    {
        **{ch: " " for ch in string.punctuation if ch not in _APOSTROPHES},
        **{ch: None for ch in _APOSTROPHES},
    }
)


@lru_cache(maxsize=1 << 18)
def fold(text: str) -> str:
    """The text in lower-case ASCII with diacritics removed and punctuation collapsed."""
    if not text.isascii():
        text = anyascii(text)
    return " ".join(text.lower().translate(_PUNCT_TO_SPACE).split())


def fold_words(text: str) -> str:
    """fold(text), word by word, so that the per-word cache serves text that rarely repeats."""
    return " ".join(folded for folded in map(fold, text.split()) if folded)


def text_or_none(value: object) -> str | None:
    """The value as stripped text, or None when it is missing or blank."""
    if type(value) is str:  # the common case first: this runs for every value
        return value.strip() or None
    if value is None:
        return None
    return str(value).strip() or None


def fold_or_none(value: object) -> str | None:
    """The folded value, or None when nothing is left after folding."""
    text = text_or_none(value)
    if text is None:
        return None
    return fold_words(text) or None
