"""Golden record maintenance: merge, unmerge, override a field, and undo any of them.

Each operation is one transaction and one append-only action. Merges and unmerges become
pair constraints that every later `crmhub resolve` honours; overrides survive re-runs and
show as provenance "manual, by X, at T". The stable-id rules hold: a merge keeps the oldest
id, records moved out get a new id (or the target's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection

from hub.core.clock import as_utc
from hub.core.states import CandidateStatus, Decision
from hub.resolve.run import CONSTRAINING
from hub.steward.edits import ActionResult, Edit, Key, SurvivorshipSettings
from hub.steward.errors import Conflict, InvalidInput, NotFound
from hub.store.tables import (
    golden_overrides,
    golden_records,
    match_candidates,
    steward_actions,
    steward_decisions,
)
from identity.contact import normalise_email
from identity.phones import normalise_phone
from identity.survivorship import GOLDEN_FIELDS
from schemas.customer import CustomerRecord

__all__ = [
    "CannotLink",
    "apply_merge",
    "apply_unmerge",
    "cannot_links",
    "merge_golden",
    "override_field",
    "undo_action",
    "undo_detail",
    "unmerge_golden",
]

EDITABLE = tuple(f for f in GOLDEN_FIELDS if f != "updated_at")


def apply_merge(
    edit: Edit,
    golden_ids: Sequence[str],
    versions: Mapping[str, int | None],
    deciding: Sequence[Key] = (),
) -> dict[str, Any]:
    """Merge golden records into the oldest of them; returns the undo detail."""
    ids = list(dict.fromkeys(golden_ids))
    if len(ids) < 2:
        raise InvalidInput("merge needs two or more different golden ids")
    rows = [edit.active(gid, versions.get(gid)) for gid in ids]
    _refuse_cannot_links(edit, [edit.members(gid) for gid in ids], deciding)
    survivor = min(rows, key=lambda r: (r.created_at, r.golden_id)).golden_id
    anchor = edit.members(survivor)[0]
    carried_by_id: dict[str, list[str]] = {}
    absorbed = []
    kept = edit.overrides(survivor)
    for row in rows:
        gid = row.golden_id
        if gid == survivor:
            continue
        moved = edit.members(gid)
        edit.move(moved, survivor)
        for key in moved:
            edit.constrain(anchor, key, Decision.MATCH, note=f"merge {gid} into {survivor}")
        carried = []
        for name, (value, by, at) in edit.overrides(gid).items():
            if name not in kept:
                edit.conn.execute(
                    golden_overrides.insert().values(
                        golden_id=survivor, field=name, value=value, cleared=False, by=by, at=at
                    )
                )
                kept[name] = (value, by, at)
                carried.append(name)
        carried_by_id[gid] = carried
        edit.retire_into(gid, survivor)
        absorbed.append({"golden_id": gid, "members": [list(k) for k in moved]})
    edit.rebuild(survivor)
    return {
        "op": "merge",
        "survivor": survivor,
        "absorbed": absorbed,
        "carried": sorted({f for fs in carried_by_id.values() for f in fs}),
    }


@dataclass(frozen=True, kw_only=True)
class CannotLink:
    """A "not a match" in force between two records: the latest match / no_match / reset
    decision of the pair, with who made it, when, in which action and why."""

    left: Key
    right: Key
    decided_by: str
    decided_at: datetime
    action_id: int | None
    note: str | None

    def describe(self) -> str:
        """`web/w-6 and erp/1006 were decided not to match by sam at 2026-12-05 07:40 UTC
        (action 12)`: the pair, who, when and the action to undo."""
        (ls, lid), (rs, rid) = self.left, self.right
        text = (
            f"{ls}/{lid} and {rs}/{rid} were decided not to match by {self.decided_by} "
            f"at {as_utc(self.decided_at):%Y-%m-%d %H:%M} UTC"
        )
        if self.action_id is not None:
            text += f" (action {self.action_id}" + (f": {self.note})" if self.note else ")")
        return text


def cannot_links(conn: Connection, groups: Sequence[Sequence[Key]]) -> list[CannotLink]:
    """The "not a match" decisions in force between records of different `groups` (e.g. the
    members of two golden records), oldest first."""
    owner = {key: i for i, group in enumerate(groups) for key in group}
    if not owner:
        return []
    d = steward_decisions.c
    latest: dict[tuple[Key, Key], Any] = {}
    keys = list(owner)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = conn.execute(
            sa.select(steward_decisions).where(
                d.decision.in_(CONSTRAINING),
                sa.tuple_(d.left_source, d.left_source_id).in_(chunk),
                sa.tuple_(d.right_source, d.right_source_id).in_(keys),
            )
        )
        for row in rows:
            pair = ((row.left_source, row.left_source_id), (row.right_source, row.right_source_id))
            if pair not in latest or latest[pair].id < row.id:
                latest[pair] = row
    return [
        CannotLink(
            left=a,
            right=b,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            action_id=row.action_id,
            note=row.note,
        )
        for (a, b), row in sorted(latest.items(), key=lambda item: item[1].id)
        if row.decision == Decision.NO_MATCH and owner[a] != owner[b]
    ]


def _refuse_cannot_links(
    edit: Edit, groups: Sequence[Sequence[Key]], deciding: Sequence[Key] = ()
) -> None:
    """A merge may not join records a steward said are different people (undo that first)."""
    for link in cannot_links(edit.conn, groups):
        if {link.left, link.right} != set(deciding):
            action = f"undo action {link.action_id}" if link.action_id else "undo that decision"
            raise Conflict(f"{link.describe()}; {action} or unmerge first")


def apply_unmerge(
    edit: Edit,
    golden_id: str,
    members: Sequence[Key],
    version: int | None,
    target: str | None = None,
) -> dict[str, Any]:
    """Move source records out of a golden record, to a new one or to `target`."""
    edit.active(golden_id, version)
    current = edit.members(golden_id)
    moved = sorted({(str(s), str(i)) for s, i in members})
    if not moved:
        raise InvalidInput("unmerge needs at least one source record to move out")
    strangers = [k for k in moved if k not in current]
    if strangers:
        raise InvalidInput(
            f"{', '.join('/'.join(k) for k in strangers)} not in golden record {golden_id}"
        )
    remaining = [k for k in current if k not in moved]
    if not remaining:
        raise InvalidInput(
            f"that would move every record out of {golden_id}; use merge to join it to another"
        )
    if target == golden_id:
        raise InvalidInput("the target is the golden record itself")
    created = target is None
    if target is not None:
        edit.active(target, None)
    destination = target or edit.new_golden_id(moved)
    edit.move(moved, destination)
    note = f"unmerge from {golden_id}"
    for key in moved:
        for other in remaining:
            edit.constrain(key, other, Decision.NO_MATCH, note=note)
    anchor = moved[0] if created else edit.members(destination)[0]
    for key in moved:
        if key != anchor:
            edit.constrain(anchor, key, Decision.MATCH, note=note)
    edit.rebuild(golden_id)
    edit.rebuild(destination, new=created)
    return {
        "op": "unmerge",
        "source": golden_id,
        "target": destination,
        "created": created,
        "moved": [list(k) for k in moved],
    }


def merge_golden(
    conn: Connection,
    settings: SurvivorshipSettings,
    actor: str,
    golden_ids: Sequence[str],
    versions: Mapping[str, int | None],
) -> ActionResult:
    edit = Edit(conn, settings, actor)
    detail = apply_merge(edit, golden_ids, versions)
    others = ", ".join(a["golden_id"] for a in detail["absorbed"])
    return edit.finish("merge", f"merged {others} into {detail['survivor']}", detail)


def unmerge_golden(
    conn: Connection,
    settings: SurvivorshipSettings,
    actor: str,
    golden_id: str,
    members: Sequence[Key],
    version: int | None,
    target: str | None = None,
) -> ActionResult:
    edit = Edit(conn, settings, actor)
    detail = apply_unmerge(edit, golden_id, members, version, target)
    summary = f"moved {len(detail['moved'])} record(s) from {golden_id} to {detail['target']}"
    return edit.finish("unmerge", summary, detail)


def valid_override(field: str, value: str, country: str | None = None) -> str:
    """`value` if the canonical model (and, for e-mail and phone, the standardisers that
    matching uses) accepts it for `field`; else InvalidInput (422) saying what to write."""
    try:
        CustomerRecord.model_validate({"source": "steward", "source_id": "override", field: value})
    except ValidationError as error:
        problem = error.errors()[0]["msg"].removeprefix("Value error, ")
        raise InvalidInput(f"{field}: {problem}") from error
    if field == "email" and normalise_email(value) is None:
        raise InvalidInput(f"email: {value!r} is not an e-mail address; write name@example.com")
    if field == "phone" and normalise_phone(value, country) is None:
        raise InvalidInput(
            f"phone: {value!r} is not a valid phone number; write it with its country code, "
            "e.g. +36 30 123 4567"
        )
    return value


def override_field(
    conn: Connection,
    settings: SurvivorshipSettings,
    actor: str,
    golden_id: str,
    field: str,
    value: Any,
    version: int | None,
) -> ActionResult:
    """Set (or with value None, clear) a steward's override of one golden field."""
    if field not in EDITABLE:
        raise InvalidInput(f"unknown golden field {field!r}; use one of {', '.join(EDITABLE)}")
    edit = Edit(conn, settings, actor)
    row = edit.active(golden_id, version)
    previous = edit.overrides(golden_id).get(field)
    if value is not None and not isinstance(value, str | int | float | bool):
        raise InvalidInput(f"{field}: an override is a single text value")
    value = None if value is None or str(value).strip() == "" else str(value).strip()
    if value is not None:
        country = (row.record or {}).get("country") if field == "phone" else None
        value = valid_override(field, value, country)
    if previous is None and value is None:
        raise InvalidInput(f"{field} has no override to clear")
    edit.conn.execute(
        golden_overrides.insert(),
        {
            "golden_id": golden_id,
            "field": field,
            "value": value,
            "cleared": value is None,
            "by": actor,
            "at": edit.stamp,
        },
    )
    edit.rebuild(golden_id)  # reads the overrides back as stored (the store's timestamps)
    before = None if previous is None else {"value": previous[0], "by": previous[1]}
    detail = {"op": "override", "golden_id": golden_id, "field": field, "value": value}
    detail["previous"] = before
    if previous is not None:
        detail["previous_at"] = str(previous[2])
    summary = (
        f"cleared the override of {field} on {golden_id}"
        if value is None
        else f"set {field} of {golden_id} to {value!r}"
    )
    return edit.finish("override", summary, detail)


def undo_detail(edit: Edit, detail: Mapping[str, Any]) -> None:
    """Revert one merge / unmerge / override detail inside `edit`."""
    op = detail.get("op")
    if op == "merge":
        survivor = detail["survivor"]
        for entry in detail["absorbed"]:
            gid = entry["golden_id"]
            edit.move([tuple(k) for k in entry["members"]], gid)
            edit.rebuild(gid)
        for name in detail.get("carried", []):
            _clear_override(edit, survivor, name)
        edit.rebuild(survivor)
    elif op == "unmerge":
        edit.move([tuple(k) for k in detail["moved"]], detail["source"])
        edit.rebuild(detail["target"])
        edit.rebuild(detail["source"])
    elif op == "override":
        previous = detail.get("previous")
        gid = detail["golden_id"]
        edit.conn.execute(
            golden_overrides.insert().values(
                golden_id=gid,
                field=detail["field"],
                value=None if previous is None else previous["value"],
                cleared=previous is None,
                by=edit.actor if previous is None else previous["by"],
                at=edit.stamp,
            )
        )
        edit.rebuild(gid)


def _clear_override(edit: Edit, golden_id: str, name: str) -> None:
    edit.conn.execute(
        golden_overrides.insert().values(
            golden_id=golden_id, field=name, value=None, cleared=True, by=edit.actor, at=edit.stamp
        )
    )


def undo_action(
    conn: Connection, settings: SurvivorshipSettings, actor: str, action_id: int
) -> ActionResult:
    """Undo a steward action, if nothing has changed its golden records since."""
    a = steward_actions.c
    row = conn.execute(sa.select(steward_actions).where(a.id == action_id)).first()
    if row is None:
        raise NotFound(f"no steward action {action_id}")
    if row.kind == "undo":
        raise InvalidInput(f"action {action_id} is itself an undo; redo the change instead")
    done = conn.execute(sa.select(a.id, a.actor).where(a.undoes == action_id)).first()
    if done is not None:
        raise Conflict(f"action {action_id} was already undone (action {done.id} by {done.actor})")
    detail = row.detail
    g = golden_records.c
    for gid, version in (detail.get("versions_after") or {}).items():
        now_version = conn.execute(sa.select(g.version).where(g.golden_id == gid)).scalar()
        if now_version != version:
            raise Conflict(
                f"golden record {gid} changed after action {action_id}; "
                "undo the later changes first (newest first)"
            )
    edit = Edit(conn, settings, actor)
    edit.versions.update(detail.get("versions_after") or {})
    undo_detail(edit, detail.get("sub") or detail)
    # newest first: a pair constrained twice by the action (a merge's link and the decision
    # itself) ends at what it was before the action, not at the action's first change
    edit.restore_pairs(list(reversed(detail.get("pairs") or [])))
    if row.kind == "decision":  # every pair the decision covered goes back to the queue
        pairs = detail.get("candidate_ids") or [detail["candidate_id"]]
        conn.execute(
            match_candidates.update()
            .where(match_candidates.c.id.in_(pairs))
            .values(status=detail.get("previous_status", CandidateStatus.OPEN))
        )
    return edit.finish(
        "undo", f"undid action {action_id}: {row.summary}", {"undone": action_id}, undoes=action_id
    )
