"""Golden ids: labelled re-clustering scenarios and the invariants of assign_ids."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from identity import ids
from identity.ids import Assignment, IdEvent, Key, assign_ids, golden_id_for

A1, A2, A3, A4 = ("crm", "a1"), ("crm", "a2"), ("erp", "a3"), ("shop", "a4")
B1, B2, B3 = ("crm", "b1"), ("erp", "b2"), ("shop", "b3")
C1, C2 = ("crm", "c1"), ("erp", "c2")
OLD = {"GA": 1, "GB": 2, "GC": 3}  # created_order: GA is the oldest


def clusters(*groups: tuple[Key, ...]) -> dict[Key, Hashable]:
    return {key: f"label{i}" for i, group in enumerate(groups) for key in group}


def prev(**groups: tuple[Key, ...]) -> dict[Key, str]:
    return {key: golden_id for golden_id, group in groups.items() for key in group}


def events(result: Assignment) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(e.kind, e.golden_id, e.related) for e in result.events}


def test_golden_id_is_deterministic_from_the_smallest_key() -> None:
    gid = golden_id_for([B1, A1])
    assert gid == golden_id_for([A1]) and gid != golden_id_for([B1])
    assert gid.startswith("G") and len(gid) == 17 and int(gid[1:], 16) >= 0
    assert golden_id_for([A1], attempt=1) != gid


def test_first_run_mints_one_new_id_per_cluster() -> None:
    result = assign_ids(clusters((A1, A2), (B1,)), {})
    assert result.crosswalk == {
        A1: golden_id_for([A1]),
        A2: golden_id_for([A1]),
        B1: golden_id_for([B1]),
    }
    assert result.events == [
        IdEvent("new", gid, (), members)
        for gid, members in sorted([(golden_id_for([A1]), (A1, A2)), (golden_id_for([B1]), (B1,))])
    ]


def test_unchanged_rerun_keeps_ids_and_says_nothing() -> None:
    result = assign_ids(clusters((A1, A2), (B1,)), prev(GA=(A1, A2), GB=(B1,)), OLD)
    assert result.crosswalk == prev(GA=(A1, A2), GB=(B1,))
    assert result.events == []


def test_new_record_joins_an_existing_cluster() -> None:
    result = assign_ids(clusters((A1, A2, A3), (B1,)), prev(GA=(A1, A2), GB=(B1,)), OLD)
    assert result.crosswalk == prev(GA=(A1, A2, A3), GB=(B1,))
    assert result.events == []


def test_merge_keeps_the_oldest_id() -> None:
    # GB is listed first by string order of labels and keys, but GA is older.
    result = assign_ids(clusters((B1, A1, A2)), prev(GB=(B1,), GA=(A1, A2)), {"GA": 1, "GB": 2})
    assert set(result.crosswalk.values()) == {"GA"}
    assert result.events == [
        IdEvent("merge", "GA", ("GB",), (A1, A2, B1)),
        IdEvent("retired", "GB", ("GA",), (B1,)),
    ]


def test_merge_without_creation_order_keeps_the_smallest_id() -> None:
    result = assign_ids(clusters((A1, B1)), prev(GZ=(A1,), GB=(B1,)))
    assert set(result.crosswalk.values()) == {"GB"}


def test_ids_missing_from_creation_order_count_as_newer() -> None:
    result = assign_ids(clusters((A1, B1)), prev(G0=(A1,), GB=(B1,)), {"GB": 5})
    assert set(result.crosswalk.values()) == {"GB"}


def test_three_way_merge() -> None:
    result = assign_ids(clusters((A1, B1, C1, C2)), prev(GC=(C1, C2), GB=(B1,), GA=(A1,)), OLD)
    assert set(result.crosswalk.values()) == {"GA"}
    assert events(result) == {
        ("merge", "GA", ("GB", "GC")),
        ("retired", "GB", ("GA",)),
        ("retired", "GC", ("GA",)),
    }


def test_split_keeps_the_id_on_the_larger_part() -> None:
    result = assign_ids(clusters((A1,), (A2, A3)), prev(GA=(A1, A2, A3)), OLD)
    new_id = golden_id_for([A1])
    assert result.crosswalk == {A1: new_id, A2: "GA", A3: "GA"}
    assert result.events == [
        IdEvent("new", new_id, (), (A1,)),
        IdEvent("split", "GA", (new_id,), (A1,)),
    ]


def test_even_split_keeps_the_id_on_the_part_with_the_smallest_key() -> None:
    result = assign_ids(clusters((A3, A4), (A1, A2)), prev(GA=(A1, A2, A3, A4)), OLD)
    assert result.crosswalk[A1] == result.crosswalk[A2] == "GA"
    assert result.crosswalk[A3] == golden_id_for([A3]) != "GA"


def test_split_part_whose_natural_id_is_taken_gets_an_alternative() -> None:
    original = golden_id_for([A1])  # minted on the first run from the smallest key, A1
    result = assign_ids(clusters((A1,), (A2, A3)), prev(**{original: (A1, A2, A3)}))
    assert result.crosswalk[A2] == original
    assert result.crosswalk[A1] == golden_id_for([A1], attempt=1)


def test_new_cluster_never_reuses_an_id_known_from_creation_order() -> None:
    taken = golden_id_for([A1])
    result = assign_ids(clusters((A1,)), {}, {taken: 1})
    assert result.crosswalk[A1] != taken


def test_split_and_merge_in_the_same_run() -> None:
    # GA = {A1, A2, A3} loses A3, which joins GB's {B1}; GC's C1 joins A1/A2 (GA is older).
    result = assign_ids(
        clusters((A1, A2, C1), (A3, B1)), prev(GA=(A1, A2, A3), GB=(B1,), GC=(C1,)), OLD
    )
    assert result.crosswalk == {A1: "GA", A2: "GA", C1: "GA", A3: "GB", B1: "GB"}
    assert events(result) == {
        ("merge", "GA", ("GC",)),
        ("retired", "GC", ("GA",)),
        ("split", "GA", ("GB",)),
    }


def test_split_into_a_cluster_held_by_the_other_id_and_minority_parts() -> None:
    # GB's {B1, B2, B3}: B1 goes to GA's cluster, B2 and B3 stay together.
    result = assign_ids(clusters((A1, A2, B1), (B2, B3)), prev(GA=(A1, A2), GB=(B1, B2, B3)), OLD)
    assert result.crosswalk == {A1: "GA", A2: "GA", B1: "GA", B2: "GB", B3: "GB"}
    assert events(result) == {("split", "GB", ("GA",))}


def test_records_removed() -> None:
    # A2 is gone from GA; all of GB is gone.
    result = assign_ids(clusters((A1,), (C1,)), prev(GA=(A1, A2), GB=(B1, B2)), OLD)
    assert result.crosswalk == {A1: "GA", C1: golden_id_for([C1])}
    assert events(result) == {("new", golden_id_for([C1]), ()), ("retired", "GB", ())}
    retired = next(e for e in result.events if e.kind == "retired")
    assert retired.members == (B1, B2)


def test_untouched_clusters_keep_their_ids_when_new_data_arrives() -> None:
    before = prev(GA=(A1, A2), GB=(B1, B2), GC=(C1,))
    result = assign_ids(clusters((A1, A2), (B1, B2, B3), (C1, C2)), before, OLD)
    assert {k: result.crosswalk[k] for k in before} == before
    assert result.events == []


def test_public_names() -> None:
    assert all(hasattr(ids, name) for name in ids.__all__)


# --- properties ---------------------------------------------------------------------------

_keys = st.lists(
    st.tuples(st.sampled_from(["crm", "erp", "shop"]), st.integers(0, 30).map(str)),
    min_size=1,
    max_size=25,
    unique=True,
)


@st.composite
def _runs(draw: st.DrawFn) -> tuple[dict[Key, Hashable], dict[Key, str], dict[str, Any]]:
    """A new clustering, and a previous crosswalk from an earlier clustering of some members."""
    keys = draw(_keys)
    new: dict[Key, Hashable] = {k: draw(st.integers(0, 6)) for k in keys}
    old_keys = draw(st.lists(st.sampled_from(keys), unique=True)) + [
        ("old", str(i)) for i in range(draw(st.integers(0, 3)))
    ]
    earlier = {k: draw(st.integers(0, 6)) for k in old_keys}
    previous = assign_ids(earlier, {}).crosswalk
    order = {gid: draw(st.integers(0, 3)) for gid in sorted(set(previous.values()))}
    return new, previous, order


def _groups(mapping: Mapping[Key, Hashable]) -> set[frozenset[Key]]:
    groups: dict[Hashable, set[Key]] = defaultdict(set)
    for key, label in mapping.items():
        groups[label].add(key)
    return {frozenset(g) for g in groups.values()}


@settings(max_examples=300, deadline=None)
@given(_runs())
def test_rerun_on_its_own_crosswalk_is_stable(
    run: tuple[dict[Key, Hashable], dict[Key, str], dict[str, Any]],
) -> None:
    new, previous, order = run
    first = assign_ids(new, previous, order)
    again = assign_ids(new, first.crosswalk, order)
    assert again.crosswalk == first.crosswalk
    assert again.events == []


@settings(max_examples=300, deadline=None)
@given(_runs(), st.data())
def test_input_order_never_changes_the_result(
    run: tuple[dict[Key, Hashable], dict[Key, str], dict[str, Any]], data: st.DataObject
) -> None:
    new, previous, order = run
    relabel = {label: f"x{label}" for label in set(new.values())}
    shuffled_new = dict(data.draw(st.permutations(list(new.items()))))
    shuffled_new = {k: relabel[v] for k, v in shuffled_new.items()}
    shuffled_prev = dict(data.draw(st.permutations(list(previous.items()))))
    assert assign_ids(shuffled_new, shuffled_prev, order) == assign_ids(new, previous, order)


@settings(max_examples=300, deadline=None)
@given(_runs())
def test_every_member_gets_one_id_and_clusters_never_share(
    run: tuple[dict[Key, Hashable], dict[Key, str], dict[str, Any]],
) -> None:
    new, previous, order = run
    result = assign_ids(new, previous, order)
    assert result.crosswalk.keys() == new.keys()
    assert _groups(result.crosswalk) == _groups(new)
    # Every id that is kept came from the previous run; every other one was announced as new.
    kept = set(result.crosswalk.values()) & set(previous.values())
    minted = {e.golden_id for e in result.events if e.kind == "new"}
    assert kept.isdisjoint(minted) and kept | minted == set(result.crosswalk.values())
    # Every previous id is either still in use or retired, never both.
    retired = {e.golden_id for e in result.events if e.kind == "retired"}
    assert retired == set(previous.values()) - kept
