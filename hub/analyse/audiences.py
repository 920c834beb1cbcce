"""Audiences on the store: trait names checked, membership recomputed, history appended.

After every `crmhub analyse` (in the same transaction as the profiles it reads) and before a
sync whose audience rule changed since it was last computed, each audience of hub.yaml is
evaluated over the profile frame (`analytics.audiences`, vectorised). Who entered and who
exited since the last computation becomes one `audience_events` row each (append-only, with
its time and, on entering, the audience's carried `fields`); `audience_members` then holds
who is in it now. Destinations read the events (`hub.push.audiences`).

Which traits exist is known here, not in `schemas/`: the stored profile columns, the
engine's built-in and hub.yaml's traits, and what the engine derives beside them. A rule or a
carried field naming another is refused with its key path (`audiences[0].rule.all[1].trait:
unknown trait 'churnrisk' (known: ...)`), at `crmhub check` and before any run uses it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from analytics.audiences import changes, members
from analytics.model import AnalysisSpec
from hub.analyse.settings import spec_from_config
from hub.core.clock import now
from hub.store.tables import audience_events, audience_members, audiences, customer_profiles
from schemas.audiences import AudienceConfig, trait_references
from schemas.config import ConfigError, HubConfig

__all__ = [
    "ALIASES",
    "PROFILE_COLUMNS",
    "AudienceChange",
    "check_audiences",
    "known_traits",
    "profile_frame",
    "recompute",
    "rule_hash",
    "stale_audiences",
    "stored_profile_frame",
]

PROFILE_COLUMNS = (
    "golden_id", "recency_days", "frequency", "monetary", "revenue", "profit", "clv_12m",
    "p_alive", "churn_risk", "churn_reasons", "stage", "customer_type", "rfm_segment",
    "next_best_offers",
)  # fmt: skip
DERIVED = ("margin", "cost_to_serve", "birthday")  # the engine's value and birthday columns
ALIASES = {"type": "customer_type", "segment": "rfm_segment"}
"""Short names a rule may use for profile columns (the issue speaks of type and segment)."""
_MONEY = ("monetary", "revenue", "profit", "clv_12m")
_CHUNK = 2_000


@dataclass(frozen=True)
class AudienceChange:
    """What one recomputation changed in one audience."""

    audience: str
    members: int
    entered: int
    exited: int


def known_traits(spec: AnalysisSpec) -> tuple[str, ...]:
    """Every name a rule or a carried field may use, sorted."""
    names = {*PROFILE_COLUMNS, *DERIVED, *ALIASES, *(t.name for t in spec.traits)}
    return tuple(sorted(names))


def check_audiences(config: HubConfig, spec: AnalysisSpec | None = None) -> None:
    """Raise ConfigError listing each unknown trait in hub.yaml's audiences, by key path."""
    known = known_traits(spec or spec_from_config(config.analytics))
    allowed = set(known)
    problems: list[str] = []
    for i, audience in enumerate(config.audiences):
        refs = list(trait_references(audience.rule, f"audiences[{i}].rule"))
        refs += [(f"audiences[{i}].fields[{j}]", f) for j, f in enumerate(audience.fields)]
        problems += [
            f"{path}: unknown trait {name!r} (known: {', '.join(known)})"
            for path, name in refs
            if name not in allowed
        ]
    if problems:
        raise ConfigError("\n".join(problems))


def rule_hash(audience: AudienceConfig) -> str:
    """A fingerprint of the audience's rule: membership is recomputed when it changes."""
    text = audience.rule.model_dump_json(by_alias=True, exclude_none=True)
    return hashlib.sha256(text.encode()).hexdigest()


def profile_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Stored-form profiles (customer_profiles rows: columns plus the `traits` JSON) as one
    frame with a column per profile column, trait and alias; amounts as floats."""
    columns: dict[str, Any] = {k: [r.get(k) for r in rows] for k in PROFILE_COLUMNS}
    for name in _MONEY:  # Decimal from the store, float from the engine: floats here
        columns[name] = pd.to_numeric(pd.Series(columns[name], dtype=object), errors="coerce")
    base = pd.DataFrame(columns, columns=list(PROFILE_COLUMNS))
    traits = pd.DataFrame.from_records([r.get("traits") or {} for r in rows])
    traits = traits.drop(columns=[c for c in traits.columns if c in base.columns])
    frame = pd.concat([base, traits.set_axis(base.index)], axis=1) if len(traits.columns) else base
    for alias, column in ALIASES.items():
        if alias not in frame.columns:
            frame[alias] = frame[column]
    return frame


def stored_profile_frame(conn: Connection) -> tuple[pd.DataFrame, int | None]:
    """The latest analysis's profiles from the store, and that run's id (None: no run yet)."""
    p = customer_profiles.c
    rows = [dict(r) for r in conn.execute(sa.select(customer_profiles)).mappings()]
    run_id = conn.execute(sa.select(sa.func.max(p.run_id))).scalar()
    return profile_frame(rows), run_id


def stale_audiences(conn: Connection, configured: Iterable[AudienceConfig]) -> list[str]:
    """The audiences never computed, or computed with another rule than hub.yaml's now."""
    stored = dict(conn.execute(sa.select(audiences.c.name, audiences.c.rule_hash)).all())
    return [a.name for a in configured if stored.get(a.name) != rule_hash(a)]


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NaT or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, dt.date | dt.datetime | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _insert(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _CHUNK):
        conn.execute(table.insert(), rows[start : start + _CHUNK])


def _carried(frame: pd.DataFrame, ids: np.ndarray, fields: Sequence[str]) -> list[dict[str, Any]]:
    """The carried fields of the rows with these golden ids, in the same order."""
    if not fields or not len(ids):
        return [{} for _ in ids]
    indexed = frame.drop_duplicates("golden_id").set_index("golden_id")
    cols = [f for f in fields if f in indexed.columns]
    # a frame of no columns has no records: keep one (empty) row per id
    picked = indexed.reindex(ids)[cols].to_dict("records") if cols else [{} for _ in ids]
    return [
        {f: str(gid) if f == "golden_id" else _jsonable(row.get(f)) for f in fields}
        for gid, row in zip(ids.tolist(), picked, strict=True)
    ]


def recompute(
    conn: Connection,
    configured: Sequence[AudienceConfig],
    frame: pd.DataFrame,
    run_id: int | None,
    *,
    only: Iterable[str] | None = None,
    at: dt.datetime | None = None,
) -> list[AudienceChange]:
    """Evaluate each audience (or those named in `only`) over the profile frame and record
    who entered and exited: events appended, members replaced, the rule's hash kept.
    Runs in the caller's transaction."""
    when = at or now()
    wanted = None if only is None else set(only)
    m = audience_members.c
    done: list[AudienceChange] = []
    for audience in configured:
        if wanted is not None and audience.name not in wanted:
            continue
        current = members(audience.rule, frame)
        before = np.asarray(
            conn.execute(sa.select(m.golden_id).where(m.audience == audience.name)).scalars().all(),
            dtype=object,
        ).astype(str)
        entered, exited = changes(before, current)
        carried = _carried(frame, entered, audience.fields)
        base = {"audience": audience.name, "at": when, "run_id": run_id}
        events = [{**base, "golden_id": g, "event": "exited", "fields": {}} for g in exited]
        events += [
            {**base, "golden_id": g, "event": "entered", "fields": f}
            for g, f in zip(entered.tolist(), carried, strict=True)
        ]
        _insert(conn, audience_events, events)
        gone = exited.tolist()
        for start in range(0, len(gone), _CHUNK):
            conn.execute(
                audience_members.delete().where(
                    m.audience == audience.name, m.golden_id.in_(gone[start : start + _CHUNK])
                )
            )
        _insert(
            conn,
            audience_members,
            [
                {"audience": audience.name, "golden_id": g, "entered_at": when}
                for g in entered.tolist()
            ],
        )
        row = {"rule_hash": rule_hash(audience), "members": len(current), "run_id": run_id}
        updated = conn.execute(
            audiences.update()
            .where(audiences.c.name == audience.name)
            .values(**row, computed_at=when)
        ).rowcount
        if not updated:
            conn.execute(audiences.insert().values(name=audience.name, computed_at=when, **row))
        done.append(AudienceChange(audience.name, len(current), len(entered), len(exited)))
    return done
