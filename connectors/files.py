"""TapFiles: legacy CSV / JSON Lines / JSON exports (optionally gzipped) as Singer streams.

One stream per configured entry; a ``path`` may be a glob, whose files are read in
sorted order. Rows that cannot be read or converted come out as quarantine records
(see :mod:`connectors.errors`), never dropped and never fatal.
"""

from __future__ import annotations

import codecs
import glob
import logging
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers.types import Context, Record

from connectors.errors import (
    ERROR_PROPERTY,
    ConnectorFatalError,
    error_property_schema,
    parse_stream_configs,
    quarantine,
)
from connectors.jsontypes import CoercionError, coerce, infer_properties, nullable_string, sort_key
from connectors.readers import SourceRow, read_csv, read_csv_header, read_json, read_jsonl

__all__ = ["FileStream", "FileStreamConfig", "TapFiles"]

FileFormat = Literal["csv", "jsonl", "json"]
INFER_SAMPLE_SIZE = 1000
_EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}


class FileStreamConfig(BaseModel):
    """One configured file stream (an entry of the tap's ``streams`` setting)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    path: str = Field(min_length=1)
    format: FileFormat | None = None
    primary_keys: tuple[str, ...] = ("id",)
    replication_key: str | None = None
    encoding: str = "utf-8"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    records_path: str | None = None
    declared_schema: dict[str, dict[str, Any]] | None = Field(default=None, alias="schema")

    @field_validator("encoding")
    @classmethod
    def _line_safe_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            msg = f"unknown encoding {value!r}"
            raise ValueError(msg) from None
        if "\n".encode(value) != b"\n":
            msg = f"encoding {value!r} is not ASCII-compatible; re-encode the file as UTF-8"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _format_known(self) -> FileStreamConfig:
        if self.format is None and _format_from_extension(self.path) is None:
            msg = f"cannot tell the format of {self.path!r} from its extension; set format"
            raise ValueError(msg)
        return self

    @property
    def file_format(self) -> FileFormat:
        """The declared format, or the one the path's extension implies."""
        found = self.format or _format_from_extension(self.path)
        assert found is not None  # guaranteed by _format_known
        return found


def _format_from_extension(path: str) -> FileFormat | None:
    suffixes = [suffix.lower() for suffix in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return _EXTENSIONS.get(suffixes[-1]) if suffixes else None


def _has_glob(path: str) -> bool:
    return any(char in path for char in "*?[")


class FileStream(Stream):
    """Records of the files matching one configured path."""

    def __init__(self, tap: Tap, config: FileStreamConfig) -> None:
        self.file_config = config
        super().__init__(tap=tap, schema=self._discover_schema(tap.logger), name=config.name)
        self.primary_keys = list(config.primary_keys)
        self.replication_key = config.replication_key

    def paths(self) -> list[Path]:
        """The files to read, in sorted order."""
        pattern = self.file_config.path
        if not _has_glob(pattern):
            if not Path(pattern).is_file():
                msg = f"stream {self.file_config.name!r}: file not found: {pattern}"
                raise ConnectorFatalError(msg)
            return [Path(pattern)]
        return [Path(found) for found in sorted(glob.glob(pattern, recursive=True))]

    def _read(self, path: Path) -> Iterator[SourceRow]:
        config = self.file_config
        if config.file_format == "csv":
            return read_csv(path, encoding=config.encoding, delimiter=config.delimiter)
        if config.file_format == "jsonl":
            return read_jsonl(path, encoding=config.encoding)
        return read_json(path, encoding=config.encoding, records_path=config.records_path)

    def _discover_schema(self, logger: logging.Logger) -> dict[str, Any]:
        config = self.file_config
        paths = self.paths()
        if not paths:
            logger.warning("stream %r: no file matches %r", config.name, config.path)
        properties: dict[str, dict[str, Any]]
        if config.declared_schema is not None:
            properties = dict(config.declared_schema)
        elif config.file_format == "csv":
            properties = {}
            for path in paths:
                if path.stat().st_size == 0:
                    logger.warning(
                        "stream %r: %s: file is empty (no header line)", config.name, path
                    )
                header = read_csv_header(path, encoding=config.encoding, delimiter=config.delimiter)
                properties.update((name, nullable_string()) for name in header if name)
        else:
            rows = (row.values for path in paths for row in self._read(path) if not row.error)
            properties = infer_properties(islice(rows, INFER_SAMPLE_SIZE))
        for key in [*config.primary_keys, config.replication_key]:
            if key and key not in properties:
                logger.warning("stream %r: key %r is not among the properties", config.name, key)
                properties[key] = nullable_string()
        properties[ERROR_PROPERTY] = error_property_schema()
        return {"type": "object", "properties": properties}

    def _to_record(self, row: SourceRow) -> Record:
        properties: dict[str, Any] = self.schema["properties"]
        noun = "column" if self.file_config.file_format == "csv" else "property"
        record: Record = {}
        problems: list[str] = []
        if row.error is None:
            for name, value in row.values.items():
                try:
                    record[name] = coerce(value, properties[name]) if name in properties else value
                except CoercionError as exc:
                    problems.append(f"{noun} {name!r}: {exc}")
            if not problems:
                return record
        # Every property null (singer-sdk reads the replication key) but the keys.
        keys: Record = dict.fromkeys(properties)
        del keys[ERROR_PROPERTY]
        for key in self.primary_keys:
            try:
                keys[key] = coerce(row.values.get(key), properties.get(key, {}))
            except CoercionError:
                keys[key] = None
        reason = row.error or "; ".join(problems)
        return quarantine(
            keys, reason=reason, raw=row.raw, location=row.location, logger=self.logger
        )

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Every row of every matched file; rows older than the bookmark are skipped."""
        key = self.replication_key
        start = self.get_starting_replication_key_value(context) if key else None
        key_schema: dict[str, Any] = self.schema["properties"].get(key, {}) if key else {}
        paths = self.paths()
        if not paths:
            self.logger.warning("no file matches %r", self.file_config.path)
        for path in paths:
            self.logger.info("reading %s", path)
            if path.stat().st_size == 0:  # said, not silent: an export that wrote nothing
                self.logger.warning("%s: file is empty; nothing to read", path)
                continue
            for row in self._read(path):
                record = self._to_record(row)
                value = record.setdefault(key, None) if key else None
                if (
                    start is not None
                    and value is not None
                    and ERROR_PROPERTY not in record
                    and sort_key(value, key_schema) < sort_key(start, key_schema)
                ):
                    continue
                yield record


_STREAM = th.ObjectType(
    th.Property("name", th.StringType, required=True, description="Stream name."),
    th.Property(
        "path",
        th.StringType,
        required=True,
        description="File path or glob (relative to the working directory).",
    ),
    th.Property(
        "format",
        th.StringType,
        allowed_values=["csv", "jsonl", "json"],
        description="Default: from the extension (.csv, .jsonl/.ndjson, .json, plus .gz).",
    ),
    th.Property("primary_keys", th.ArrayType(th.StringType), default=["id"]),
    th.Property("replication_key", th.StringType, description="Enables incremental reads."),
    th.Property("encoding", th.StringType, default="utf-8"),
    th.Property("delimiter", th.StringType, default=",", description="CSV only."),
    th.Property(
        "records_path",
        th.StringType,
        description="JSON only: dotted key of the list of records, e.g. data.customers.",
    ),
    th.Property(
        "schema",
        th.ObjectType(additional_properties=True),
        description="JSON Schema `properties` declaring column types (default: inferred).",
    ),
    additional_properties=False,
)


class TapFiles(Tap):
    """Legacy CSV, JSON Lines and JSON exports (optionally gzipped), one stream per entry."""

    name = "tap-crmhub-files"
    package_name = "crm-hub"
    dynamic_catalog = True
    config_jsonschema = th.PropertiesList(
        th.Property("streams", th.ArrayType(_STREAM), required=True),
    ).to_dict()

    def stream_configs(self) -> list[FileStreamConfig]:
        """The validated ``streams`` setting."""
        return parse_stream_configs(self.name, FileStreamConfig, self.config["streams"])

    def discover_streams(self) -> list[Stream]:
        """One stream per configured entry."""
        return [FileStream(self, config) for config in self.stream_configs()]
