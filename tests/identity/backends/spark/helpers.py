"""Small data sets and the measures the Spark tests compare the two backends by."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from itertools import combinations
from typing import Any

from benchmarks.identity.crm_generator import generate
from benchmarks.identity.febrl import febrl3, febrl4

Key = tuple[str, str]


@cache
def crm_records() -> tuple[dict[str, Any], ...]:
    """A small generated CRM set: four systems, households, twins, placeholders."""
    records, _truth = generate(160, seed=11)
    return tuple(records)


@cache
def febrl3_records() -> tuple[dict[str, Any], ...]:
    """The first 700 records of FEBRL3 (one source, duplicates with typos)."""
    return tuple(febrl3().records[:700])


@cache
def febrl4_records() -> tuple[dict[str, Any], ...]:
    """FEBRL4 as a link of two sources: the first 350 records of A and their duplicates in B
    (rec-N-org with rec-N-dup-0), plus 50 of B's records whose original is left out."""
    data = febrl4()
    a = [r for r in data.records if r["source"] == "A"][:350]
    wanted = {r["source_id"].removesuffix("-org") for r in a}
    b = [r for r in data.records if r["source"] == "B"]
    paired = [r for r in b if r["source_id"].rsplit("-dup-", 1)[0] in wanted]
    unpaired = [r for r in b if r["source_id"].rsplit("-dup-", 1)[0] not in wanted][:50]
    return tuple(a + paired + unpaired)


def same_cluster_pairs(crosswalk: Mapping[Key, str]) -> set[tuple[Key, Key]]:
    groups: dict[str, list[Key]] = {}
    for key, gid in crosswalk.items():
        groups.setdefault(gid, []).append(key)
    return {(a, b) for members in groups.values() for a, b in combinations(sorted(members), 2)}


def pairwise_f1(one: Mapping[Key, str], other: Mapping[Key, str]) -> float:
    """Pairwise F1 of `other`'s clusters against `one`'s (1.0 when both have no pairs)."""
    a, b = same_cluster_pairs(one), same_cluster_pairs(other)
    if not a and not b:
        return 1.0
    both = len(a & b)
    return 2 * both / (len(a) + len(b))


def clusters(crosswalk: Mapping[Key, str]) -> dict[str, frozenset[Key]]:
    members: dict[str, set[Key]] = {}
    for key, gid in crosswalk.items():
        members.setdefault(gid, set()).add(key)
    return {gid: frozenset(keys) for gid, keys in members.items()}
