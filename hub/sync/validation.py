"""Validating records against their stream's JSON Schema, whichever Singer generation wrote it.

Taps declare schemas in the draft of their day: pipelinewise taps write draft-04
(`"exclusiveMaximum": true` beside `"maximum": 1e16`), singer-sdk taps draft-07 and
`singer.decimal` strings. One compiler takes them all:

* a boolean `exclusiveMaximum`/`exclusiveMinimum` (draft-04; never valid in draft-06 and
  later, so it marks a draft-04 schema whether or not `$schema` says so) becomes the
  draft-06+ number: `{"maximum": 5, "exclusiveMaximum": true}` is `{"exclusiveMaximum": 5}`,
  and a `false` one is dropped;
* `format: singer.decimal` / `x-singer.decimal` strings must read as a finite decimal (the
  value stays the exact string); date and time formats and unknown formats are not checked
  (sources disagree on them; the mapping checks the fields it takes);
* numbers may be `decimal.Decimal` (exact amounts); `multipleOf` is checked exactly on the
  record's own properties (fastjsonschema cannot divide a Decimal) and not in nested values.

A schema the validator cannot compile, or that fails on a value in a way that is the
validator's limit rather than the record's fault, does not quarantine the stream's records:
the record is taken unvalidated and the reason is logged once per stream (`problem`).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import fastjsonschema
import orjson

from hub.store.database import canonical_json
from hub.sync.column_check import ColumnCheck, column_check

__all__ = ["RecordValidator", "compile_schema", "upgrade_schema"]

log = logging.getLogger(__name__)

_DECIMAL_FORMATS = ("singer.decimal", "x-singer.decimal")
_UNCHECKED_FORMATS = ("date-time", "date", "time")


def _any(_value: str) -> bool:
    return True


def _decimal_text(value: str) -> bool:
    try:
        return Decimal(value).is_finite()
    except (InvalidOperation, ValueError):
        return False


_FORMATS: dict[str, Callable[[str], bool]] = {
    **dict.fromkeys(_UNCHECKED_FORMATS, _any),
    **dict.fromkeys(_DECIMAL_FORMATS, _decimal_text),
}


def upgrade_schema(schema: Any) -> tuple[Any, dict[str, Decimal]]:
    """A copy of `schema` in draft-07 terms, and the `multipleOf` of its top-level properties
    (removed from the copy, everywhere, because fastjsonschema cannot check it on a Decimal)."""
    upgraded = copy.deepcopy(schema)
    multiples: dict[str, Decimal] = {}
    if isinstance(upgraded, dict):
        for name, prop in (upgraded.get("properties") or {}).items():
            step = prop.get("multipleOf") if isinstance(prop, dict) else None
            if isinstance(step, int | float | Decimal) and not isinstance(step, bool) and step > 0:
                multiples[name] = step if isinstance(step, Decimal) else Decimal(repr(step))
        schema_uri = upgraded.get("$schema")
        if isinstance(schema_uri, str) and ("draft-04" in schema_uri or "draft-03" in schema_uri):
            del upgraded["$schema"]  # now draft-07 terms: let fastjsonschema read it so
    _upgrade(upgraded)
    return upgraded, multiples


def _upgrade(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _upgrade(item)
        return
    if not isinstance(node, dict):
        return
    node.pop("multipleOf", None)
    for exclusive, bound in (("exclusiveMaximum", "maximum"), ("exclusiveMinimum", "minimum")):
        flag = node.get(exclusive)
        if isinstance(flag, bool):
            del node[exclusive]
            if flag and bound in node:
                node[exclusive] = node.pop(bound)
    for value in node.values():
        if isinstance(value, dict | list):
            _upgrade(value)


@dataclass
class RecordValidator:
    """Checks one stream's records: `reason(record)` is None when it passes, else the
    quarantine reason (`field: what is wrong`)."""

    check: Callable[[Any], Any] | None
    multiples: dict[str, Decimal] = field(default_factory=dict)
    problem: str | None = None  # why records are (partly) taken unvalidated
    columns: ColumnCheck | None = None  # a batch's fast path, for schemas of plain columns

    def reasons(self, records: Sequence[dict[str, Any]]) -> list[str | None]:
        """`reason` of each record: a batch whose every column holds only values its type
        certainly admits passes at once, any other batch is checked record by record."""
        if self.columns is not None and self.check is not None and self.columns(records):
            return [None] * len(records)
        return [self.reason(r) for r in records]

    def reason(self, record: dict[str, Any]) -> str | None:
        if self.check is not None:
            try:
                self.check(record)
            except fastjsonschema.JsonSchemaValueException as exc:
                where = exc.name.removeprefix("data.") if exc.name else "record"
                return f"{where}: {exc.message.removeprefix(exc.name or '').strip()}"
            except Exception as exc:  # the validator's own limit, not the record's fault
                self.problem = f"validator failed ({type(exc).__name__}: {exc}); not validated"
                return None
        for name, step in self.multiples.items():
            value = record.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                continue
            amount = value if isinstance(value, Decimal) else Decimal(repr(value))
            if amount.is_finite() and amount % step != 0:
                return f"{name}: must be a multiple of {step} (got {amount})"
        return None


@lru_cache(maxsize=256)
def _compiled(schema_json: bytes) -> tuple[Callable[[Any], Any] | None, str | None]:
    upgraded, _ = upgrade_schema(orjson.loads(schema_json))
    try:
        return fastjsonschema.compile(upgraded, formats=_FORMATS), None
    except Exception as exc:  # JsonSchemaDefinitionException, or a bad regex/$ref in the schema
        return None, f"schema not compiled ({type(exc).__name__}: {exc}); records not validated"


def compile_schema(schema: dict[str, Any]) -> RecordValidator:
    """The validator of one stream's SCHEMA message (compiled once per distinct schema)."""
    check, problem = _compiled(canonical_json(schema))  # Decimal bounds become numbers
    upgraded, multiples = upgrade_schema(schema)
    columns = None if multiples else column_check(upgraded)
    return RecordValidator(check, multiples, problem, columns)
