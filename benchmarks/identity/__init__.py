"""Identity-resolution benchmark: datasets with ground truth, a Splink baseline, pairwise scores.

Every dataset here is two files that follow the `crmhub resolve` batch contract:

* ``records.jsonl[.gz]`` — one CustomerRecord (see ``schemas/customer.py``) per line;
* ``truth.csv`` — ``source,source_id,entity_id``: records sharing an ``entity_id`` are the same
  real-world person or organisation.

A resolver answers with a crosswalk CSV ``source,source_id,golden_id``, scored by
``benchmarks.identity.evaluate``. This module holds the small file I/O every part shares.
"""

from __future__ import annotations

import csv
import functools
import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

__all__ = [
    "TRUTH_HEADER",
    "TruthRow",
    "open_text",
    "read_jsonl",
    "read_truth",
    "write_jsonl",
    "write_truth",
]

TRUTH_HEADER: tuple[str, str, str] = ("source", "source_id", "entity_id")


class TruthRow(NamedTuple):
    """One record's true entity."""

    source: str
    source_id: str
    entity_id: str


def open_text(path: Path, mode: str = "rt") -> IO[str]:
    """Open a text file, transparently gzip-compressed when its name ends in ``.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, mode, encoding="utf-8")  # type: ignore[return-value]
    return path.open(mode.replace("t", ""), encoding="utf-8")


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records as JSON Lines (gzip when ``path`` ends in ``.gz``); return the count."""
    n = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    # Level 3: a 1M-record file compresses in seconds rather than a minute, ~10% larger.
    opener = functools.partial(gzip.open, compresslevel=3) if path.suffix == ".gz" else open
    with opener(path, "wb") as out:
        batch: list[bytes] = []
        for record in records:
            batch.append(orjson.dumps(record))
            n += 1
            if len(batch) >= 10_000:
                out.write(b"\n".join(batch) + b"\n")
                batch.clear()
        if batch:
            out.write(b"\n".join(batch) + b"\n")
    return n


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSON Lines file (gzip when ``path`` ends in ``.gz``)."""
    with open_text(path) as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not a JSON object ({exc})") from exc


def write_truth(path: Path, rows: Iterable[TruthRow]) -> int:
    """Write the ground truth CSV ``source,source_id,entity_id``; return the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(TRUTH_HEADER)
        for row in rows:
            writer.writerow(row)
            n += 1
    return n


def read_truth(path: Path) -> list[TruthRow]:
    """Read a ground truth CSV written by :func:`write_truth`."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header) != TRUTH_HEADER:
            raise ValueError(f"{path}: expected header {','.join(TRUTH_HEADER)}, got {header}")
        return [TruthRow(*row) for row in reader]
