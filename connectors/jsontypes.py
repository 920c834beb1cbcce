"""JSON Schema types for connector records: infer them from values, coerce values to them.

Pure functions shared by the taps. Inference widens conflicting types to string and
makes every property nullable; coercion converts a source value (often a string from
a CSV cell) to the declared type or raises :class:`CoercionError` naming the problem.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "CoercionError",
    "coerce",
    "infer_properties",
    "json_type_of",
    "nullable_string",
    "schema_types",
    "sort_key",
]

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
# Order in which a value is tried against a multi-type declaration.
_TRY_ORDER = ("integer", "number", "boolean", "object", "array", "string")


class CoercionError(ValueError):
    """A value cannot be converted to the declared JSON Schema type."""


def nullable_string() -> dict[str, Any]:
    """The schema of a property whose type is unknown: a nullable string."""
    return {"type": ["string", "null"]}


def json_type_of(value: Any) -> dict[str, Any] | None:
    """The JSON Schema (without null) describing one Python value; None for None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float | decimal.Decimal):
        return {"type": "number"}
    if isinstance(value, dt.datetime):
        return {"type": "string", "format": "date-time"}
    if isinstance(value, dt.date):
        return {"type": "string", "format": "date"}
    if isinstance(value, dict):
        return {"type": "object"}
    if isinstance(value, list | tuple):
        return {"type": "array", "items": {}}
    return {"type": "string"}


def _merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    if left == right:
        return left
    if {left["type"], right["type"]} == {"integer", "number"}:
        return {"type": "number"}
    return {"type": "string"}


def infer_properties(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Property schemas inferred from sample records: all nullable, conflicts -> string."""
    seen: dict[str, dict[str, Any] | None] = {}
    for record in records:
        for key, value in record.items():
            found = json_type_of(value)
            current = seen.get(key)
            if current is None:
                seen[key] = found
            elif found is not None:
                seen[key] = _merge(current, found)
    properties: dict[str, dict[str, Any]] = {}
    for key, found in seen.items():
        if found is None:
            properties[key] = nullable_string()
        else:
            properties[key] = {**found, "type": [found["type"], "null"]}
    return properties


def schema_types(schema: Mapping[str, Any]) -> list[str]:
    """The non-null JSON types a property schema allows ([] when it does not say)."""
    declared = schema.get("type", [])
    types = [declared] if isinstance(declared, str) else list(declared)
    return [name for name in types if name != "null"]


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(text)


def _parse_number(text: str | float) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def _check_format(value: str, fmt: str | None) -> str:
    if fmt == "date-time":
        dt.datetime.fromisoformat(value)
    elif fmt == "date":
        dt.date.fromisoformat(value)
    elif fmt == "time":
        dt.time.fromisoformat(value)
    return value


def _to_type(value: Any, type_name: str, fmt: str | None) -> Any:
    """Convert one non-null value to one JSON type; raise ValueError/TypeError if not."""
    if isinstance(value, str) and type_name not in {"string", "object", "array"}:
        value = value.strip()
    if type_name == "string":
        text = value if isinstance(value, str) else json.dumps(value)
        return _check_format(text, fmt)
    if type_name == "integer":
        if isinstance(value, bool):
            raise TypeError(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int | str):
            return int(value)
        raise TypeError(value)
    if type_name == "number":
        if isinstance(value, bool):
            raise TypeError(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float | str):
            return _parse_number(value)
        raise TypeError(value)
    if type_name == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int | str):
            return _parse_bool(str(value))
        raise TypeError(value)
    wanted = dict if type_name == "object" else list
    parsed = json.loads(value) if isinstance(value, str) else value
    if not isinstance(parsed, wanted):
        raise TypeError(value)
    return parsed


def coerce(value: Any, schema: Mapping[str, Any]) -> Any:
    """``value`` converted to the type ``schema`` declares.

    None and the empty string become None; a schema without a type passes the value
    through. Raises CoercionError with the expected type and the bad value.
    """
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    types = [name for name in schema_types(schema) if name in _TRY_ORDER]
    if not types:
        return value
    fmt = schema.get("format")
    for type_name in sorted(types, key=_TRY_ORDER.index):
        try:
            return _to_type(value, type_name, fmt)
        except (ValueError, TypeError):
            continue
    expected = " or ".join(types) + (f" ({fmt})" if fmt else "")
    msg = f"expected {expected}, got {value!r}"
    raise CoercionError(msg)


def sort_key(value: Any, schema: Mapping[str, Any]) -> tuple[int, Any]:
    """A key ordering replication values of one property consistently.

    Numbers compare as numbers, ``date-time``/``date`` strings as instants (naive
    times taken as UTC), anything else as text.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    text = str(value)
    if schema.get("format") in {"date-time", "date"}:
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return (2, text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return (1, parsed)
    return (2, text)
