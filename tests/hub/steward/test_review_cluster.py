"""Review by cluster on a real store (SQLite and PostgreSQL): the queue groups a candidate
against a golden record and all its members, one decision covers the group and every later
`crmhub resolve` honours it, a standing "not a match" is never overridden by a match on the
group, and the explanation lists every comparison of the model with its sentence."""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa

from hub.core.clock import now
from hub.resolve.run import resolve_store
from hub.steward import (
    Conflict,
    InvalidInput,
    QueueFilter,
    decide,
    decide_group,
    decide_many,
    list_groups,
    list_queue,
    review_cluster,
    review_group,
    undo_action,
)
from hub.store.tables import customer_records, match_candidates, steward_actions, steward_decisions
from identity.compare import COMPARISONS
from identity.explain import sentence
from tests.hub.conftest import ResolvedHub

W6 = ("web", "w-6")
MEMBERS = [("billing", "B-0006"), ("erp", "1006"), ("support", "S6")]  # one golden record


def groups(hub: ResolvedHub, flt: QueueFilter | None = None) -> list[dict[str, Any]]:
    with hub.store.engine.connect() as conn:
        found, total = list_groups(conn, flt, limit=1000)
    assert total == len(found)
    return found


def show(hub: ResolvedHub, item_id: int) -> dict[str, Any]:
    with hub.store.engine.connect() as conn:
        return review_group(conn, hub.settings, item_id)


def decide_the_group(hub: ResolvedHub, decision: str, actor: str = "sam", **kw: Any) -> Any:
    with hub.store.write_transaction() as conn:
        return decide_group(conn, hub.settings, actor, 1, decision, **kw)


def pair_status(hub: ResolvedHub) -> dict[int, str]:
    with hub.store.engine.connect() as conn:
        rows = conn.execute(sa.select(match_candidates.c.id, match_candidates.c.status))
        return {r.id: r.status for r in rows}


def decision_rows(hub: ResolvedHub) -> list[Any]:
    """The review decisions (not the links a merge or unmerge appends), oldest first."""
    d = steward_decisions.c
    with hub.store.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(steward_decisions).where(d.score_at_decision.is_not(None)).order_by(d.id)
            )
        )


def together(hub: ResolvedHub, a: tuple[str, str], b: tuple[str, str]) -> bool:
    xw = hub.crosswalk()
    return xw[a] == xw[b]


# -- grouping ---------------------------------------------------------------------------------


def test_the_demos_three_w6_pairs_are_one_group_of_candidate_and_golden_record(
    hub: ResolvedHub,
) -> None:
    with hub.store.engine.connect() as conn:
        pairs, _ = list_queue(conn, limit=1000)
    assert len(pairs) == 3 and all(
        W6 in {(p[s]["source"], p[s]["source_id"]) for s in ("left", "right")} for p in pairs
    )
    (group,) = groups(hub)
    xw = hub.crosswalk()
    assert group["candidate"] == {"golden_id": xw[W6], "size": 1, "records": [list(W6)]}
    assert group["golden"]["golden_id"] == xw[MEMBERS[0]]
    assert group["golden"]["size"] == 3
    assert sorted(map(tuple, group["golden"]["records"])) == MEMBERS
    assert group["pair_ids"] == sorted(p["id"] for p in pairs) and group["pair_count"] == 3
    assert group["id"] == min(group["pair_ids"])
    scores = [p["score"] for p in pairs]
    assert (group["min_score"], group["max_score"]) == (min(scores), max(scores))
    assert group["priority"] == max(p["priority"] for p in pairs)
    assert group["records_affected"] == 4


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (QueueFilter(), 1),
        (QueueFilter(source="web"), 1),
        (QueueFilter(source="erp"), 1),  # a member's source finds the group too
        (QueueFilter(source="nowhere"), 0),
        (QueueFilter(min_score=0.9, max_score=1.0), 1),
        (QueueFilter(max_score=0.5), 0),
        (QueueFilter(kind="person"), 1),
        (QueueFilter(kind="organization"), 0),
        (QueueFilter(status="unsure"), 0),
    ],
    ids=lambda v: repr(v) if isinstance(v, QueueFilter) else str(v),
)
def test_group_filters(sqlite_hub: ResolvedHub, flt: QueueFilter, expected: int) -> None:
    assert len(groups(sqlite_hub, flt)) == expected


Rec = tuple[str, str]


def add_pairs(hub: ResolvedHub, pairs: list[tuple[Rec, Rec]]) -> None:
    """Uncertain pairs as `crmhub resolve` stores them (sorted sides), ids 4, 5, ..."""
    with hub.store.transaction() as conn:
        for a, b in pairs:
            (ls, lid), (rs, rid) = sorted([a, b])
            conn.execute(
                match_candidates.insert().values(
                    left_source=ls,
                    left_source_id=lid,
                    right_source=rs,
                    right_source_id=rid,
                    score=0.8,
                    weights={},
                    status="open",
                    created_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                )
            )


E1001, E1002, E1003 = ("erp", "1001"), ("erp", "1002"), ("erp", "1003")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param([], [([W6], MEMBERS, [1, 2, 3])], id="the demo: one group"),
        pytest.param(
            [(E1001, W6)],
            [
                ([W6], MEMBERS, [1, 2, 3]),
                ([W6], [("billing", "B-0001"), E1001, ("support", "S1")], [4]),
            ],
            id="one candidate, two golden records: two groups",
        ),
        pytest.param(
            [(E1001, E1002), (("support", "S1"), ("web", "w-2"))],
            [
                ([W6], MEMBERS, [1, 2, 3]),
                (
                    [E1001, ("support", "S1"), ("billing", "B-0001")],
                    [E1002, ("web", "w-2"), ("support", "S2"), ("billing", "B-0002")],
                    [4, 5],
                ),
            ],
            id="the smaller golden record (3 records) is the candidate of the larger (4)",
        ),
        pytest.param(
            [(E1001, E1003)],
            [
                ([W6], MEMBERS, [1, 2, 3]),
                (
                    [E1003, ("billing", "B-0003"), ("support", "S3")],
                    [E1001, ("billing", "B-0001"), ("support", "S1")],
                    [4],
                ),
            ],
            id="equal sizes: the first pair's right side is the candidate",
        ),
        pytest.param(
            [(E1001, ("billing", "B-0001"))],
            [([W6], MEMBERS, [1, 2, 3])],
            id="a pair inside one golden record asks nothing",
        ),
    ],
)
def test_grouping_cases(
    sqlite_hub: ResolvedHub,
    extra: list[tuple[Rec, Rec]],
    expected: list[tuple[list[Rec], list[Rec], list[int]]],
) -> None:
    """Each group is (the candidate's records, the golden record's records — every member,
    not only those in a pair — and the pair ids); the page of any of its pairs shows the
    same group."""
    add_pairs(sqlite_hub, extra)
    xw = sqlite_hub.crosswalk()
    found = sorted(
        (
            sorted(tuple(r) for r in g["candidate"]["records"]),
            sorted(tuple(r) for r in g["golden"]["records"]),
            g["pair_ids"],
        )
        for g in groups(sqlite_hub)
    )
    assert found == sorted((sorted(c), sorted(m), ids) for c, m, ids in expected)
    for g in groups(sqlite_hub):
        assert {xw[tuple(r)] for r in g["candidate"]["records"]} == {g["candidate"]["golden_id"]}
        assert {xw[tuple(r)] for r in g["golden"]["records"]} == {g["golden"]["golden_id"]}
        assert g["candidate"]["size"] == len(g["candidate"]["records"]) <= g["golden"]["size"]
        assert g["golden"]["size"] == len(g["golden"]["records"])
        for pair_id in g["pair_ids"]:
            shown = show(sqlite_hub, pair_id)
            assert shown["pair_ids"] == g["pair_ids"]
            assert shown["candidate"]["golden_id"] == g["candidate"]["golden_id"]


def test_any_pair_of_the_group_opens_the_whole_group(sqlite_hub: ResolvedHub) -> None:
    (group,) = groups(sqlite_hub)
    for pair_id in group["pair_ids"]:
        shown = show(sqlite_hub, pair_id)
        assert shown["id"] == group["id"] and shown["pair_ids"] == group["pair_ids"]
        assert [r["source_id"] for r in shown["candidate"]["records"]] == ["w-6"]
        assert len(shown["golden"]["records"]) == 3
        assert {tuple(p["member"]) for p in shown["pairs"]} == set(MEMBERS)
        assert all(tuple(p["candidate"]) == W6 for p in shown["pairs"])


def test_a_pair_decided_alone_leaves_the_group_and_the_rest_stay_together(
    sqlite_hub: ResolvedHub,
) -> None:
    hub = sqlite_hub
    (group,) = groups(hub)
    with hub.store.write_transaction() as conn:
        decide(conn, hub.settings, "sam", group["pair_ids"][1], "unsure")
    (open_group,) = groups(hub)
    (unsure_group,) = groups(hub, QueueFilter(status="unsure"))
    assert open_group["pair_ids"] == [group["pair_ids"][0], group["pair_ids"][2]]
    assert unsure_group["pair_ids"] == [group["pair_ids"][1]]
    assert show(hub, group["pair_ids"][1])["pair_ids"] == [group["pair_ids"][1]]


# -- decisions and the next resolve ------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "joined", "status", "constraints"),
    [
        ("match", True, "decided", 4),  # the three decisions and the merge's own link
        ("no_match", False, "decided", 3),
        ("unsure", False, "unsure", 0),
        ("skip", False, "open", 0),
    ],
)
def test_one_decision_covers_the_group_and_resolve_honours_it(
    hub: ResolvedHub, decision: str, joined: bool, status: str, constraints: int
) -> None:
    (group,) = groups(hub)
    scores = sorted(p["score"] for p in show(hub, 1)["pairs"])
    result = decide_the_group(hub, decision, expected_pairs=group["pair_ids"])
    assert result.summary.startswith("review item 1: ") and "3 pairs: web/w-6 against" in (
        result.summary
    )

    rows = decision_rows(hub)
    assert len(rows) == 3  # one append-only row per pair, all of one action
    assert {r.decision for r in rows} == {decision} and {r.decided_by for r in rows} == {"sam"}
    assert {r.action_id for r in rows} == {result.action_id}
    assert all(r.left_hash and r.right_hash for r in rows)  # what makes a pair asked again
    assert sorted(r.score_at_decision for r in rows) == pytest.approx(scores)
    with hub.store.engine.connect() as conn:
        action = conn.execute(
            sa.select(steward_actions).where(steward_actions.c.id == result.action_id)
        ).one()
    assert action.kind == "decision" and action.detail["candidate_ids"] == group["pair_ids"]
    assert len(action.detail["pairs"]) == constraints  # what undo restores
    assert set(pair_status(hub).values()) == {status}
    for member in MEMBERS:
        assert together(hub, W6, member) is joined

    resolve_store(hub.config, hub.store, actor="test")
    for member in MEMBERS:
        assert together(hub, W6, member) is joined
    left = groups(hub) + groups(hub, QueueFilter(status="unsure"))
    assert [g["pair_ids"] for g in left] == ([] if constraints else [group["pair_ids"]])


def test_undo_of_a_group_decision_puts_every_pair_back(hub: ResolvedHub) -> None:
    (group,) = groups(hub)
    result = decide_the_group(hub, "match")
    assert all(together(hub, W6, m) for m in MEMBERS)
    with hub.store.write_transaction() as conn:
        undo_action(conn, hub.settings, "sam", result.action_id)
    assert not any(together(hub, W6, m) for m in MEMBERS)
    assert set(pair_status(hub).values()) == {"open"}
    assert groups(hub)[0]["pair_ids"] == group["pair_ids"]
    resolve_store(hub.config, hub.store, actor="test")
    assert not any(together(hub, W6, m) for m in MEMBERS)  # the must-links were withdrawn


@pytest.mark.parametrize(
    ("seen", "says"),
    [
        ([1, 2], "now covers pairs 1, 2, 3 (you saw 1, 2)"),
        ([1, 2, 3, 4], "now covers pairs 1, 2, 3 (you saw 1, 2, 3, 4)"),
    ],
)
def test_a_group_that_changed_since_it_was_shown_is_a_conflict(
    sqlite_hub: ResolvedHub, seen: list[int], says: str
) -> None:
    with pytest.raises(Conflict, match=re.escape(says)):
        decide_the_group(sqlite_hub, "match", expected_pairs=seen)
    assert set(pair_status(sqlite_hub).values()) == {"open"} and decision_rows(sqlite_hub) == []


def test_bad_decisions_are_refused_with_what_to_do(sqlite_hub: ResolvedHub) -> None:
    with pytest.raises(InvalidInput, match="unknown decision 'maybe'; use one of match"):
        decide_the_group(sqlite_hub, "maybe")
    decide_the_group(sqlite_hub, "no_match")
    with pytest.raises(Conflict, match="review item 1 was already decided; reload the queue"):
        decide_the_group(sqlite_hub, "match", actor="alice")


def test_two_stewards_deciding_one_group_at_once(hub: ResolvedHub) -> None:
    barrier = threading.Barrier(2)

    def steward(name: str, decision: str) -> tuple[str, str]:
        barrier.wait()
        try:
            decide_the_group(hub, decision, actor=name, expected_pairs=[1, 2, 3])
        except Conflict as error:
            return name, str(error)
        return name, "ok"

    with ThreadPoolExecutor(2) as pool:
        outcomes = dict(pool.map(steward, ["sam", "alice"], ["match", "no_match"]))
    assert sorted(outcomes.values()).count("ok") == 1, outcomes
    loser = next(n for n, o in outcomes.items() if o != "ok")
    assert "decided" in outcomes[loser] and "reload" in outcomes[loser]
    winner = "sam" if loser == "alice" else "alice"
    rows = decision_rows(hub)
    assert len(rows) == 3 and {r.decided_by for r in rows} == {winner}
    assert all(together(hub, W6, m) for m in MEMBERS) is (winner == "sam")


@pytest.mark.parametrize("decision", ["match", "no_match"])
def test_a_group_decided_between_reading_its_item_and_deciding_it_is_a_conflict(
    hub: ResolvedHub, decision: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race of the test above, made deterministic: on PostgreSQL the second steward's
    transaction can read the review item while it is open and look for the group's pairs
    after the first steward's decision committed (a match joins the two golden records, a
    "not a match" moves every pair out of the open status): Conflict, nothing written."""
    stale = {}
    with hub.store.engine.connect() as conn:
        stale[1] = review_cluster.open_row(conn, 1, decision)
    decide_the_group(hub, decision, actor="sam")
    before = decision_rows(hub)
    monkeypatch.setattr(review_cluster, "open_row", lambda _conn, item, _d: stale[item])
    with pytest.raises(Conflict, match=r"review item 1 was (already )?decided.*reload"):
        decide_the_group(hub, "no_match" if decision == "match" else "match", actor="alice")
    assert decision_rows(hub) == before


def test_bulk_decides_each_group_once(hub: ResolvedHub) -> None:
    outcome = decide_many(
        hub.store.write_transaction, hub.settings, "sam", QueueFilter(source="web"), "unsure"
    )
    assert (outcome["groups"], outcome["decided"], outcome["conflicts"]) == (1, 3, [])
    assert outcome["refused"] == 0
    assert groups(hub) == [] and len(groups(hub, QueueFilter(status="unsure"))) == 1


# -- a standing "not a match" ------------------------------------------------------------------


def test_a_bulk_match_reports_the_refused_group_and_changes_nothing(hub: ResolvedHub) -> None:
    with hub.store.write_transaction() as conn:
        decide(conn, hub.settings, "alice", 2, "no_match")
    outcome = decide_many(hub.store.write_transaction, hub.settings, "sam", QueueFilter(), "match")
    assert (outcome["groups"], outcome["decided"], outcome["refused"]) == (0, 0, 1)
    (conflict,) = outcome["conflicts"]
    assert conflict["id"] == 1 and "match refused — erp/1006 and web/w-6" in conflict["error"]
    assert groups(hub)[0]["pair_ids"] == [1, 3] and len(decision_rows(hub)) == 1


def test_a_match_on_the_group_never_overrides_an_earlier_not_a_match(hub: ResolvedHub) -> None:
    """A steward said erp/1006 is not web/w-6 (deciding that pair alone); a later match on
    the group (the two other pairs) would merge them anyway: refused, naming the pair, who,
    when and the action to undo; the group's page says so before anyone decides."""
    with hub.store.write_transaction() as conn:
        earlier = decide(conn, hub.settings, "alice", 2, "no_match")
    (group,) = groups(hub)
    assert group["pair_ids"] == [1, 3]
    page = show(hub, 1)
    (standing,) = page["earlier_no_match"]
    assert (tuple(standing["left"]), tuple(standing["right"])) == (("erp", "1006"), W6)
    assert standing["decided_by"] == "alice" and standing["action_id"] == earlier.action_id
    assert standing["pair_id"] is None  # that pair was answered; it is not asked again
    assert page["match_refused"] and f"undo action {earlier.action_id}" in page["match_refused"]

    xw_before, statuses = hub.crosswalk(), pair_status(hub)
    with pytest.raises(Conflict) as refused:
        decide_the_group(hub, "match", expected_pairs=[1, 3])
    message = str(refused.value)
    for part in (
        "review item 1: match refused",
        "erp/1006 and web/w-6 were decided not to match by alice at 20",
        f"(action {earlier.action_id})",
        "both pairs of this group",
        f"undo action {earlier.action_id}",
        "otherwise decide 'not a match' or 'unsure'",
    ):
        assert part in message, message
    assert hub.crosswalk() == xw_before and pair_status(hub) == statuses  # nothing changed
    assert len(decision_rows(hub)) == 1

    decide_the_group(hub, "no_match", expected_pairs=[1, 3])  # agreeing is allowed
    resolve_store(hub.config, hub.store, actor="test")
    assert not any(together(hub, W6, m) for m in MEMBERS)


def test_undoing_the_earlier_not_a_match_lets_the_group_match(hub: ResolvedHub) -> None:
    with hub.store.write_transaction() as conn:
        earlier = decide(conn, hub.settings, "sam", 2, "no_match")
    with hub.store.write_transaction() as conn:
        undo_action(conn, hub.settings, "sam", earlier.action_id)
    page = show(hub, 1)
    assert page["pair_ids"] == [1, 2, 3]
    assert page["earlier_no_match"] == [] and page["match_refused"] is None
    decide_the_group(hub, "match", expected_pairs=[1, 2, 3])
    resolve_store(hub.config, hub.store, actor="test")
    assert all(together(hub, W6, m) for m in MEMBERS)


def test_a_group_asked_again_after_a_change_still_needs_the_not_a_match_undone(
    sqlite_hub: ResolvedHub,
) -> None:
    """The whole group was 'not a match'; w-6's given name changes, so every pair is asked
    again. Matching the group would override three standing decisions at once: refused."""
    hub = sqlite_hub
    first = decide_the_group(hub, "no_match")
    c = customer_records.c
    with hub.store.transaction() as conn:
        conn.execute(
            customer_records.update()
            .where(c.source == W6[0], c.source_id == W6[1])
            .values(given_name="Avi", loaded_at=now())  # as a sync writes it
        )
    resolve_store(hub.config, hub.store, actor="test")
    page = show(hub, 1)
    assert page["pair_ids"] == [1, 2, 3] and page["status"] == "open"
    assert sorted(e["pair_id"] for e in page["earlier_no_match"]) == [1, 2, 3]
    assert "(and 2 more)" in (page["match_refused"] or "")
    with pytest.raises(Conflict, match=f"undo action {first.action_id}"):
        decide_the_group(hub, "match")
    with hub.store.write_transaction() as conn:
        undo_action(conn, hub.settings, "sam", first.action_id)
    decide_the_group(hub, "match")
    assert all(together(hub, W6, m) for m in MEMBERS)


# -- the explanation ---------------------------------------------------------------------------


def explanation(hub: ResolvedHub, member: tuple[str, str]) -> dict[str, Any]:
    (pair,) = [p for p in show(hub, 1)["pairs"] if tuple(p["member"]) == member]
    return {"score": pair["score"], **pair["explanation"]}


def test_the_explanation_lists_every_comparison_with_its_sentence(
    sqlite_hub: ResolvedHub,
) -> None:
    for member in MEMBERS:
        e = explanation(sqlite_hub, member)
        rows = e["comparisons"]
        assert [r["name"] for r in rows] == [c.name for c in COMPARISONS]
        assert [r["sentence"] for r in rows] == [sentence(c) for c in COMPARISONS]
        for r in rows:
            assert (r["weight"] is None) == (r["note"] is not None), r
            assert r["note"] is None or r["note"].endswith(": no evidence")
        evidence = sum(r["weight"] for r in rows if r["weight"] is not None)
        assert e["prior_bits"] + evidence == pytest.approx(e["total_bits"], abs=0.02)
        odds = 2 ** e["total_bits"]
        assert odds / (1 + odds) == pytest.approx(e["score"], abs=1e-3)  # one scale: bits
        assert not math.isnan(e["scale_bits"]) and e["scale_bits"] >= 1


@pytest.mark.parametrize(
    ("member", "comparison", "level", "note"),
    [
        (("erp", "1006"), "email", None, "no e-mail on the web record: no evidence"),
        (("support", "S6"), "email", None, "no e-mail on the web record: no evidence"),
        (("billing", "B-0006"), "email", None, "no e-mail on either record: no evidence"),
        (("erp", "1006"), "phone", None, "no phone on the web record: no evidence"),
        (("erp", "1006"), "city", None, "no city on the web record: no evidence"),
        (("support", "S6"), "city", None, "no city on either record: no evidence"),
        (("erp", "1006"), "tax_id", None, "no tax id on either record: no evidence"),
        (
            ("erp", "1006"),
            "email_birth_year",
            None,
            "no e-mail on the web record; no birth date on the web record: no evidence",
        ),
        (("erp", "1006"), "family_name", "same", None),
        (("billing", "B-0006"), "source_system", "two systems", None),
    ],
)
def test_each_comparison_says_what_it_found_or_why_there_was_no_evidence(
    sqlite_hub: ResolvedHub,
    member: tuple[str, str],
    comparison: str,
    level: str | None,
    note: str | None,
) -> None:
    (row,) = [r for r in explanation(sqlite_hub, member)["comparisons"] if r["name"] == comparison]
    assert (row["level"], row["note"]) == (level, note)
    assert (row["weight"] is not None) is (note is None)
