"""Row readers for legacy export files: CSV, JSON Lines and JSON, optionally gzipped.

Each reader yields one :class:`SourceRow` per row of the file, streaming line by line
(except whole-document JSON). A row that cannot be read still comes out, with
``error`` saying why, ``raw`` holding its text (undecodable bytes shown as
backslash escapes) and ``values`` holding whatever could be parsed.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SourceRow", "open_binary", "read_csv", "read_csv_header", "read_json", "read_jsonl"]

_RAW_SNIPPET = 1000


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One row read from a file: its values, or why it could not be read."""

    location: str
    raw: str
    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def open_binary(path: Path) -> io.BufferedIOBase:
    """Open ``path`` for binary reading, decompressing ``.gz`` files on the fly."""
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb")


class _Lines:
    """Decoded lines of a binary file, remembering the raw text of the current row.

    Lines are decoded with ``surrogateescape`` so undecodable bytes survive parsing
    as lone surrogates (see :func:`_clean`); the raw text shows them as ``\\xNN``.
    """

    def __init__(self, handle: io.BufferedIOBase, encoding: str) -> None:
        self._handle = handle
        self._encoding = encoding
        self.line_no = 0
        self.row_start = 1
        self.row_raw: list[str] = []
        self.row_text: list[str] = []
        self.decode_error: str | None = None
        self._again: list[tuple[int, str, str]] = []  # lines to read again, next first

    def __iter__(self) -> _Lines:
        return self

    def read_again(self, lines: list[tuple[int, str, str]]) -> None:
        """Serve these (line number, text, raw) lines again before reading on."""
        self._again = lines + self._again

    def __next__(self) -> str:
        if self._again:
            number, text, raw = self._again.pop(0)
            if not self.row_raw:
                self.row_start = number
            self.row_raw.append(raw)
            self.row_text.append(text)
            return text
        data = self._handle.readline()
        if not data:
            raise StopIteration
        self.line_no += 1
        if not self.row_raw:
            self.row_start = self.line_no
        try:
            text = data.decode(self._encoding)
            raw = text
        except UnicodeDecodeError as exc:
            text = data.decode(self._encoding, errors="surrogateescape")
            raw = data.decode(self._encoding, errors="backslashreplace")
            self.decode_error = self.decode_error or (
                f"undecodable bytes for encoding {self._encoding}: {exc.reason} "
                f"at byte {exc.start} of line {self.line_no}"
            )
        if self.line_no == 1:
            text, raw = text.removeprefix("\ufeff"), raw.removeprefix("\ufeff")
        self.row_raw.append(raw)
        self.row_text.append(text)
        return text

    def take_row(self) -> tuple[int, str, str | None]:
        """(first line number, raw text, decode error) of the row just read; reset."""
        result = (self.row_start, "".join(self.row_raw).rstrip("\r\n"), self.decode_error)
        self.row_raw = []
        self.row_text = []
        self.decode_error = None
        return result

    def split_row(self) -> tuple[int, str] | None:
        """For a row that ran over several lines and did not parse (an unclosed quote took
        the lines after it): keep only its first line as the bad row — (line number, raw
        text) — and read the rest again as rows of their own. None for a one-line row."""
        if len(self.row_text) < 2:
            return None
        first = self.row_start
        rest = [
            (first + k, text, raw)
            for k, (text, raw) in enumerate(zip(self.row_text, self.row_raw, strict=True))
        ][1:]
        raw = self.row_raw[0].rstrip("\r\n")
        self.row_raw, self.row_text, self.decode_error = [], [], None
        self.read_again(rest)
        return first, raw


def _undecodable(value: Any) -> bool:
    """Whether parsed text holds bytes that did not decode (as lone surrogates)."""
    if isinstance(value, str):
        return any("\udc80" <= char <= "\udcff" for char in value)
    if isinstance(value, dict):
        return any(_undecodable(k) or _undecodable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_undecodable(item) for item in value)
    return False


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """The values of a row that were read intact (none holding undecodable bytes)."""
    return {k: v for k, v in values.items() if not _undecodable(k) and not _undecodable(v)}


def _column_names(header: list[str], encoding: str) -> list[str]:
    """Header cells as column names: stripped, undecodable bytes shown as ``\\xNN``."""
    return [
        name.strip()
        .encode(encoding, errors="surrogateescape")
        .decode(encoding, errors="backslashreplace")
        for name in header
    ]


UNCLOSED = "malformed CSV: unclosed quote; the lines after it are read as rows of their own"


def _csv_reader(lines: _Lines, delimiter: str) -> Iterator[list[str]]:
    # strict: an unterminated quote is an error, not a field swallowing the next rows.
    return csv.reader(lines, delimiter=delimiter, strict=True)


def read_csv_header(path: Path, *, encoding: str, delimiter: str) -> list[str]:
    """The column names of a CSV file ([] for an empty file)."""
    with open_binary(path) as handle:
        header = next(_csv_reader(_Lines(handle, encoding), delimiter), [])
    return _column_names(header, encoding)


def read_csv(path: Path, *, encoding: str, delimiter: str) -> Iterator[SourceRow]:
    """Rows of a CSV file with a header line, as column -> string mappings."""
    with open_binary(path) as handle:
        lines = _Lines(handle, encoding)
        reader = _csv_reader(lines, delimiter)
        header: list[str] | None = None
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                split = lines.split_row()
                line, raw = split if split else lines.take_row()[:2]
                reason = f"{UNCLOSED} ({exc})" if split else f"malformed CSV: {exc}"
                yield SourceRow(f"{path.name}:{line}", raw, error=reason)
                reader = _csv_reader(lines, delimiter)  # start afresh at the next line
                continue
            if header is not None and row and len(row) != len(header):
                split = lines.split_row()
                if split is not None:  # an unclosed quote swallowed the lines after it
                    yield SourceRow(f"{path.name}:{split[0]}", split[1], error=UNCLOSED)
                    reader = _csv_reader(lines, delimiter)
                    continue
            line, raw, decode_error = lines.take_row()
            location = f"{path.name}:{line}"
            if header is None:
                header = _column_names(row, encoding)
                if decode_error:
                    yield SourceRow(location, raw, error=f"header: {decode_error}")
                continue
            if not row:
                continue
            values = dict(zip(header, row, strict=False))
            problems = [decode_error] if decode_error else []
            if len(row) != len(header):
                problems.append(f"row has {len(row)} columns, header has {len(header)}")
            if problems:
                yield SourceRow(location, raw, _clean(values), "; ".join(problems))
            else:
                yield SourceRow(location, raw, values)


def read_jsonl(path: Path, *, encoding: str) -> Iterator[SourceRow]:
    """Rows of a JSON Lines file: one object per non-blank line."""
    with open_binary(path) as handle:
        lines = _Lines(handle, encoding)
        for text in lines:
            line, raw, decode_error = lines.take_row()
            if not text.strip():
                continue
            location = f"{path.name}:{line}"
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                reason = decode_error or f"invalid JSON: {exc.msg} at column {exc.colno}"
                yield SourceRow(location, raw, error=reason)
                continue
            if not isinstance(value, dict):
                yield SourceRow(location, raw, error=f"JSON line is {_kind(value)}, not an object")
            else:
                yield SourceRow(
                    location, raw, _clean(value) if decode_error else value, decode_error
                )


def _kind(value: Any) -> str:
    """How JSON would name the type of a parsed value, with its article."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "null" if value is None else "an object"


def _pointer(parts: list[str | int]) -> str:
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in parts)
    return "#" + "".join("/" + part for part in escaped)


def _select(document: Any, records_path: str | None) -> tuple[list[str | int], Any, str]:
    """(pointer parts, the list at ``records_path`` or None, why it is not a list)."""
    parts: list[str | int] = []
    node = document
    label = records_path or "(top level)"
    for key in records_path.split(".") if records_path else []:
        parts.append(key)
        if not isinstance(node, dict) or key not in node:
            return parts, None, f"records_path {label!r}: no key {key!r}"
        node = node[key]
    if not isinstance(node, list):
        return parts, None, f"records_path {label!r}: expected a list, found {_kind(node)}"
    return parts, node, ""


def read_json(path: Path, *, encoding: str, records_path: str | None) -> Iterator[SourceRow]:
    """Rows of a JSON document: the objects in the list at ``records_path``.

    The document is parsed whole. Locations are ``file.json#/json/pointer`` to the item.
    """
    with open_binary(path) as handle:
        data = handle.read()
    text = data.decode(encoding, errors="surrogateescape").removeprefix("\ufeff")

    def visible(snippet: str) -> str:
        raw = snippet.encode(encoding, errors="surrogateescape")
        return raw.decode(encoding, errors="backslashreplace")

    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        lines = text.splitlines() or [""]
        bad_line = lines[min(exc.lineno, len(lines)) - 1]
        reason = f"invalid JSON document: {exc.msg} at column {exc.colno}; file not read"
        yield SourceRow(f"{path.name}:{exc.lineno}", visible(bad_line), error=reason)
        return
    parts, records, problem = _select(document, records_path)
    if records is None:
        location = f"{path.name}{_pointer(parts)}"
        yield SourceRow(location, visible(text[:_RAW_SNIPPET]), error=f"{problem}; file not read")
        return
    for index, item in enumerate(records):
        location = f"{path.name}{_pointer([*parts, index])}"
        raw = visible(json.dumps(item, ensure_ascii=False))
        if not isinstance(item, dict):
            yield SourceRow(location, raw, error=f"JSON item is {_kind(item)}, not an object")
        elif _undecodable(item):
            reason = f"undecodable bytes for encoding {encoding}"
            yield SourceRow(location, raw, _clean(item), reason)
        else:
            yield SourceRow(location, raw, item)
