"""Proactive worklist items on a real store (SQLite and PostgreSQL): opened after analyse by
hub.yaml's rules, once per rule, customer and day however often analyse runs, handed to the
rule's owner or a group's stewards in turn, marked "no longer applies" (never closed) when
their condition goes away, and worked like any other item (done -> the timeline)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.analyse.run import analyse_store
from hub.analyse.worklists import check_worklists, generate_worklists
from hub.cli.example import write_example
from hub.steward import merge_golden
from hub.steward.worklist import complete_item, list_worklist
from hub.store.hub_source import anchor_member
from hub.store.tables import (
    customer_profiles,
    golden_records,
    interactions,
    worklist_events,
    worklist_items,
)
from schemas.config import ConfigError, HubConfig
from schemas.worklists import Worklists
from tests.cli import crmhub
from tests.hub.conftest import ResolvedHub
from tests.hub.helpers import DEMO_AS_OF

D = dt.timedelta(days=1)


def lists(*rules: dict[str, Any], **groups: list[str]) -> Worklists:
    return Worklists.model_validate({"groups": groups, "rules": list(rules)})


def with_lists(hub: ResolvedHub, worklists: Worklists) -> HubConfig:
    return hub.config.model_copy(update={"worklists": worklists})


def generate(hub: ResolvedHub, worklists: Worklists, day: dt.date) -> list[Any]:
    with hub.store.transaction() as conn:
        return generate_worklists(conn, worklists, day)


def items(hub: ResolvedHub, rule: str | None = None) -> list[Any]:
    w = worklist_items.c
    query = sa.select(worklist_items).order_by(w.id)
    if rule is not None:
        query = query.where(w.rule == rule)
    with hub.store.engine.connect() as conn:
        return list(conn.execute(query).all())


def events(hub: ResolvedHub, item: int) -> list[str]:
    e = worklist_events.c
    with hub.store.engine.connect() as conn:
        return list(
            conn.execute(sa.select(e.event).where(e.item_id == item).order_by(e.id)).scalars()
        )


def set_traits(hub: ResolvedHub, golden_id: str, **values: Any) -> None:
    """Change one stored profile: its columns by name, the rest in its traits."""
    p = customer_profiles.c
    with hub.store.transaction() as conn:
        row = conn.execute(sa.select(customer_profiles).where(p.golden_id == golden_id)).one()
        columns = {k: v for k, v in values.items() if k in customer_profiles.c}
        traits = {**row.traits, **{k: v for k, v in values.items() if k not in columns}}
        conn.execute(
            customer_profiles.update()
            .where(p.golden_id == golden_id)
            .values(traits=traits, **columns)
        )


def birthdays_within(hub: ResolvedHub, first: dt.date, days: int) -> set[str]:
    """The golden ids whose birth date (read from the golden records, not the profiles)
    comes round within `days` days of `first`."""
    g = golden_records.c
    found = set()
    with hub.store.engine.connect() as conn:
        for golden_id, record in conn.execute(
            sa.select(g.golden_id, g.record).where(g.status == "active")
        ):
            born = (record or {}).get("birth_date")
            if born:
                day = dt.date.fromisoformat(born).replace(year=first.year)
                if 0 <= (day - first).days <= days:
                    found.add(golden_id)
    return found


def test_analyse_opens_birthday_items_once_however_often_it_runs(hub: ResolvedHub) -> None:
    rules = lists({"name": "birthdays", "kind": "birthday", "days": 60, "owner": "sam"})
    config = with_lists(hub, rules)
    expected = birthdays_within(hub, DEMO_AS_OF, 60)
    assert len(expected) >= 2  # the demo's people have birthdays on 15 March and 22 April

    first = analyse_store(config, hub.store, as_of=DEMO_AS_OF)
    opened = items(hub, "birthdays")
    assert {i.golden_id for i in opened} == expected
    assert first.worklist[0].opened == len(expected) and first.worklist[0].already == 0
    for item in opened:
        assert item.kind == "birthday" and item.owner == "sam" and item.status == "open"
        assert item.channel == "phone" and item.topic == "Birthday"
        assert item.due_on.strftime("%m-%d") in ("03-15", "04-22")
        assert f"Birthday on {item.due_on:%d %B}" in item.reason
        assert item.rule_key == f"birthdays|{item.golden_id}|{item.due_on.isoformat()}"
        assert events(hub, item.id) == ["created"]
        with hub.store.engine.connect() as conn:  # filed as a logged contact would be
            assert item.member == anchor_member(conn, item.golden_id)

    again = analyse_store(config, hub.store, as_of=DEMO_AS_OF)
    assert [i.id for i in items(hub, "birthdays")] == [i.id for i in opened]
    assert again.worklist[0].opened == 0 and again.worklist[0].already == len(expected)
    later = analyse_store(config, hub.store, as_of=DEMO_AS_OF + D)  # the next day's run
    new = birthdays_within(hub, DEMO_AS_OF + D, 60) - expected  # 1 May came into the window
    assert later.worklist[0].opened == len(new) == 1
    assert [i.id for i in items(hub, "birthdays")][: len(opened)] == [i.id for i in opened]
    assert all(events(hub, i.id) == ["created"] for i in opened)
    assert "worklist rule birthdays (birthday): 0 opened" in again.worklist[0].line()


def test_an_item_no_longer_applying_is_marked_not_closed_and_can_apply_again(
    hub: ResolvedHub,
) -> None:
    rules = lists(
        {"name": "renewals", "kind": "service", "days": 30, "lead_days": 7, "owner": "sam"}
    )
    golden_id = hub.crosswalk()[("erp", "1001")]
    set_traits(hub, golden_id, next_renewal="2026-03-20T00:00:00+00:00", equipment="Boiler X200")
    [run] = generate(hub, rules, DEMO_AS_OF)
    assert run.opened == 1
    [item] = items(hub, "renewals")
    assert (item.due_on, item.first_due_on) == (dt.date(2026, 3, 13), dt.date(2026, 3, 13))
    assert "Next renewal on 2026-03-20 (in 19 days); equipment: Boiler X200" in item.reason

    set_traits(hub, golden_id, next_renewal="2026-06-01")  # the contract was renewed early
    [run] = generate(hub, rules, DEMO_AS_OF + D)
    [stale] = items(hub, "renewals")
    assert (run.opened, run.no_longer_applies) == (0, 1)
    assert stale.status == "open" and stale.stale_since is not None
    assert stale.version == item.version + 1
    [run] = generate(hub, rules, DEMO_AS_OF + 2 * D)  # still not: marked once
    assert run.no_longer_applies == 0 and events(hub, item.id) == ["created", "no_longer_applies"]

    set_traits(hub, golden_id, next_renewal="2026-03-20")
    [run] = generate(hub, rules, DEMO_AS_OF + 3 * D)
    [back] = items(hub, "renewals")
    assert run.applies_again == 1 and back.stale_since is None and run.opened == 0
    assert events(hub, item.id) == ["created", "no_longer_applies", "applies_again"]


def test_a_valuable_customer_whose_risk_rose_since_the_previous_analysis(hub: ResolvedHub) -> None:
    rules = lists(
        {"name": "rising", "kind": "churn_rise", "min_value": 100, "min_rise": 0.2, "owner": "sam"}
    )
    rich, poor = hub.crosswalk()[("erp", "1001")], hub.crosswalk()[("erp", "1002")]
    set_traits(hub, rich, churn_risk=0.3, clv_12m=500.0, churn_reasons="no purchase in 95 days")
    set_traits(hub, poor, churn_risk=0.3, clv_12m=50.0)
    [run] = generate(hub, rules, DEMO_AS_OF)  # the first day: nothing to compare with
    assert run.opened == 0

    set_traits(hub, rich, churn_risk=0.65)
    set_traits(hub, poor, churn_risk=0.9)
    [run] = generate(hub, rules, DEMO_AS_OF + D)
    [item] = items(hub, "rising")
    assert run.opened == 1 and item.golden_id == rich and item.due_on == DEMO_AS_OF + D
    assert item.reason.startswith("Churn risk rose from 30 % to 65 % since the previous analysis")
    assert "reasons: no purchase in 95 days" in item.reason
    assert item.rule_data == {"risk": 0.65, "was": 0.3, "value": 500.0}

    [run] = generate(hub, rules, DEMO_AS_OF + D)  # analysed again the same day
    assert (run.opened, run.already, run.no_longer_applies) == (0, 1, 0)
    [run] = generate(hub, rules, DEMO_AS_OF + 2 * D)  # steady at 0.65: no new item, still holds
    assert (run.opened, run.no_longer_applies) == (0, 0) and len(items(hub, "rising")) == 1
    set_traits(hub, rich, churn_risk=0.35)
    [run] = generate(hub, rules, DEMO_AS_OF + 3 * D)
    assert run.no_longer_applies == 1


def test_a_group_gets_items_in_turn_and_only_its_stewards(hub: ResolvedHub) -> None:
    ids = [hub.crosswalk()[("erp", str(n))] for n in (1001, 1002, 1003, 1004, 1005)]
    for golden_id in ids:
        set_traits(hub, golden_id, tenure_days=2.0)
    rules = lists(
        {"name": "welcome", "kind": "welcome", "days": 14, "after_days": 2, "group": "desk"},
        desk=["sam", "vera", "alice", "nobody"],  # vera is a viewer, nobody is no user
    )
    [run] = generate(hub, rules, DEMO_AS_OF)
    opened = items(hub, "welcome")
    assert run.opened == len(opened) >= 5
    owners = [i.owner for i in opened]
    assert owners[:4] == ["sam", "alice", "sam", "alice"]
    assert all(i.due_on == DEMO_AS_OF for i in opened if i.golden_id in ids)  # 2 days + 2 after
    assert all(
        i.reason.startswith("New customer since 2026-02-27.") for i in opened if i.golden_id in ids
    )


def test_an_owner_who_cannot_work_the_worklist_skips_the_rule_with_a_reason(
    hub: ResolvedHub,
) -> None:
    rules = lists(
        {"name": "viewer_owned", "kind": "birthday", "days": 60, "owner": "vera"},
        {"name": "birthdays", "kind": "birthday", "days": 60, "owner": "alice"},
    )
    skipped, ran = generate(hub, rules, DEMO_AS_OF)
    assert skipped.skipped and "'vera' is not an active steward or admin" in skipped.line()
    assert items(hub, "viewer_owned") == [] and ran.opened >= 2


def test_a_rule_item_is_on_the_worklist_and_done_goes_to_the_timeline(hub: ResolvedHub) -> None:
    rules = lists({"name": "birthdays", "kind": "birthday", "days": 30, "owner": "sam"})
    generate(hub, rules, DEMO_AS_OF)
    with hub.store.engine.connect() as conn:
        listed = list_worklist(conn, owner="sam", today=DEMO_AS_OF).items
    [item] = [i for i in listed if i.kind == "birthday"]
    assert item.reason.startswith("Birthday on 15 March") and not item.overdue
    with hub.store.transaction() as conn:
        contact, _ = complete_item(conn, "sam", item.id, "reached, sends thanks")
    i = interactions.c
    with hub.store.engine.connect() as conn:
        row = conn.execute(
            sa.select(i.subject, i.status).where(i.source_id == contact.split("/", 1)[1])
        ).one()
    assert (row.subject, row.status) == ("Birthday", "reached, sends thanks")
    [run] = generate(hub, rules, DEMO_AS_OF)  # done is done: not opened again
    assert run.opened == 0 and run.already == 1


CHECKS = [
    ({"name": "b", "kind": "birthday", "trait": "birthdate", "owner": "sam"},
     "worklists.rules[0].trait: unknown trait 'birthdate' (known: "),
    ({"name": "r", "kind": "churn_rise", "value_trait": "clv", "owner": "sam"},
     "worklists.rules[0].value_trait: unknown trait 'clv'"),
    ({"name": "s", "kind": "service", "trait": "next_service", "owner": "sam"},
     "worklists.rules[0].trait: unknown trait 'next_service'"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "message"), CHECKS)
def test_an_unknown_trait_is_refused_by_key_path_before_analyse_runs(
    hub: ResolvedHub, rule: dict[str, Any], message: str
) -> None:
    config = with_lists(hub, lists(rule))
    with pytest.raises(ConfigError) as error:
        check_worklists(config)
    assert str(error.value).startswith(message)
    with pytest.raises(ConfigError, match="unknown trait"):
        analyse_store(config, hub.store, as_of=DEMO_AS_OF)


def test_a_merge_does_not_open_the_same_item_again_under_the_survivor(hub: ResolvedHub) -> None:
    rules = lists({"name": "renewals", "kind": "service", "days": 30, "owner": "sam"})
    xw = hub.crosswalk()
    first, second = xw[("erp", "1001")], xw[("erp", "1002")]
    set_traits(hub, second, next_renewal="2026-03-20")
    assert generate(hub, rules, DEMO_AS_OF)[0].opened == 1
    with hub.store.transaction() as conn:
        merge_golden(conn, hub.settings, "sam", [first, second], {})
    g = golden_records.c
    with hub.store.engine.connect() as conn:
        survivor = conn.execute(
            sa.select(g.golden_id).where(g.golden_id.in_([first, second]), g.status == "active")
        ).scalar_one()
    with hub.store.transaction() as conn:  # as the next analyse writes it: one profile
        conn.execute(
            customer_profiles.update()
            .where(customer_profiles.c.golden_id == survivor)
            .values(traits={"next_renewal": "2026-03-20"})
        )
        if survivor != second:
            conn.execute(customer_profiles.delete().where(customer_profiles.c.golden_id == second))
    [run] = generate(hub, rules, DEMO_AS_OF + D)
    assert (run.opened, run.already, run.no_longer_applies) == (0, 1, 0)
    assert len(items(hub, "renewals")) == 1


def test_crmhub_check_refuses_an_unknown_trait_in_a_rule(tmp_path: Path) -> None:
    write_example(tmp_path)
    hub_yaml = tmp_path / "hub.yaml"
    rule = (
        "\nworklists:\n  rules:\n    - {name: bd, kind: birthday, trait: birthdate, owner: sam}\n"
    )
    hub_yaml.write_text(hub_yaml.read_text() + rule)
    done = crmhub("check", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "worklists.rules[0].trait: unknown trait 'birthdate' (known: " in done.stderr


def test_failed_worklist_rules_are_said_on_the_run_and_the_analysis_stands(
    hub: ResolvedHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection (the store cannot be made to fail on cue): rule generation raises
    after the analysis committed; the run stays succeeded and carries the failure."""
    import hub.analyse.run as analyse_run
    from hub.core.errors import HubError
    from hub.core.states import RunStatus
    from hub.store.tables import analysis_runs

    def broken(*_args: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(analyse_run, "generate_worklists", broken)
    rules = lists({"name": "birthdays", "kind": "birthday", "days": 60, "owner": "sam"})
    config = with_lists(hub, rules)
    with pytest.raises(HubError, match="worklist rules failed: disk full") as info:
        analyse_store(config, hub.store, as_of=DEMO_AS_OF)
    assert "the analysis itself succeeded" in str(info.value)
    r = analysis_runs.c
    with hub.store.engine.connect() as conn:
        status, error = conn.execute(
            sa.select(r.status, r.error).order_by(r.id.desc()).limit(1)
        ).one()
    assert status == RunStatus.SUCCEEDED
    assert error == "worklist rules failed: disk full"
