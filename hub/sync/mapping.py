"""Field mapping: turn a stream's records into CustomerRecord / Interaction rows.

A mapping in hub.yaml maps canonical fields to a field path (`contact.email`), a constant,
a concatenation, a split of a display name, or the first non-empty of several fields.
Canonical fields that are not mapped are taken from a same-named field if the record has
one; everything else stays only in the raw payload.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from itertools import repeat
from typing import Any

from pydantic import BaseModel, ValidationError

from hub.core.clock import as_utc
from hub.sync.columnar import blank_is_null, column_plan
from schemas.config import CoalesceExpr, ConcatExpr, ConstExpr, MappingExpr, SplitExpr, StreamConfig
from schemas.customer import CustomerRecord
from schemas.interaction import Interaction

__all__ = ["Mapper", "MappingError", "evaluate", "mapping_fingerprint"]

_PLAIN = frozenset({str, int, float, bool})
_MODELS: dict[str, type[BaseModel]] = {"customer": CustomerRecord, "interaction": Interaction}


class MappingError(ValueError):
    """A mapped record does not fit the canonical model; the message says which field and why."""


def _lookup(record: Mapping[str, Any], path: str) -> Any:
    node: Any = record
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def evaluate(expr: MappingExpr, record: Mapping[str, Any]) -> Any:
    """The value of one mapping expression for one record."""
    if isinstance(expr, str):
        return _lookup(record, expr)
    if isinstance(expr, ConstExpr):
        return expr.const
    if isinstance(expr, ConcatExpr):
        parts = [evaluate(p, record) for p in expr.concat]
        texts = [str(p).strip() for p in parts if not _empty(p)]
        return expr.sep.join(texts) if texts else None
    if isinstance(expr, CoalesceExpr):
        for option in expr.coalesce:
            value = evaluate(option, record)
            if not _empty(value):
                return value
        return None
    if isinstance(expr, SplitExpr):
        return _split(_lookup(record, expr.split), expr)
    raise TypeError(f"unknown mapping expression {expr!r}")


def _split(value: Any, expr: SplitExpr) -> str | None:
    if _empty(value):
        return None
    tokens = [t for t in str(value).split(expr.sep) if t.strip()]
    tokens = [t.strip() for t in tokens]
    if not tokens:
        return None
    if expr.part == "first":
        return tokens[0]
    if expr.part == "last":
        return tokens[-1] if len(tokens) > 1 else None
    if expr.part == "rest":
        return " ".join(tokens[1:]) or None
    if expr.part == "all_but_last":
        return " ".join(tokens[:-1]) or None
    index = expr.part
    return tokens[index] if -len(tokens) <= index < len(tokens) else None


def mapping_fingerprint(stream: StreamConfig) -> str:
    """A short hash of a stream's mapping: records are re-mapped when it changes."""
    return hashlib.sha256(stream.model_dump_json().encode()).hexdigest()[:16]


class Mapper:
    """Maps one stream's records to canonical rows (the columns of the canonical table)."""

    def __init__(self, source: str, stream: StreamConfig) -> None:
        self.source = source
        self.entity = stream.entity
        self.fingerprint = mapping_fingerprint(stream)
        self._model = _MODELS.get(stream.entity)
        # (target, field name, None) for a plain field, (target, None, rule) for the rest
        self._rules: list[tuple[str, str | None, Callable[[Mapping[str, Any]], Any] | None]] = []
        self._consts: dict[str, Any] = {}  # the targets mapped to a constant, and its value
        self._converted = _converted_fields(self._model) if self._model is not None else ()
        self._plan = column_plan(self._model) if self._model is not None else None
        self._blank_null = self._model is not None and blank_is_null(self._model)
        if self._model is not None:
            mapped = dict(stream.mapping)
            for name in self._model.model_fields:
                if name not in mapped and name not in ("source", "source_id"):
                    mapped[name] = name  # same-named field, if the record has one
            for target, expr in mapped.items():
                if isinstance(expr, str) and "." not in expr:
                    self._rules.append((target, expr, None))
                else:
                    self._rules.append((target, None, _bind(expr)))
                    if isinstance(expr, ConstExpr):  # one value for a whole column
                        self._consts[target] = expr.const
        # the source name goes through the model when it is not a plain text (or is remapped)
        self._source_slow = self._plan is None or any(t == "source" for t, _, _ in self._rules)
        if self._plan is not None and not self._source_slow:
            unconvertible: list[int] = []
            self._plan["source"]([source], unconvertible)  # type: ignore[misc]
            self._source_slow = bool(unconvertible)

    @property
    def maps(self) -> bool:
        """Whether this stream's records have canonical rows (False: a raw stream)."""
        return self._model is not None

    def map_many(
        self, records: Sequence[Mapping[str, Any]], source_ids: Sequence[str]
    ) -> list[dict[str, Any] | MappingError | None]:
        """The canonical rows of a batch (a MappingError in place of each record that does
        not fit), converted column by column where the values allow (see hub.sync.columnar)
        and through the model for every other row: the same rows as calling the mapper
        on each record."""
        plan, model = self._plan, self._model
        if model is None:
            return [None] * len(records)
        if plan is None or self._source_slow:
            return [self._or_error(r, sid) for r, sid in zip(records, source_ids, strict=True)]
        names, columns, slow = self._columns(records, source_ids)
        rows: list[dict[str, Any] | MappingError | None] = [
            dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)
        ]
        for i in set(slow):
            rows[i] = self._or_error(records[i], source_ids[i])
        return rows

    def map_columns(
        self, records: Sequence[Mapping[str, Any]], source_ids: Sequence[str]
    ) -> tuple[tuple[str, ...], list[list[Any]]] | None:
        """The canonical rows of a batch as (column names, one list per column): the rows
        `map_many` gives, when every record maps column by column; None when any record
        needs the model (or this stream has no canonical rows)."""
        if self._model is None or self._plan is None or self._source_slow:
            return None
        names, columns, slow = self._columns(records, source_ids)
        return None if slow else (tuple(names), columns)

    def _columns(
        self, records: Sequence[Mapping[str, Any]], source_ids: Sequence[str]
    ) -> tuple[list[str], list[list[Any]], list[int]]:
        """Each canonical column converted column by column (the `extra` column last), and
        the rows (`slow`) whose values only the model can convert."""
        plan = self._plan
        assert plan is not None
        slow: list[int] = []
        names = ["source_id"]
        columns = [plan["source_id"](source_ids, slow)]  # type: ignore[misc]
        extras: list[tuple[str, list[Any]]] = []
        for target, name, rule in self._rules:
            if rule is None:
                column = _column(records, name or "")
            elif target in self._consts:
                column = [self._consts[target]] * len(records)
            else:
                column = list(map(rule, records))
            if target not in plan:
                extras.append((target, column))
                continue
            convert = plan[target]
            if convert is None:  # only the model knows this field's rule
                slow.extend(i for i, v in enumerate(column) if v is not None)
                convert = _unchanged
            names.append(target)
            columns.append(convert(column, slow))
        names.extend(n for n in plan if n not in names and n != "source")
        columns.extend([None] * len(records) for _ in range(len(names) - len(columns)))
        names.append("extra")
        columns.append(_extras(extras, len(records), slow, blank_null=self._blank_null))
        return names, columns, slow

    def _or_error(
        self, record: Mapping[str, Any], source_id: str
    ) -> dict[str, Any] | MappingError | None:
        try:
            return self(record, source_id)
        except MappingError as exc:
            return exc

    def __call__(self, record: Mapping[str, Any], source_id: str) -> dict[str, Any] | None:
        """The canonical row for `record`, None for raw streams; MappingError if invalid."""
        if self._model is None:
            return None
        values: dict[str, Any] = {"source": self.source, "source_id": source_id}
        get = record.get
        for target, name, rule in self._rules:
            value = rule(record) if rule is not None else get(name or "")
            if value is not None:
                values[target] = value
        try:
            model = self._model.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}"
                f" (got {e.get('input')!r})"
                for e in exc.errors()
            )
            raise MappingError(f"does not fit {self._model.__name__}: {problems}") from None
        return _columns(model, self._converted)


def _column(records: Sequence[Mapping[str, Any]], name: str) -> list[Any]:
    """One field of every record (None where absent)."""
    try:
        return list(map(dict.get, records, repeat(name)))  # type: ignore[arg-type]
    except TypeError:  # records that are mappings but not dicts
        return [r.get(name) for r in records]


def _unchanged(column: Sequence[Any], _slow: list[int]) -> list[Any]:
    return list(column)


_EXTRA_PLAIN = (str, int, bool)
_NO_EXTRA: dict[str, Any] = {}  # the `extra` of every row without extras: read, never written


def _extras(
    extras: list[tuple[str, list[Any]]], rows: int, slow: list[int], *, blank_null: bool
) -> list[dict[str, Any]]:
    """The `extra` column: mapped targets beyond the model's fields, kept verbatim (JSON
    values); a row holding any other kind of value goes through the model."""
    out: list[dict[str, Any]] = [_NO_EXTRA] * rows  # shared, never written to
    for target, column in extras:
        for i, v in enumerate(column):
            if v is None:
                continue
            if out[i] is _NO_EXTRA:
                out[i] = {}
            if blank_null and type(v) is str and (not v or v.isspace()):
                out[i][target] = None
            elif type(v) in _EXTRA_PLAIN:
                out[i][target] = v
            else:
                slow.append(i)
    return out


def _bind(expr: MappingExpr) -> Callable[[Mapping[str, Any]], Any]:
    if isinstance(expr, ConstExpr):
        const = expr.const
        return lambda _record: const
    return lambda record: evaluate(expr, record)


def _converted_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields whose values need converting to columns (enums, datetimes, dates): only
    those are looked at per record."""
    names = []
    for name, info in model.model_fields.items():
        text = repr(info.annotation)
        if "datetime" in text or "date" in text or "Enum" in text or _has_enum(info.annotation):
            names.append(name)
    return tuple(names)


def _has_enum(annotation: Any) -> bool:
    args = getattr(annotation, "__args__", None) or (annotation,)
    return any(isinstance(a, type) and issubclass(a, Enum) for a in args)


def _columns(model: BaseModel, converted: tuple[str, ...]) -> dict[str, Any]:
    row = dict(model.__dict__)  # the declared fields only; extras live in model_extra
    del row["source"]
    for name in converted:
        value = row[name]
        if value is None or type(value) in _PLAIN:
            continue
        if isinstance(value, Enum):
            row[name] = value.value
        elif isinstance(value, dt.datetime):
            row[name] = as_utc(value)
        elif isinstance(value, dt.date):
            row[name] = value.isoformat()
    extra = model.model_extra
    row["extra"] = model.model_dump(mode="json", include=set(extra)) if extra else {}
    return row
