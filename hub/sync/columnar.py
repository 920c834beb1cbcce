"""Converting a batch of mapped values column by column: the fast path of `Mapper.map_many`.

The canonical models (`schemas/`) are the one definition of a valid row and of every error
message, but running a model per record costs more than the rest of a sync's per-record
work together. Most values need nothing from the model but a type check: a text without
padding, a known enum value, an ISO date. This module converts a whole column at once for
exactly those kinds of value and names the rows holding any other value (a number in a text
field, a padded or odd date, an unknown enum value); the caller sends those rows through the
model. A field with a validator this module does not know, or a model with an unknown model
validator, takes no fast path at all, so a new rule in `schemas/` can never be skipped.
`tests/hub/sync/test_columnar.py` checks on generated records that both paths agree.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from enum import Enum
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from annotated_types import MinLen
from pydantic import BaseModel

from hub.core.clock import as_utc

__all__ = ["ColumnConverter", "blank_is_null", "column_plan"]

ColumnConverter = Callable[[Sequence[Any], list[int]], list[Any]]
"""Converts one column; appends the index of every row it cannot convert to the list."""

_BLANK_IS_NULL = "CustomerRecord._blank_is_null"

# ISO 8601 date-times that Python and pydantic read alike (at most microseconds)
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


_TEXT_TYPES = frozenset({str, NoneType})


def _plain(value: Any) -> bool:
    """A text that stripping would not change (non-empty, no leading or trailing space)."""
    return bool(value) and not value[0].isspace() and not value[-1].isspace()


def _blank(value: Any) -> bool:
    return type(value) is str and (not value or value.isspace())


def _clean_texts(column: Sequence[Any], required: bool) -> bool:
    """Whether every value is None (if allowed) or a plain text: checked at C speed."""
    types = set(map(type, column))
    if not types <= _TEXT_TYPES or (required and NoneType in types):
        return False
    texts = [v for v in column if v is not None] if NoneType in types else column
    # str.strip returns the very object when there is nothing to strip, and it strips every
    # character pydantic's strip does (and a few more): equal lists mean nothing to strip
    return "" not in texts and list(map(str.strip, texts)) == texts


def _text(required: bool, blank_null: bool) -> ColumnConverter:
    def convert(column: Sequence[Any], slow: list[int]) -> list[Any]:
        out = list(column)
        if _clean_texts(column, required):
            return out
        for i, v in enumerate(column):
            if type(v) is str and _plain(v):
                continue
            if v is None and not required:
                continue
            if blank_null and not required and _blank(v):
                out[i] = None
                continue
            slow.append(i)
        return out

    return convert


def _with_text_nulls(
    required: bool, blank_null: bool, fast: Callable[[Any], Any]
) -> ColumnConverter:
    """A converter that maps None/blank as a text field does and other values by `fast`,
    which raises (any exception) for a value the model must see."""

    whole = _WHOLE_COLUMN.get(fast)

    def convert(column: Sequence[Any], slow: list[int]) -> list[Any]:
        if whole is not None and None not in column:  # the usual case: at C speed
            with contextlib.suppress(Exception):  # else as below
                return whole(column)
        if not required:  # the common case: every value converts, in one pass
            with contextlib.suppress(Exception):  # else value by value, below
                return [None if v is None else fast(v) for v in column]
        out = list(column)
        for i, v in enumerate(column):
            if v is None and not required:
                continue
            if blank_null and not required and _blank(v):
                out[i] = None
                continue
            try:
                out[i] = fast(v)
            except Exception:
                slow.append(i)
        return out

    return convert


def _enum(enum: type[Enum]) -> Callable[[Any], Any]:
    values = {m.value for m in enum}

    def fast(v: Any) -> Any:
        if type(v) is str and v in values:
            return v
        raise ValueError(v)

    def whole(column: Sequence[Any]) -> list[Any]:
        if _texts_only(column) and set(column) <= values:
            return list(column)
        raise ValueError("a value the model must see")

    _WHOLE_COLUMN[fast] = whole
    return fast


# Whole-column forms of the value converters below: each returns exactly the list the value
# converter would give value by value, or raises when any value needs the per-value path
# (`tests/hub/sync/test_columnar.py` compares them on generated columns)
_WHOLE_COLUMN: dict[Callable[[Any], Any], Callable[[Sequence[Any]], list[Any]]] = {}


def _texts_only(column: Sequence[Any]) -> bool:
    return set(map(type, column)) == {str}


def _date_texts(column: Sequence[Any]) -> list[Any]:
    """A valid ISO date text is its own `isoformat()`: checked, not rebuilt."""
    if _texts_only(column) and all(map(str.isascii, column)) and all(map(_DATE.fullmatch, column)):
        for _ in map(dt.date.fromisoformat, column):  # raises on a day that does not exist
            pass
        return list(column)
    raise ValueError("a value the model must see")


def _datetimes(column: Sequence[Any]) -> list[Any]:
    if _texts_only(column) and all(map(_DATETIME.fullmatch, column)):
        moments = list(map(dt.datetime.fromisoformat, column))
        if set(map(_tzinfo, moments)) == {dt.UTC}:  # as_utc gives each moment itself
            return moments
        return list(map(as_utc, moments))
    raise ValueError("a value the model must see")


def _tzinfo(moment: dt.datetime) -> Any:
    return moment.tzinfo


def _date_text(v: Any) -> Any:
    if type(v) is str and _DATE.fullmatch(v):
        return dt.date.fromisoformat(v).isoformat()
    raise ValueError(v)


def _datetime(v: Any) -> Any:
    if type(v) is dt.datetime:
        return as_utc(v)
    if type(v) is str and _DATETIME.fullmatch(v):
        return as_utc(dt.datetime.fromisoformat(v))
    raise ValueError(v)


def _decimal(v: Any) -> Any:
    if type(v) is Decimal and v.is_finite():
        return v
    if type(v) is int:
        return Decimal(v)
    raise ValueError(v)


def _iso_code(length: int) -> Callable[[Any], Any]:
    def fast(v: Any) -> Any:
        code = v.strip().upper() if type(v) is str else ""
        if len(code) == length and code.isalpha():
            return code
        raise ValueError(v)

    def whole(column: Sequence[Any]) -> list[Any]:
        if _texts_only(column):
            codes = list(map(str.upper, map(str.strip, column)))
            if set(map(len, codes)) == {length} and all(map(str.isalpha, codes)):
                return codes
        raise ValueError("a value the model must see")

    _WHOLE_COLUMN[fast] = whole
    return fast


def _id_text(v: Any) -> Any:
    if type(v) is int:
        return str(v)
    if type(v) is str and _plain(v):
        return v
    raise ValueError(v)


_WHOLE_COLUMN[_date_text] = _date_texts
_WHOLE_COLUMN[_datetime] = _datetimes

# the field validators (by the function's qualified name) reproduced exactly by a converter
# and whether the validator itself reads a blank text as unknown
_KNOWN_FIELD_VALIDATORS: dict[str, tuple[Callable[[Any], Any], bool]] = {
    "CustomerRecord._iso_date_only": (_date_text, True),
    "CustomerRecord._iso2": (_iso_code(2), True),
    "Interaction._id_as_text": (_id_text, False),
    "Interaction._iso4217": (_iso_code(3), True),
}


def _types(annotation: Any) -> tuple[set[Any], bool]:
    """The non-None types of an annotation and whether None is allowed."""
    if get_origin(annotation) in (Union, UnionType):
        args = set(get_args(annotation))
        return args - {NoneType}, NoneType in args
    return {annotation}, False


def _converter(model: type[BaseModel], name: str, blank_null: bool) -> ColumnConverter | None:
    info = model.model_fields[name]
    required = info.is_required()
    types, _nullable = _types(info.annotation)
    names = [
        d.func.__qualname__
        for d in model.__pydantic_decorators__.field_validators.values()
        if name in d.info.fields
    ]
    validators = [_KNOWN_FIELD_VALIDATORS[n] for n in names if n in _KNOWN_FIELD_VALIDATORS]
    if len(validators) != len(names) or len(validators) > 1 or len(types) != 1:
        return None  # a rule this module does not reproduce: the model sees every value
    [kind] = types
    if validators:  # a field rule reproduced here
        fast, blank_is_unknown = validators[0]
        return _with_text_nulls(required, blank_null or blank_is_unknown, fast)
    if kind is str and all(isinstance(m, MinLen) and m.min_length <= 1 for m in info.metadata):
        return _text(required, blank_null)
    if kind is dt.datetime:
        return _with_text_nulls(required, blank_null, _datetime)
    if kind is Decimal:
        return _with_text_nulls(required, blank_null, _decimal)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return _with_text_nulls(required, blank_null, _enum(kind))
    return None


def blank_is_null(model: type[BaseModel]) -> bool:
    """Whether the model reads a blank text as unknown (CustomerRecord's `_blank_is_null`)."""
    validators = model.__pydantic_decorators__.model_validators.values()
    return any(d.func.__qualname__ == _BLANK_IS_NULL for d in validators)


def column_plan(model: type[BaseModel]) -> dict[str, ColumnConverter | None] | None:
    """A converter per field of `model` (None where the model must see every value), or
    None when the model has a model-level rule the fast path does not know."""
    model_validators = model.__pydantic_decorators__.model_validators.values()
    if any(d.func.__qualname__ != _BLANK_IS_NULL for d in model_validators):
        return None
    config = model.model_config
    if not config.get("str_strip_whitespace") or config.get("strict"):
        return None
    blank_null = blank_is_null(model)
    return {name: _converter(model, name, blank_null) for name in model.model_fields}
