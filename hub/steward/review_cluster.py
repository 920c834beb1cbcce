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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.states import CandidateStatus, Decision
from hub.resolve.run import identifying_hash, load_customer_records, provenance_json
from hub.steward.edits import ActionResult, Edit, Key, SurvivorshipSettings
from hub.steward.errors import Conflict, InvalidInput, NotFound
from hub.steward.maintenance import apply_merge
from hub.steward.review import DECISIONS, QueueFilter, candidate_row, decide, list_queue
from hub.store.tables import match_candidates
from identity.explain import describe_comparisons
from identity.survivorship import GOLDEN_FIELDS, survive

__all__ = ["decide_group", "decide_many", "explain_pair", "list_groups", "review_group"]

_WORDS: dict[str, str] = {
    Decision.MATCH: "match",
    Decision.NO_MATCH: "not a match",
    Decision.UNSURE: "unsure",
    Decision.SKIP: "skipped",
}
_STATUS_AFTER: dict[str, str] = {
    Decision.MATCH: CandidateStatus.DECIDED,
    Decision.NO_MATCH: CandidateStatus.DECIDED,
    Decision.UNSURE: CandidateStatus.UNSURE,
}
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
    `candidate` / `golden` ({golden_id, size, records}), `pair_ids`, `pair_count` and
    `min_score` / `max_score` (0..1).
    """
    pairs, _ = list_queue(conn, flt, limit=10**9)
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
        cand_keys: list[list[str]] = []
        gold_keys: list[list[str]] = []
        for item in members:
            for side in (item["left"], item["right"]):
                record = [side["source"], side["source_id"]]
                bucket = cand_keys if side["golden_id"] == cand else gold_keys
                if record not in bucket:
                    bucket.append(record)
        scores = [i["score"] for i in members]
        top = members[0]  # the most consequential pair
        out.append(
            {
                **first,
                "priority": top["priority"],
                "records_affected": top["records_affected"],
                "candidate": {"golden_id": cand, "size": sizes[cand], "records": cand_keys},
                "golden": {"golden_id": gold, "size": sizes[gold], "records": gold_keys},
                "pair_ids": sorted(i["id"] for i in members),
                "pair_count": len(members),
                "min_score": min(scores),
                "max_score": max(scores),
            }
        )
    return out[offset : offset + limit], len(out)


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
    its records already share one golden record)."""
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
    first = rows[0]
    sizes = {gl: sum(1 for g in owner.values() if g == gl)}
    sizes[gr] = len(owner) - sizes[gl]
    cand, gold = _orient(gl, gr, sizes, owner[(first.right_source, first.right_source_id)])
    return _Group(cand, gold, rows)


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
    `pairs` ([{id, score, candidate, member, explanation}]).
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
    return {
        "id": group.rows[0].id,
        "status": row.status,
        "pair_ids": [p["id"] for p in pairs],
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
    group that changed meanwhile; a group someone else decided answers Conflict."""
    if decision not in DECISIONS:
        raise InvalidInput(f"unknown decision {decision!r}; use one of {', '.join(DECISIONS)}")
    row = candidate_row(conn, item_id)
    if row.status not in CandidateStatus.undecided():
        raise Conflict(f"review item {item_id} was already decided; reload the queue")
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
    m = match_candidates.c
    new_status = _STATUS_AFTER.get(decision, row.status)
    for r in group.rows:
        claimed = conn.execute(
            match_candidates.update()
            .where(m.id == r.id, m.status == r.status)
            .values(status=new_status)
        )
        if claimed.rowcount != 1:
            raise Conflict(f"review item {r.id} was just decided by someone else; reload")
    keys = [
        ((r.left_source, r.left_source_id), (r.right_source, r.right_source_id)) for r in group.rows
    ]
    before = [{"left": edit.golden_of(a), "right": edit.golden_of(b)} for a, b in keys]
    cand_members = edit.members(group.candidate)
    who = _label(cand_members[0]) if len(cand_members) == 1 else group.candidate
    sub: dict[str, Any] | None = None
    if decision == Decision.MATCH:
        # a single pair may overrule its own earlier "not a match" (re-asked after its data
        # changed); any other cannot-link between the two golden records refuses the merge
        deciding = keys[0] if len(keys) == 1 else ()
        sub = apply_merge(edit, [group.candidate, group.golden], {}, deciding=deciding)
    after = [{"left": edit.golden_of(a), "right": edit.golden_of(b)} for a, b in keys]
    hashes = {
        (r["source"], r["source_id"]): identifying_hash(r)
        for r in load_customer_records(conn, {k for pair in keys for k in pair})
    }
    for r, (a, b), was, now in zip(group.rows, keys, before, after, strict=True):
        edit.constrain(
            a,
            b,
            decision,
            score_at_decision=r.score,
            before=was,
            after=now,
            note=note,
            left_hash=hashes.get(a),
            right_hash=hashes.get(b),
        )
        if decision in (Decision.UNSURE, Decision.SKIP):
            edit.pairs.pop()  # recorded, but no constraint to restore on undo
    summary = f"review item {ids[0]}: {_WORDS[decision]}"
    if len(ids) > 1:
        summary += f" ({len(ids)} pairs: {who} against {group.golden})"
    detail = {
        "candidate_id": item_id,
        "candidate_ids": ids,
        "decision": decision,
        "previous_status": row.status,
        "score": row.score,
        "group": {"candidate": group.candidate, "golden": group.golden},
        "before": before[0] if len(ids) == 1 else before,
        "after": after[0] if len(ids) == 1 else after,
        "sub": sub,
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
    transaction; groups someone else decided meanwhile are reported, not overwritten.
    `decided` counts pairs, `groups` the groups decided."""
    if decision not in (Decision.MATCH, Decision.NO_MATCH, Decision.UNSURE):
        raise InvalidInput("bulk decisions are match, no_match or unsure")
    with conn_factory() as conn:
        groups, _ = list_groups(conn, flt, limit=limit)
    done, conflicts, pairs = [], [], 0
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
            conflicts.append({"id": group["id"], "error": str(error)})
    return {"decided": pairs, "groups": len(done), "actions": done, "conflicts": conflicts}
