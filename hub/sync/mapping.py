"""Field mapping: turn a stream's records into CustomerRecord / Interaction rows.

A mapping in hub.yaml maps canonical fields to a field path (`contact.email`), a constant,
a concatenation, a split of a display name, or the first non-empty of several fields.
Canonical fields that are not mapped are taken from a same-named field if the record has
one; everything else stays only in the raw payload.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError

from hub.core.clock import as_utc
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
        self._converted = _converted_fields(self._model) if self._model is not None else ()
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
