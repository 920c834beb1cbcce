"""Audiences synced into Tryton (destination kind `system`) against a live trytond: a party
category named after the audience added on entry and removed on exit, a second sync writes
nothing, a killed sync re-run writes each change once, a refused party lands in
push_failures with Tryton's message, and the next Tryton sync counts the category change
as the hub's own write (echo)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.analyse import analyse_store
from hub.core.retry import RetryPolicy
from hub.push.audiences import DestinationSync, connector_name, sync_audiences
from hub.push.system_destinations import SystemSender
from hub.resolve.run import resolve_store
from hub.store.database import Store
from hub.store.tables import crosswalk, push_failures
from hub.sync.run import sync
from schemas.audiences import AudienceConfig, SystemDestination
from schemas.config import HubConfig, load_config
from tests.systems.dying_writer import DiesAfter, Killed
from tests.systems.tryton.seed import client, make_party
from tests.systems.tryton.server import TrytonServer
from tests.systems.tryton.test_sync import project

pytestmark = pytest.mark.filterwarnings("ignore:Stream is assumed to be unsorted")
NO_RETRY = RetryPolicy(attempts=1)


def hub(
    tmp_path: Path, tryton: TrytonServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[HubConfig, Store]:
    config = load_config(project(tmp_path, tryton, monkeypatch))
    store = Store.from_config(config)
    store.migrate()
    [result] = sync(config, store, retry=NO_RETRY)
    assert result.ok, result.error
    resolve_store(config, store, actor="test")
    analyse_store(config, store)
    return config, store


def parties(tryton: TrytonServer, count: int) -> list[int]:
    """New parties with unique e-mails, so the resolver keeps them apart."""
    seeder = client(tryton)
    tag = uuid.uuid4().hex[:8]
    made = [
        make_party(seeder, f"Audience {tag} {n}", email=f"aud-{tag}-{n}@example.com")
        for n in range(count)
    ]
    seeder.close()
    return made


def golden_ids(store: Store, party_ids: list[int]) -> list[str]:
    x = crosswalk.c
    with store.engine.connect() as conn:
        found = dict(
            conn.execute(
                sa.select(x.source_id, x.golden_id).where(
                    x.source == "erp", x.source_id.in_([str(p) for p in party_ids])
                )
            ).all()
        )
    return [str(found[str(p)]) for p in party_ids]


def with_audience(config: HubConfig, name: str, members: list[str]) -> HubConfig:
    audience = AudienceConfig.model_validate(
        {
            "name": name,
            "rule": {"trait": "golden_id", "in": members},
            "destinations": [{"kind": "system", "name": "erp", "connector": "erp"}],
        }
    )
    return config.model_copy(update={"audiences": [audience]})


def sender(config: HubConfig, store: Store) -> SystemSender:
    [dest] = config.audiences[0].destinations
    assert isinstance(dest, SystemDestination)
    return SystemSender(config, store, config.audiences[0].name, dest, retry=NO_RETRY)


def run(config: HubConfig, store: Store, out: SystemSender) -> DestinationSync:
    name = config.audiences[0].name
    [result] = sync_audiences(config, store, senders={(name, "erp"): out})
    return result


def categories(tryton: TrytonServer, party_id: int) -> list[str]:
    reader = client(tryton)
    row = reader.call("party.party", "read", [party_id], ["categories.name"])[0]
    reader.close()
    return sorted(str(c["name"]) for c in row["categories."])


def test_category_added_second_sync_writes_nothing_exits_remove_it(
    tmp_path: Path, tryton: TrytonServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = parties(tryton, 3)
    base, store = hub(tmp_path, tryton, monkeypatch)
    gids = golden_ids(store, made)
    name = f"aud_{uuid.uuid4().hex[:8]}"
    config = with_audience(base, name, gids)

    first = sender(config, store)
    result = run(config, store, first)
    assert (result.entered, result.exited, result.failed, first.writes) == (3, 0, 0, 3)
    assert all(categories(tryton, p) == [name] for p in made)

    second = sender(config, store)
    again = run(config, store, second)
    assert (again.sent, again.retried, again.failed, second.writes) == (0, 0, 0, 0)

    [read] = sync(config, store, retry=NO_RETRY)  # the categories read back: our echo
    assert read.ok, read.error
    assert (read.counts.updated, read.counts.echoed) == (0, 3)

    narrowed = with_audience(base, name, gids[:1])
    third = sender(narrowed, store)
    out = run(narrowed, store, third)
    assert (out.entered, out.exited, third.writes) == (0, 2, 2)
    assert [categories(tryton, p) for p in made] == [[name], [], []]


def test_killed_sync_rerun_writes_each_change_once(
    tmp_path: Path, tryton: TrytonServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = parties(tryton, 4)
    base, store = hub(tmp_path, tryton, monkeypatch)
    name = f"aud_{uuid.uuid4().hex[:8]}"
    config = with_audience(base, name, golden_ids(store, made))
    dying = sender(config, store)
    dying.writer = DiesAfter(dying.writer, left=1)
    with pytest.raises(Killed):
        run(config, store, dying)
    assert sorted(len(categories(tryton, p)) for p in made) == [0, 0, 0, 1]

    rerun = sender(config, store)
    result = run(config, store, rerun)
    assert (result.entered, result.failed, rerun.writes) == (3, 0, 3)  # 1 + 3 = 4 changes
    assert all(categories(tryton, p) == [name] for p in made)


def test_refused_party_kept_in_push_failures_with_trytons_message(
    tmp_path: Path, tryton: TrytonServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept, gone = parties(tryton, 2)
    base, store = hub(tmp_path, tryton, monkeypatch)
    name = f"aud_{uuid.uuid4().hex[:8]}"
    config = with_audience(base, name, golden_ids(store, [kept, gone]))
    remover = client(tryton)
    remover.call("party.party", "delete", [gone])  # deleted in Tryton after the last sync
    remover.close()

    result = run(config, store, sender(config, store))
    assert (result.entered, result.failed) == (1, 1)
    assert categories(tryton, kept) == [name]
    with store.engine.connect() as conn:
        [failure] = conn.execute(
            sa.select(push_failures).where(push_failures.c.connector == connector_name(name, "erp"))
        ).all()
    assert failure.golden_id == golden_ids(store, [gone])[0]
    assert failure.error.startswith(f"tryton: marking audience on party {gone}: ")
    assert "don't exist" in failure.error  # Tryton's own message
