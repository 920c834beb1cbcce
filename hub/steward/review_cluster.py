"""Review by cluster: a candidate record against a golden record and all its members, decided
once for every pair between them.

The resolver stores uncertain *pairs*; when one record is close to a golden record of three
members, that is three pairs asking the same question. Here the pairs are grouped by the two
golden records they would join (the smaller one is the *candidate*, the other the *golden
record*), and one decision is recorded for every pair of the group, append-only, in one
action with one audit entry: match merges the two golden records; not a match records a
cannot-link for every pair (the later resolves keep them apart); unsure and skip record the
judgement without a constraint. A group is named by its lowest pair id (its `id`), so links to
any pair of the group still open it.

A "not a match" is never overridden as a side effect: when a steward said earlier that the
candidate and one member are different people (and that decision still stands), a match on
the group is refused — as Reltio and Informatica MDM keep a "not a match" until someone
removes it — with the pair, who, when and the action to undo; the group's page says so
before anyone decides. Only a group of one pair, asked again because a record changed since,
may overrule its own earlier answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.states import Decision
from hub.resolve.run import load_customer_records, provenance_json
from hub.steward.edits import ActionResult, Edit, Key, SurvivorshipSettings
from hub.steward.errors import Conflict, InvalidInput, NotFound
from hub.steward.maintenance import CannotLink, apply_merge, cannot_links
from hub.steward.review import (
    DECISION_WORDS,
    QueueFilter,
    cached_queue,
    candidate_row,
    decide,
    open_row,
    page_copy,
    queue_items,
    record_decision,
)
from hub.store.tables import crosswalk, match_candidates
from identity.explain import describe_comparisons
from identity.survivorship import GOLDEN_FIELDS, survive

__all__ = [
    "MatchRefused",
    "decide_group",
    "decide_many",
    "explain_pair",
    "list_groups",
    "review_group",
]


class MatchRefused(Conflict):
    """A match on a group refused because a "not a match" still stands between the
    candidate and a member (409): the message names the pair, who, when and what to do."""


_SHOWN = tuple(f for f in GOLDEN_FIELDS if f not in ("kind", "updated_at"))


def _label(key: Key | Sequence[str]) -> str:
    return f"{key[0]}/{key[1]}"


def _orient(a: str, b: str, sizes: dict[str, int], right_of_first: str) -> tuple[str, str]:
    """(candidate, golden): the smaller golden record is the candidate; on a tie, the side
    the first pair has on its right."""
    candidate = min((a, b), key=lambda g: (sizes.get(g, 0), g != right_of_first))
    return candidate, (b if candidate == a else a)


def list_groups(
    conn: Connection, flt: QueueFilter | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """(one page of groups, total groups) ordered like the pair queue: the most consequential
    pair of a group (uncertainty x records affected) places it.

    Each group keeps the fields of its first pair (`id`, `left`, `right`, `score`, `kind`,
    `status`, `records_affected`, `priority`) so pair-queue clients keep working, and adds
    `candidate` / `golden` ({golden_id, size, records: every member as [source,
    source_id]}), `pair_ids`, `pair_count` and `min_score` / `max_score` (0..1).
    """
    flt = flt or QueueFilter()
    out = cached_queue(conn, ("groups", flt), lambda: _grouped(queue_items(conn, flt)))
    page = page_copy(out[offset : offset + limit])  # the cached queue stays as it is
    records = _records(conn, {g[side]["golden_id"] for g in page for side in _SIDES})
    for g in page:
        for side in _SIDES:
            g[side]["records"] = records.get(g[side]["golden_id"], [])
    return page, len(out)


def _grouped(pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ordered pair queue grouped by the two golden records each pair would join, in
    the order of each group's most consequential pair (members' `records` left empty)."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for item in pairs:  # already in priority order
        key = frozenset((item["left"]["golden_id"], item["right"]["golden_id"]))
        groups.setdefault(key, []).append(item)
    out = []
    for members in groups.values():
        first = min(members, key=lambda i: i["id"])
        gl, gr = first["left"]["golden_id"], first["right"]["golden_id"]
        sizes = _sizes(members)
        cand, gold = _orient(gl, gr, sizes, gr)
        scores = [i["score"] for i in members]
        top = members[0]  # the most consequential pair
        out.append(
            {
                **first,
                "priority": top["priority"],
                "records_affected": top["records_affected"],
                "candidate": {"golden_id": cand, "size": sizes[cand], "records": []},
                "golden": {"golden_id": gold, "size": sizes[gold], "records": []},
                "pair_ids": sorted(i["id"] for i in members),
                "pair_count": len(members),
                "min_score": min(scores),
                "max_score": max(scores),
            }
        )
    return out


_SIDES = ("candidate", "golden")


def _records(conn: Connection, golden_ids: set[str]) -> dict[str, list[list[str]]]:
    """Every member of each golden record, as [source, source_id] in sorted order."""
    x = crosswalk.c
    found: dict[str, list[list[str]]] = {}
    ids = sorted(golden_ids)
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            sa.select(x.golden_id, x.source, x.source_id)
            .where(x.golden_id.in_(ids[start : start + 500]))
            .order_by(x.golden_id, x.source, x.source_id)
        )
        for row in rows:
            found.setdefault(row.golden_id, []).append([row.source, row.source_id])
    return found


def _sizes(items: list[dict[str, Any]]) -> dict[str, int]:
    """Each golden record's size, as the pair queue read it."""
    return {
        side["golden_id"]: side["golden_size"]
        for item in items
        for side in (item["left"], item["right"])
    }


@dataclass(frozen=True)
class _Group:
    candidate: str  # golden id of the candidate side
    golden: str
    rows: list[Any]  # match_candidates rows, by id


def _group(conn: Connection, edit: Edit, row: Any) -> _Group | None:
    """The pairs, in `row`'s status, between the two golden records `row` joins (None when
    its records already share one golden record). Conflict when none is left in that status:
    on PostgreSQL, where stewards write concurrently, another steward's decision on the group
    can commit between reading `row` and this query."""
    left: Key = (row.left_source, row.left_source_id)
    right: Key = (row.right_source, row.right_source_id)
    gl, gr = edit.golden_of(left), edit.golden_of(right)
    if gl == gr:
        return None
    owner = {k: gl for k in edit.members(gl)} | {k: gr for k in edit.members(gr)}
    m = match_candidates.c
    keys = list(owner)
    rows = []
    for r in conn.execute(
        sa.select(match_candidates)
        .where(
            m.status == row.status,
            sa.tuple_(m.left_source, m.left_source_id).in_(keys),
            sa.tuple_(m.right_source, m.right_source_id).in_(keys),
        )
        .order_by(m.id)
    ):
        a, b = owner[(r.left_source, r.left_source_id)], owner[(r.right_source, r.right_source_id)]
        if a != b:
            rows.append(r)
    if not rows:
        raise Conflict(f"review item {row.id} was decided meanwhile; reload the queue")
    first = rows[0]
    sizes = {gl: sum(1 for g in owner.values() if g == gl)}
    sizes[gr] = len(owner) - sizes[gl]
    cand, gold = _orient(gl, gr, sizes, owner[(first.right_source, first.right_source_id)])
    return _Group(cand, gold, rows)


def _standing_no_match(conn: Connection, edit: Edit, group: _Group) -> list[CannotLink]:
    """The "not a match" decisions still standing between the candidate's records and the
    golden record's (oldest first)."""
    return cannot_links(conn, [edit.members(group.candidate), edit.members(group.golden)])


def _overridden(group: _Group, links: Sequence[CannotLink]) -> list[CannotLink]:
    """The standing "not a match" decisions a match on the group would override: all of
    them, except in a group of one pair that pair's own (asked again: its answer may
    change)."""
    if len(group.rows) == 1:
        r = group.rows[0]
        own = {(r.left_source, r.left_source_id), (r.right_source, r.right_source_id)}
        return [link for link in links if {link.left, link.right} != own]
    return list(links)


def _refusal(item_id: int, pairs: int, links: Sequence[CannotLink]) -> str:
    """Why a match on the group is refused and what to do instead."""
    first = links[0]
    more = f" (and {len(links) - 1} more)" if len(links) > 1 else ""
    undo = (
        f"undo action {first.action_id} (the Undo button on the group's review page, or "
        f"POST /api/actions/{first.action_id}/undo) and decide again"
        if first.action_id is not None
        else "withdraw that decision and decide again"
    )
    scope = {1: "the pair of", 2: "both pairs of"}.get(pairs, f"all {pairs} pairs of")
    return (
        f"review item {item_id}: match refused — {first.describe()}{more}. A match would "
        f"override that for {scope} this group. If that decision was wrong, {undo}; "
        "otherwise decide 'not a match' or 'unsure'"
    )


def explain_pair(
    weights: dict[str, Any] | None,
    score: float,
    records: tuple[dict[str, Any], dict[str, Any]],
) -> dict[str, Any]:
    """Every comparison of the model for one pair, as Splink's waterfall chart shows it: the
    comparison's sentence, the level it found and its match weight in bits, or why it found
    no evidence ("no e-mail on the web record"); the prior and the total (log2 odds)."""
    stored = dict(weights or {})
    rows: list[dict[str, Any]] = []
    bits: list[float] = []
    for info in describe_comparisons():
        weight, level = _stored_weight(stored.pop(info.name, None))
        note = None
        if weight is None:
            missing = []
            for f in info.fields:
                lacking = [r["source"] for r in records if r.get(f) in (None, "")]
                if len(lacking) == len(records):
                    missing.append(f"no {info.field_label(f)} on either record")
                elif lacking:
                    missing.append(f"no {info.field_label(f)} on the {lacking[0]} record")
            note = (
                "; ".join(missing) if missing else "not counted for this pair"
            ) + ": no evidence"
        rows.append(
            {
                "name": info.name,
                "sentence": info.sentence,
                "level": level,
                "weight": weight,
                "note": note,
            }
        )
        if weight is not None:
            bits.append(weight)
    for name, found in stored.items():  # a comparison the current model no longer has
        weight, level = _stored_weight(found)
        if weight is None:
            continue
        bits.append(weight)
        rows.append(
            {
                "name": name,
                "sentence": name.replace("_", " "),
                "level": level,
                "weight": weight,
                "note": None,
            }
        )
    clipped = min(max(score, 1e-12), 1 - 1e-12)
    total = math.log2(clipped / (1 - clipped))
    evidence = sum(bits)
    scale = max([abs(b) for b in bits] + [1.0])
    return {
        "comparisons": rows,
        "prior_bits": round(total - evidence, 2),
        "total_bits": round(total, 2),
        "scale_bits": scale,
    }


def _stored_weight(found: object) -> tuple[float | None, str | None]:
    """(weight in bits, level label) of one comparison as a review item stores it: a
    mapping {weight, level}, or a bare number (items stored before levels were kept)."""
    if isinstance(found, dict):
        weight, level = found.get("weight"), found.get("level")
    else:
        weight, level = found, None
    if weight is None:
        return None, None
    return float(weight), None if level is None else str(level)


def review_group(conn: Connection, settings: SurvivorshipSettings, item_id: int) -> dict[str, Any]:
    """A candidate against a golden record: every record of both, aligned fields, the golden
    record if merged, and per pair every comparison's explanation.

    Fields: `id` (the group's lowest pair id), `status`, `pair_ids`, `min_score` /
    `max_score` (0..1), `candidate` and `golden` ({golden_id, version, size, records}),
    `fields` ([{field, candidate: [...], golden: [...], merged}]), `merged_preview`,
    `pairs` ([{id, score, candidate, member, explanation}]), `earlier_no_match` (the "not
    a match" decisions standing between the two: {left, right, decided_by, decided_at,
    action_id, note, pair_id, text}) and `match_refused` (why a match would be refused, or
    None).
    """
    row = candidate_row(conn, item_id)
    edit = Edit(conn, settings, "preview")
    group = _group(conn, edit, row)
    if group is None:  # already one golden record (merged meanwhile): show the pair alone
        gid = edit.golden_of((row.left_source, row.left_source_id))
        group = _Group(gid, gid, [row])
    cand_keys = edit.members(group.candidate)
    gold_keys = [k for k in edit.members(group.golden) if k not in cand_keys]
    records = {
        (r["source"], r["source_id"]): r for r in load_customer_records(conn, cand_keys + gold_keys)
    }

    def side(gid: str, keys: list[Key]) -> dict[str, Any]:
        return {
            "golden_id": gid,
            "version": edit.golden(gid).version,
            "size": len(keys),
            "records": [records.get(k, {"source": k[0], "source_id": k[1]}) for k in keys],
        }

    preview = survive(
        [records[k] for k in cand_keys + gold_keys if k in records],
        source_priority=settings.source_priority,
        rules=dict(settings.rules) or None,
    )
    candidate, golden = side(group.candidate, cand_keys), side(group.golden, gold_keys)
    fields = [
        {
            "field": f,
            "candidate": [r.get(f) for r in candidate["records"]],
            "golden": [r.get(f) for r in golden["records"]],
            "merged": preview.values.get(f),
        }
        for f in _SHOWN
    ]
    pairs = []
    cand_set = set(cand_keys)
    for r in group.rows:
        left: Key = (r.left_source, r.left_source_id)
        right: Key = (r.right_source, r.right_source_id)
        c, g = (left, right) if left in cand_set else (right, left)
        both = (
            records.get(c, {"source": c[0], "source_id": c[1]}),
            records.get(g, {"source": g[0], "source_id": g[1]}),
        )
        pairs.append(
            {
                "id": r.id,
                "score": r.score,
                "candidate": list(c),
                "member": list(g),
                "explanation": explain_pair(r.weights, r.score, both),
            }
        )
    scores = [p["score"] for p in pairs]
    standing = _standing_no_match(conn, edit, group) if group.candidate != group.golden else []
    overridden = _overridden(group, standing)
    pair_of = {
        frozenset({(r.left_source, r.left_source_id), (r.right_source, r.right_source_id)}): r.id
        for r in group.rows
    }
    return {
        "id": group.rows[0].id,
        "status": row.status,
        "pair_ids": [p["id"] for p in pairs],
        "earlier_no_match": [
            {
                "left": list(link.left),
                "right": list(link.right),
                "decided_by": link.decided_by,
                "decided_at": link.decided_at,
                "action_id": link.action_id,
                "note": link.note,
                "pair_id": pair_of.get(frozenset({link.left, link.right})),
                "text": link.describe(),
            }
            for link in standing
        ],
        "match_refused": (
            _refusal(group.rows[0].id, len(group.rows), overridden) if overridden else None
        ),
        "min_score": min(scores),
        "max_score": max(scores),
        "candidate": candidate,
        "golden": golden,
        "fields": fields,
        "merged_preview": {
            "values": preview.values,
            "provenance": provenance_json(preview),
            "members": [list(k) for k in preview.members],
        },
        "pairs": pairs,
    }


def decide_group(
    conn: Connection,
    settings: SurvivorshipSettings,
    actor: str,
    item_id: int,
    decision: str,
    *,
    note: str | None = None,
    expected_pairs: Sequence[int] | None = None,
) -> ActionResult:
    """Decide the group of review item `item_id` once: one decision row per pair, one action
    and one audit entry. `expected_pairs` (the pair ids the steward saw) guards against a
    group that changed meanwhile; a group someone else decided answers Conflict, and so
    does a match that would override a standing "not a match" (see the module docstring)."""
    row = open_row(conn, item_id, decision)
    edit = Edit(conn, settings, actor)
    group = _group(conn, edit, row)
    if group is None:  # its records share a golden record already: the pair decision applies
        return decide(conn, settings, actor, item_id, decision, note=note)
    ids = [r.id for r in group.rows]
    if expected_pairs is not None and sorted(expected_pairs) != ids:
        raise Conflict(
            f"review item {item_id} now covers pairs {', '.join(map(str, ids))} (you saw "
            f"{', '.join(map(str, sorted(expected_pairs)))}); reload and decide again"
        )
    if decision == Decision.MATCH:
        overridden = _overridden(group, _standing_no_match(conn, edit, group))
        if overridden:
            raise MatchRefused(_refusal(ids[0], len(ids), overridden))
    cand_members = edit.members(group.candidate)
    who = _label(cand_members[0]) if len(cand_members) == 1 else group.candidate

    def apply(_before: list[dict[str, str]]) -> dict[str, Any] | None:
        if decision != Decision.MATCH:
            return None
        r = group.rows[0]
        own = [(r.left_source, r.left_source_id), (r.right_source, r.right_source_id)]
        deciding = own if len(group.rows) == 1 else ()
        return apply_merge(edit, [group.candidate, group.golden], {}, deciding=deciding)

    recorded = record_decision(edit, group.rows, decision, note=note, apply=apply)
    summary = f"review item {ids[0]}: {DECISION_WORDS[decision]}"
    if len(ids) > 1:
        summary += f" ({len(ids)} pairs: {who} against {group.golden})"
    single = len(ids) == 1
    detail = {
        "candidate_id": item_id,
        "candidate_ids": ids,
        "decision": decision,
        "previous_status": row.status,
        "score": row.score,
        "group": {"candidate": group.candidate, "golden": group.golden},
        "before": recorded.before[0] if single else recorded.before,
        "after": recorded.after[0] if single else recorded.after,
        "sub": recorded.sub,
    }
    return edit.finish("decision", summary, detail)


def decide_many(
    conn_factory: Callable[[], AbstractContextManager[Connection]],
    settings: SurvivorshipSettings,
    actor: str,
    flt: QueueFilter,
    decision: str,
    *,
    limit: int = 500,
) -> dict[str, Any]:
    """Apply one decision to every group of a filtered queue, each group in its own
    transaction; groups someone else decided meanwhile, and matches refused by a standing
    "not a match", are reported in `conflicts` ({id, error}), not overwritten. `decided`
    counts pairs, `groups` the groups decided, `refused` the refused matches."""
    if decision not in (Decision.MATCH, Decision.NO_MATCH, Decision.UNSURE):
        raise InvalidInput("bulk decisions are match, no_match or unsure")
    with conn_factory() as conn:
        groups, _ = list_groups(conn, flt, limit=limit)
    done, conflicts, pairs, refused = [], [], 0, 0
    for group in groups:
        try:
            with conn_factory() as conn:
                result = decide_group(
                    conn,
                    settings,
                    actor,
                    group["id"],
                    decision,
                    note="bulk",
                    expected_pairs=group["pair_ids"],
                )
            done.append(result.action_id)
            pairs += group["pair_count"]
        except (Conflict, NotFound) as error:
            refused += isinstance(error, MatchRefused)
            conflicts.append({"id": group["id"], "error": str(error)})
    return {
        "decided": pairs,
        "groups": len(done),
        "actions": done,
        "conflicts": conflicts,
        "refused": refused,
    }
