"""Reading the batch contracts' input files: gzip or not, and the lines that cannot be used."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["BadLine", "open_bytes"]


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
