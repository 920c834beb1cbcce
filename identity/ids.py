"""Stable golden ids: carry ids across re-clusterings and record merges and splits.

`assign_ids` maps the members of a new clustering to golden ids, reusing the previous run's
ids wherever the clusters allow, so a re-run after new data changes only what the new data
touches. A merged cluster keeps its oldest id; a split keeps the id on the part holding most
of its members; new ids derive from the cluster's smallest member key, so the same input
always gives the same ids. The outcome is the same whatever the order of the inputs.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Assignment", "IdEvent", "Key", "assign_ids", "golden_id_for"]

Key = tuple[str, str]
"""A member record's key: (source, source_id)."""

EventKind = Literal["new", "merge", "split", "retired"]
_KIND_ORDER: dict[str, int] = {"new": 0, "merge": 1, "split": 2, "retired": 3}


@dataclass(frozen=True, slots=True)
class IdEvent:
    """One change to the golden ids, for the append-only id history.

    - new: `golden_id` was minted for `members` (a new cluster, or a part split off).
    - merge: `golden_id` absorbed the `related` ids; `members` is the merged cluster.
    - split: members carrying `golden_id` went to the clusters named `related`; `members`
      are the ones that left.
    - retired: `golden_id` names no cluster any more; `related` is the id that absorbed it
      (empty when its records were all removed); `members` were its previous members.
    """

    kind: EventKind
    golden_id: str
    related: tuple[str, ...] = ()
    members: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class Assignment:
    """The crosswalk from member key to golden id, and the id events this run produced."""

    crosswalk: dict[Key, str]
    events: list[IdEvent] = field(default_factory=list)


def golden_id_for(members: Iterable[Key], attempt: int = 0) -> str:
    """A deterministic id from the cluster's smallest member key ("G" + 16 hex digits).

    `attempt` > 0 derives the alternatives used when the first id is already taken.
    """
    source, source_id = min(members)
    text = f"{source}\x1f{source_id}" + (f"\x1f{attempt}" if attempt else "")
    return "G" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def assign_ids(
    clusters: Mapping[Key, Hashable],
    previous: Mapping[Key, str],
    created_order: Mapping[str, Any] | None = None,
) -> Assignment:
    """Golden ids for a new clustering (member key -> label), given the previous crosswalk.

    `created_order` maps golden id -> a sortable creation stamp (older is smaller); ids it
    does not list count as newer than those it does, and without it ids compare as strings.
    """
    groups: dict[Hashable, list[Key]] = defaultdict(list)
    for key, label in clusters.items():
        groups[label].append(key)
    # A cluster is identified by its sorted members; clusters are ordered by smallest key.
    members = sorted(tuple(sorted(keys)) for keys in groups.values())

    carriers: dict[str, list[tuple[int, Key]]] = defaultdict(list)  # old id -> (cluster, key)
    for index, keys in enumerate(members):
        for key in keys:
            if key in previous:
                carriers[previous[key]].append((index, key))

    # Each old id stays with the cluster holding most of its members (tie: smallest key).
    holder: dict[str, int] = {}
    for old_id, found in carriers.items():
        parts: dict[int, tuple[int, Key]] = {}
        for index, key in found:
            size, first = parts.get(index, (0, key))
            parts[index] = (size + 1, min(first, key))
        holder[old_id] = min(parts, key=lambda i: (-parts[i][0], parts[i][1]))

    claims: dict[int, list[str]] = defaultdict(list)
    for old_id, index in holder.items():
        claims[index].append(old_id)

    def age(golden_id: str) -> tuple[int, Any, str]:
        if created_order is not None and golden_id in created_order:
            return 0, created_order[golden_id], golden_id
        return (1 if created_order is not None else 0), "", golden_id

    had: dict[str, list[Key]] = defaultdict(list)
    for key, old_id in sorted(previous.items()):
        had[old_id].append(key)
    taken = {*had, *(created_order or {})}
    ids: list[str] = []
    events: list[IdEvent] = []
    for index, keys in enumerate(members):
        if claims[index]:
            kept, *absorbed = sorted(claims[index], key=age)
            if absorbed:
                events.append(IdEvent("merge", kept, tuple(sorted(absorbed)), keys))
                events.extend(IdEvent("retired", old, (kept,), tuple(had[old])) for old in absorbed)
            ids.append(kept)
            continue
        attempt = 0
        while (new_id := golden_id_for(keys, attempt)) in taken:
            attempt += 1
        taken.add(new_id)
        ids.append(new_id)
        events.append(IdEvent("new", new_id, (), keys))

    for old_id, found in carriers.items():
        home = holder[old_id]
        moved = [(index, key) for index, key in found if index != home]
        if moved:
            related = tuple(sorted({ids[index] for index, _ in moved}))
            events.append(IdEvent("split", old_id, related, tuple(sorted(k for _, k in moved))))
    for old_id in sorted(had.keys() - carriers.keys()):
        events.append(IdEvent("retired", old_id, (), tuple(had[old_id])))

    crosswalk = {key: ids[index] for index, keys in enumerate(members) for key in keys}
    events.sort(key=lambda e: (_KIND_ORDER[e.kind], e.golden_id, e.related, e.members))
    return Assignment(crosswalk, events)
