"""Checking a batch of records against a schema of plain columns, a column at a time.

Most streams declare flat records: every property a string, integer, number or boolean,
maybe null, maybe with a date format that is not checked. For such a schema a batch is
valid when each column holds only Python types that its JSON type certainly admits,
which `set(map(type, column))` tells at C speed. The check only ever says "all valid":
a batch with any other value (a float in an integer column, a missing required field) or
a schema with any other keyword (pattern, enum, bounds, nested objects) is validated
record by record by the compiled validator, which alone says what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from itertools import repeat
from types import NoneType
from typing import Any

__all__ = ["ColumnCheck", "column_check"]

ColumnCheck = Callable[[Sequence[dict[str, Any]]], bool]

# the Python types each JSON type admits without a doubt (bool is not an integer)
_ADMITS: dict[str, frozenset[type]] = {
    "string": frozenset({str}),
    "integer": frozenset({int}),
    "number": frozenset({int, float, Decimal}),
    "boolean": frozenset({bool}),
    "null": frozenset({NoneType}),
}
_TOP_KEYS = frozenset({"type", "properties", "required", "$schema", "title", "description"})
_PROPERTY_KEYS = frozenset({"type", "format", "title", "description"})
_UNCHECKED_FORMATS = frozenset({"date-time", "date", "time"})
# keywords that constrain objects, arrays or strings only: a null still passes them
_NULL_SAFE_KEYS = _PROPERTY_KEYS | {
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
}
_MISSING = object()


def _admitted(prop: Any) -> frozenset[type]:
    """The Python types one property admits for certain: every type its JSON types admit
    for a plain column; for any other property only null, where nothing but its type can
    refuse a null, else nothing (the column must be absent)."""
    if not isinstance(prop, dict):
        return frozenset()
    kinds = prop.get("type")
    names = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return frozenset()
    plain = set(prop) <= _PROPERTY_KEYS and all(n in _ADMITS for n in names) and names
    if plain and prop.get("format", "date") in _UNCHECKED_FORMATS:
        return frozenset().union(*(_ADMITS[n] for n in names))
    return _ADMITS["null"] if "null" in names and set(prop) <= _NULL_SAFE_KEYS else frozenset()


def column_check(schema: Any) -> ColumnCheck | None:
    """The batch check of a draft-07 schema of plain columns; None for any other schema."""
    if not isinstance(schema, dict) or not set(schema) <= _TOP_KEYS:
        return None
    kind = schema.get("type", "object")
    if kind != "object" and kind != ["object"]:
        return None
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    if not isinstance(properties, dict) or not isinstance(required, list):
        return None
    columns = [(name, _admitted(prop)) for name, prop in properties.items()]
    if not all(isinstance(n, str) for n in required):
        return None

    def check(records: Sequence[dict[str, Any]]) -> bool:
        if set(map(type, records)) != {dict}:
            return bool(not records)
        for name in required:
            if not all(name in r for r in records):
                return False
        for name, admitted in columns:
            found = set(
                map(type, map(dict.get, records, repeat(name, len(records)), repeat(_MISSING)))
            )
            found.discard(object)  # absent: fine unless required (checked above)
            if not found <= admitted:
                return False
        return True

    return check
