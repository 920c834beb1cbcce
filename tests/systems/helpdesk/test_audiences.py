"""Audiences synced into django-helpdesk (destination kind `system`) against the live
server: django-helpdesk has no per-customer field, so membership goes into the ticket custom
field `crmhub_audiences` of each of the submitter's tickets (audience names, comma-separated).
A second sync writes nothing, a killed sync re-run writes each change once, a customer whose
tickets are gone lands in push_failures with the writer's message, and the next helpdesk
sync counts the changed tickets as the hub's own write (echo)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.analyse import analyse_store
from hub.core.retry import RetryPolicy
from hub.push.audiences import DestinationSync, connector_name, sync_audiences
from hub.push.system_destinations import SystemSender
from hub.resolve.run import resolve_store
from hub.store.tables import crosswalk, push_failures
from schemas.audiences import AudienceConfig, SystemDestination
from schemas.config import HubConfig
from tests.systems.dying_writer import DiesAfter, Killed
from tests.systems.helpdesk.conftest import Seeded
from tests.systems.helpdesk.test_sync import Project

NO_RETRY = RetryPolicy(attempts=1)


@pytest.fixture
def project(tmp_path: Path, helpdesk: Seeded, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    p = Project(tmp_path, helpdesk, monkeypatch)
    yield p
    p.store.dispose()


FIELD = "custom_crmhub_audiences"


def contacts(helpdesk: Seeded, count: int) -> tuple[list[str], list[int]]:
    """New submitters with two tickets each, unknown to the session's other tests."""
    tag = uuid.uuid4().hex[:8]
    emails = [f"aud-{tag}-{n}@example.com" for n in range(count)]
    tickets = [
        int(helpdesk.server.create_ticket(f"Audience {tag} {n}/{k}", email)["id"])
        for n, email in enumerate(emails)
        for k in (1, 2)
    ]
    return emails, tickets


def hub(project: Project) -> HubConfig:
    config = project.config()
    first = project.sync()
    assert first.ok, first.error
    resolve_store(config, project.store, actor="test")
    analyse_store(config, project.store)
    return config


def golden_ids(project: Project, emails: list[str]) -> list[str]:
    x = crosswalk.c
    with project.store.engine.connect() as conn:
        found = dict(
            conn.execute(
                sa.select(x.source_id, x.golden_id).where(
                    x.source == "support", x.source_id.in_(emails)
                )
            ).all()
        )
    return [str(found[e]) for e in emails]


def with_audience(config: HubConfig, name: str, members: list[str]) -> HubConfig:
    audience = AudienceConfig.model_validate(
        {
            "name": name,
            "rule": {"trait": "golden_id", "in": members},
            "destinations": [{"kind": "system", "name": "desk", "connector": "support"}],
        }
    )
    return config.model_copy(update={"audiences": [audience]})


def sender(config: HubConfig, project: Project) -> SystemSender:
    [dest] = config.audiences[0].destinations
    assert isinstance(dest, SystemDestination)
    name = config.audiences[0].name
    return SystemSender(config, project.store, name, dest, retry=NO_RETRY)


def run(config: HubConfig, project: Project, out: SystemSender) -> DestinationSync:
    name = config.audiences[0].name
    [result] = sync_audiences(config, project.store, senders={(name, "desk"): out})
    return result


def marks(helpdesk: Seeded, tickets: list[int]) -> list[Any]:
    return [helpdesk.server.ticket(t)[FIELD] for t in tickets]


def test_tickets_marked_second_sync_writes_nothing_exits_clear(
    project: Project, helpdesk: Seeded
) -> None:
    emails, tickets = contacts(helpdesk, 2)
    config = hub(project)
    gids = golden_ids(project, emails)
    name = f"aud_{uuid.uuid4().hex[:8]}"
    audience = with_audience(config, name, gids)

    first = sender(audience, project)
    result = run(audience, project, first)
    assert (result.entered, result.failed, first.writes) == (2, 0, 2)
    assert marks(helpdesk, tickets) == [name] * 4  # both tickets of each submitter

    second = sender(audience, project)
    again = run(audience, project, second)
    assert (again.sent, again.failed, second.writes) == (0, 0, 0)

    read = project.sync(NO_RETRY)  # the tickets read back: the hub's own write
    assert read.ok, read.error
    assert (read.counts.updated, read.counts.echoed) == (0, 4)

    narrowed = with_audience(config, name, gids[:1])
    third = sender(narrowed, project)
    out = run(narrowed, project, third)
    assert (out.exited, third.writes) == (1, 1), (out, gids)
    assert marks(helpdesk, tickets) == [name, name, "-", "-"]  # the API refuses blank


def test_killed_sync_rerun_writes_each_change_once(project: Project, helpdesk: Seeded) -> None:
    emails, tickets = contacts(helpdesk, 3)
    config = hub(project)
    name = f"aud_{uuid.uuid4().hex[:8]}"
    audience = with_audience(config, name, golden_ids(project, emails))
    dying = sender(audience, project)
    dying.writer = DiesAfter(dying.writer, left=1)
    with pytest.raises(Killed):
        run(audience, project, dying)
    assert sorted(m or "" for m in marks(helpdesk, tickets)) == ["", "", "", "", name, name]

    rerun = sender(audience, project)
    result = run(audience, project, rerun)
    assert (result.entered, result.failed, rerun.writes) == (2, 0, 2)
    assert marks(helpdesk, tickets) == [name] * 6


def test_customer_without_tickets_kept_in_push_failures_with_the_message(
    project: Project, helpdesk: Seeded
) -> None:
    emails, tickets = contacts(helpdesk, 2)
    config = hub(project)
    name = f"aud_{uuid.uuid4().hex[:8]}"
    audience = with_audience(config, name, golden_ids(project, emails))
    for ticket in tickets[2:]:  # the second submitter's tickets deleted after the last sync
        helpdesk.server.api("DELETE", f"tickets/{ticket}/")

    result = run(audience, project, sender(audience, project))
    assert (result.entered, result.failed) == (1, 1)
    with project.store.engine.connect() as conn:
        [failure] = conn.execute(
            sa.select(push_failures).where(
                push_failures.c.connector == connector_name(name, "desk")
            )
        ).all()
    assert failure.golden_id == golden_ids(project, emails[1:])[0]
    assert failure.error == f"django-helpdesk has no ticket submitted by {emails[1]!r}"
