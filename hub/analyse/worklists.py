"""Proactive worklist items from hub.yaml's rules, opened after every `crmhub analyse`.

Each enabled rule of `worklists.rules` (schemas/worklists.py) is evaluated on the fresh
profiles (hub.analyse.worklist_rules): a firing opens an item on the worklist beside the
call-backs, with its reason, suggested channel and action, due day and owner (the rule's, or
the group's stewards in turn). It is idempotent: an item's `rule_key` (`rule|customer|day`,
unique in the store) is never opened twice, whether analyse runs again the same day or after
a merge moved the customer (the key is checked under the golden record its member is in now).

Items are never closed by a rule: when the condition an open item was opened for no longer
holds, it is marked "no longer applies" (`stale_since`, an event), and cleared again if it
comes back. People decide. An owner who is not an active steward or admin is not given
items: the rule is skipped with a line saying why, and the rest run.

The churn risk of each analysed day is kept in `worklist_risk_seen` (the latest day's and the
one before), so "risk rose since the previous analyse" compares with the previous day's run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from analytics.model import AnalysisSpec
from hub.analyse.audiences import ALIASES, known_traits
from hub.analyse.settings import spec_from_config
from hub.analyse.worklist_rules import Firing, fire, rule_key, still_holds
from hub.core.clock import now
from hub.core.states import Role
from hub.store.hub_source import golden_ids_of, member_key
from hub.store.tables import (
    crosswalk,
    customer_profiles,
    customer_records,
    users,
    worklist_events,
    worklist_items,
    worklist_risk_seen,
)
from schemas.config import ConfigError, HubConfig
from schemas.worklists import WorklistRule, Worklists

__all__ = ["ACTOR", "RuleRun", "check_worklists", "generate_worklists", "load_profiles"]

ACTOR = "crmhub analyse"
OPEN = "open"
_CHUNK = 2_000


@dataclass(frozen=True)
class RuleRun:
    """What one rule did in one run: items opened, already there, marked as no longer
    applying or applying again; `skipped` says why a rule gave nobody items."""

    rule: str
    kind: str
    opened: int = 0
    already: int = 0
    no_longer_applies: int = 0
    applies_again: int = 0
    skipped: str = ""

    def line(self) -> str:
        if self.skipped:
            return f"worklist rule {self.rule}: skipped — {self.skipped}"
        return (
            f"worklist rule {self.rule} ({self.kind}): {self.opened} opened, {self.already} "
            f"already open or done, {self.no_longer_applies} no longer apply, "
            f"{self.applies_again} apply again"
        )


def check_worklists(config: HubConfig, spec: AnalysisSpec | None = None) -> None:
    """Raise ConfigError naming each unknown trait a worklist rule reads, by key path."""
    known = known_traits(spec or spec_from_config(config.analytics))
    allowed = set(known)
    problems = [
        f"{path}: unknown trait {name!r} (known: {', '.join(known)})"
        for i, rule in enumerate(config.worklists.rules)
        for path, name in rule.traits_read(f"worklists.rules[{i}]")
        if name not in allowed
    ]
    risk = {r.read_trait for r in config.worklists.rules if r.kind == "churn_rise"}
    if len(risk) > 1:
        problems.append(
            "worklists.rules: churn_rise rules read different risk traits "
            f"({', '.join(sorted(risk))}); use one"
        )
    if problems:
        raise ConfigError("\n".join(problems))


def load_profiles(conn: Connection) -> dict[str, dict[str, Any]]:
    """The stored profiles by golden id, each one mapping of columns, traits and aliases."""
    found: dict[str, dict[str, Any]] = {}
    result = conn.execute(sa.select(customer_profiles))
    keys = list(map(str, result.keys()))  # plain tuples: a mapping per row costs twice
    for values in result:
        columns = dict(zip(keys, values, strict=True))
        flat = {**(columns.pop("traits") or {}), **columns}
        for alias, column in ALIASES.items():
            flat.setdefault(alias, flat.get(column))
        found[str(columns["golden_id"])] = flat
    return found


def _previous_risks(
    conn: Connection, profiles: Mapping[str, Mapping[str, Any]], as_of: dt.date, trait: str
) -> dict[str, float | None]:
    """Each customer's churn risk at the previous analysed day; records today's."""
    r = worklist_risk_seen.c
    seen = {
        row[0]: row
        for row in conn.execute(
            sa.select(r.golden_id, r.as_of, r.churn_risk, r.prev_as_of, r.prev_churn_risk)
        )
    }
    previous: dict[str, float | None] = {}
    rows: list[dict[str, Any]] = []
    for golden_id, profile in profiles.items():
        risk = profile.get(trait)
        risk = float(risk) if isinstance(risk, int | float) and not isinstance(risk, bool) else None
        old = seen.get(golden_id)
        if old is None:
            prev_day, prev_risk = None, None
        elif old[1] == as_of:  # analysed again the same day: keep the day before
            prev_day, prev_risk = old[3], old[4]
        elif old[1] < as_of:
            prev_day, prev_risk = old[1], old[2]
        else:  # analysed as of an earlier day than before: nothing earlier is known
            prev_day, prev_risk = None, None
        previous[golden_id] = prev_risk
        rows.append(
            {
                "golden_id": golden_id,
                "as_of": as_of,
                "churn_risk": risk,
                "prev_as_of": prev_day,
                "prev_churn_risk": prev_risk,
            }
        )
    conn.execute(worklist_risk_seen.delete())
    for start in range(0, len(rows), _CHUNK):
        conn.execute(worklist_risk_seen.insert(), rows[start : start + _CHUNK])
    return previous


def _stewards(conn: Connection) -> set[str]:
    u = users.c
    rows = conn.execute(
        sa.select(u.username).where(u.active.is_(True), u.role.in_([Role.STEWARD, Role.ADMIN]))
    )
    return {str(name) for name in rows.scalars()}


def _owners(rule: WorklistRule, lists: Worklists, stewards: set[str]) -> tuple[list[str], str]:
    """Who the rule's items go to, in turn; or why nobody."""
    if rule.owner is not None:
        if rule.owner not in stewards:
            return [], f"owner {rule.owner!r} is not an active steward or admin of the hub"
        return [rule.owner], ""
    group = lists.groups[rule.group or ""]
    members = [m for m in group if m in stewards]
    if not members:
        return [], f"no one in group {rule.group!r} ({', '.join(group)}) is an active steward"
    return members, ""


def _event(conn: Connection, item_id: int, event: str, **detail: Any) -> None:
    conn.execute(
        worklist_events.insert().values(
            item_id=item_id, event=event, actor=ACTOR, at=now(), detail=detail
        )
    )


def _anchors(conn: Connection, golden_ids: Sequence[str]) -> dict[str, str]:
    """The member each customer's items are filed under: its longest-standing live source
    record, as hub.store.hub_source.anchor_member picks it — for many customers in a few
    queries (one per 500) instead of one each."""
    x, c = crosswalk.c, customer_records.c
    found: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(golden_ids), 500):
        rows = conn.execute(
            sa.select(x.golden_id, x.source, x.source_id, x.assigned_at, c.deleted)
            .join(
                customer_records,
                sa.and_(c.source == x.source, c.source_id == x.source_id),
                isouter=True,
            )
            .where(x.golden_id.in_(golden_ids[start : start + 500]))
        )
        for golden_id, source, source_id, assigned_at, deleted in rows:
            rank = (bool(deleted), assigned_at, source, source_id)
            if golden_id not in found or rank < found[golden_id]:
                found[golden_id] = rank
    return {g: member_key(rank[2], rank[3]) for g, rank in found.items()}


def _open(conn: Connection, firings: Sequence[tuple[Firing, str]]) -> int:
    """Open an item for each (firing, owner) whose customer has a member record; how many
    were opened. Items and their `created` events go in in batches."""
    anchors = _anchors(conn, sorted({f.golden_id for f, _ in firings}))
    stamp = now()
    rows = [
        {
            "kind": firing.kind,
            "golden_id": firing.golden_id,
            "member": anchors[firing.golden_id],
            "topic": firing.topic[:200],
            "reason": firing.reason,
            "channel": firing.channel,
            "owner": owner,
            "due_on": firing.due_on,
            "first_due_on": firing.due_on,
            "status": OPEN,
            "created_by": ACTOR,
            "created_at": stamp,
            "updated_at": stamp,
            "version": 1,
            "rule": firing.rule,
            "rule_key": firing.key,
            "rule_data": firing.data or None,
        }
        for firing, owner in firings
        if firing.golden_id in anchors
    ]
    w = worklist_items.c
    for start in range(0, len(rows), _CHUNK):
        batch = rows[start : start + _CHUNK]
        conn.execute(worklist_items.insert(), batch)
        ids = dict(
            conn.execute(
                sa.select(w.rule_key, w.id).where(w.rule_key.in_([r["rule_key"] for r in batch]))
            ).all()
        )
        conn.execute(
            worklist_events.insert(),
            [
                {
                    "item_id": ids[r["rule_key"]],
                    "event": "created",
                    "actor": ACTOR,
                    "at": stamp,
                    "detail": {"owner": r["owner"], "due_on": str(r["due_on"]), "rule": r["rule"]},
                }
                for r in batch
            ],
        )
    return len(rows)


def _existing(conn: Connection, rule: str) -> list[tuple[Any, str, dt.date]]:
    """The rule's items with the golden id each is under now and the day it is about."""
    w = worklist_items.c
    rows = conn.execute(
        sa.select(w.id, w.member, w.golden_id, w.rule_key, w.rule_data, w.status)
        .add_columns(w.stale_since, w.version)
        .where(w.rule == rule)
    ).all()
    now_in = golden_ids_of(conn, (row.member for row in rows))
    return [
        (row, now_in.get(row.member, row.golden_id), dt.date.fromisoformat(row.rule_key[-10:]))
        for row in rows
    ]


def _mark(conn: Connection, row: Any, stale: bool) -> None:
    w = worklist_items.c
    conn.execute(
        worklist_items.update()
        .where(w.id == row.id, w.version == row.version)
        .values(stale_since=now() if stale else None, version=row.version + 1, updated_at=now())
    )
    _event(conn, row.id, "no_longer_applies" if stale else "applies_again")


def _run_rule(
    conn: Connection,
    rule: WorklistRule,
    lists: Worklists,
    profiles: Mapping[str, Mapping[str, Any]],
    previous: Mapping[str, float | None],
    stewards: set[str],
    as_of: dt.date,
) -> RuleRun:
    owners, why = _owners(rule, lists, stewards)
    if not owners:
        return RuleRun(rule.name, rule.kind, skipped=why)
    existing = _existing(conn, rule.name)
    keys = {row.rule_key for row, _, _ in existing}
    keys |= {rule_key(rule.name, golden, day) for _, golden, day in existing}
    turn = len(existing)  # round robin carries on where the last run stopped
    already = 0
    wanted: list[tuple[Firing, str]] = []
    for golden_id in sorted(profiles):
        firing = fire(rule, profiles[golden_id], as_of, previous.get(golden_id))
        if firing is None:
            continue
        if firing.key in keys:
            already += 1
            continue
        keys.add(firing.key)
        wanted.append((firing, owners[(turn + len(wanted)) % len(owners)]))
    opened = _open(conn, wanted) if wanted else 0
    stale = again = 0
    for row, golden, day in existing:
        if row.status != OPEN:
            continue
        holds = still_holds(rule, profiles.get(golden), day, row.rule_data, as_of)
        if not holds and row.stale_since is None:
            _mark(conn, row, stale=True)
            stale += 1
        elif holds and row.stale_since is not None:
            _mark(conn, row, stale=False)
            again += 1
    return RuleRun(rule.name, rule.kind, opened, already, stale, again)


def generate_worklists(
    conn: Connection, lists: Worklists, as_of: dt.date, *, only: Iterable[str] | None = None
) -> list[RuleRun]:
    """Evaluate the enabled rules (or those named in `only`) on the stored profiles as of
    `as_of` and open, keep or mark their items, in the caller's transaction."""
    wanted = None if only is None else set(only)
    rules = [r for r in lists.rules if r.enabled and (wanted is None or r.name in wanted)]
    if not rules:
        return []
    profiles = load_profiles(conn)
    risk_traits = {r.read_trait for r in rules if r.kind == "churn_rise"}
    previous: dict[str, float | None] = {}
    if risk_traits:
        previous = _previous_risks(conn, profiles, as_of, sorted(risk_traits)[0])
    stewards = _stewards(conn)
    return [_run_rule(conn, r, lists, profiles, previous, stewards, as_of) for r in rules]
