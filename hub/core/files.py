"""Files in and out: the batch contracts' input (gzip or not, unusable lines) and CSV cells
that are safe to open in a spreadsheet."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["BadLine", "neutralise", "open_bytes"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class BadLine:
    """An input line that could not be used, with where and why."""

    line: int
    reason: str


def open_bytes(path: Path) -> IO[bytes]:
    """The file's bytes, gunzipped when it is gzip (by content, not by name)."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped:
        return io.BufferedReader(gzip.GzipFile(path, "rb"))
    return path.open("rb")


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (= + - @ tab CR first) gets a
    leading apostrophe; numbers and other text pass unchanged. For every CSV the app
    exports to people (audit log, segment members), not for the batch contracts' data."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
