"""Audience sync against a real local webhook receiver (http.server on 127.0.0.1 in a thread:
it checks the HMAC signature, records idempotency keys, and can answer 500 or 400 or be
down) and the file destination, on the demo hub (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from analytics.audiences import matches
from hub.analyse import analyse_store
from hub.analyse.audiences import stored_profile_frame
from hub.push.audiences import connector_name, sync_audiences
from hub.push.destinations import AudienceChange, Destination, DestinationDown
from hub.store.locks import LockError, hub_lock
from hub.store.tables import (
    audience_cursors,
    audience_events,
    audience_members,
    customer_profiles,
    push_failures,
    push_runs,
)
from schemas.audiences import AudienceConfig, Rule
from tests.hub.conftest import ResolvedHub
from tests.hub.helpers import DEMO_AS_OF

SECRET = "s3cret-for-tests"
BUYERS = {"trait": "frequency", "gte": 1}


@dataclass
class Receiver:
    """What the local webhook receiver saw, and how it answers next."""

    answers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # then 200 {}
    requests: list[dict[str, Any]] = field(default_factory=list)
    batch_keys: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    url: str = ""

    @property
    def keys(self) -> list[str]:
        return [c["idempotency_key"] for r in self.requests for c in r["changes"]]

    @property
    def applied(self) -> dict[str, dict[str, Any]]:
        """Changes by idempotency key: what a receiver that deduplicates applies."""
        return {c["idempotency_key"]: c for r in self.requests for c in r["changes"]}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    seen = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(self.headers.get("X-Crmhub-Signature", ""), expected):
                seen.bad_signatures += 1
                self._answer(401, {"error": "bad signature"})
                return
            status, answer = seen.answers.pop(0) if seen.answers else (200, {})
            if 200 <= status < 300:  # only a delivered batch counts as received
                seen.requests.append(json.loads(body))
                seen.batch_keys.append(self.headers["Idempotency-Key"])
            self._answer(status, answer)

        def _answer(self, status: int, answer: dict[str, Any]) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    seen.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/crm?token=abc"
    yield seen
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def with_audiences(hub: ResolvedHub, *audiences: dict[str, Any]) -> ResolvedHub:
    parsed = [AudienceConfig.model_validate(a) for a in audiences]
    return ResolvedHub(hub.config.model_copy(update={"audiences": parsed}), hub.store, hub.settings)


def webhook(batch_size: int = 500, retries: int = 2) -> dict[str, Any]:
    return {
        "kind": "webhook",
        "url": "${HOOK_URL}",
        "secret": "${HOOK_SECRET}",
        "batch_size": batch_size,
        "retries": retries,
        "backoff_seconds": 0,
        "timeout_seconds": 5,
    }


def audience(rule: dict[str, Any], *destinations: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "buyers", "rule": rule, "destinations": list(destinations), **extra}


def expected_members(hub: ResolvedHub, rule: dict[str, Any]) -> set[str]:
    parsed = Rule.model_validate(rule)
    with hub.store.engine.connect() as conn:
        frame, _ = stored_profile_frame(conn)
    return {r["golden_id"] for r in frame.to_dict("records") if matches(parsed, r)}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> None:
    monkeypatch.setenv("HOOK_URL", receiver.url)
    monkeypatch.setenv("HOOK_SECRET", SECRET)


def rows(hub: ResolvedHub, table: sa.Table) -> list[dict[str, Any]]:
    with hub.store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table)).mappings()]


@pytest.mark.usefixtures("env")
def test_first_sync_sends_every_member_signed_and_a_second_sends_nothing(
    hub: ResolvedHub, receiver: Receiver, tmp_path: Path
) -> None:
    files = {"kind": "file", "path": "exports", "format": "jsonl"}
    hub = with_audiences(hub, audience(BUYERS, webhook(), files, fields=["stage", "clv_12m"]))
    members = expected_members(hub, BUYERS)
    assert 0 < len(members) < 11  # the demo has buyers and prospects

    first = sync_audiences(hub.config, hub.store)
    assert [(r.destination, r.entered, r.exited, r.failed) for r in first] == [
        ("webhook", len(members), 0, 0),
        ("file", len(members), 0, 0),
    ]
    assert receiver.bad_signatures == 0 and len(receiver.requests) == 1
    sent = receiver.requests[0]["changes"]
    assert {c["golden_id"] for c in sent} == members and {c["event"] for c in sent} == {"entered"}
    assert set(sent[0]["fields"]) == {"stage", "clv_12m"}
    assert all(k.startswith("buyers:") and k.endswith(f":entered:{c['event_id']}")
               for k, c in zip(receiver.keys, sent, strict=True))  # fmt: skip
    written = sorted((hub.config.base_dir / "exports").iterdir())
    assert len(written) == 1 and written[0].suffix == ".jsonl"
    lines = [json.loads(line) for line in written[0].read_text().splitlines()]
    assert [c["idempotency_key"] for c in lines] == receiver.keys

    again = sync_audiences(hub.config, hub.store)
    assert [r.sent for r in again] == [0, 0] and len(receiver.requests) == 1
    assert len(list((hub.config.base_dir / "exports").iterdir())) == 1
    statuses = [r["status"] for r in rows(hub, push_runs) if r["mode"] == "audience"]
    assert statuses == ["succeeded"] * 4


@pytest.mark.usefixtures("env")
def test_analyse_recomputes_and_only_entered_and_exited_are_sent(
    hub: ResolvedHub, receiver: Receiver
) -> None:
    rule = {"trait": "recency_days", "lte": 40}
    hub = with_audiences(hub, audience(rule, webhook()))
    sync_audiences(hub.config, hub.store)
    before = expected_members(hub, rule)
    later = analyse_store(hub.config, hub.store, as_of=DEMO_AS_OF + dt.timedelta(days=30))
    after = expected_members(hub, rule)
    change = later.audiences[0]
    assert later.line().endswith(
        f"; audience buyers: {len(after):,} members (+{change.entered} -{change.exited})"
    )
    assert (change.entered, change.exited) == (len(after - before), len(before - after))
    assert change.exited > 0  # a month later, some recent buyers are no longer recent

    [result] = sync_audiences(hub.config, hub.store)
    assert (result.entered, result.exited) == (change.entered, change.exited)
    last = receiver.requests[-1]["changes"]
    assert {c["golden_id"] for c in last if c["event"] == "exited"} == before - after
    assert {m["golden_id"] for m in rows(hub, audience_members)} == after
    history = rows(hub, audience_events)  # append-only: every entry and exit, with its time
    assert len(history) == len(before) + change.entered + change.exited
    assert all(isinstance(e["at"], dt.datetime) for e in history)


class KilledAfterDelivery:
    """A destination whose process dies right after the receiver took the first batch, before
    the hub could record it (the worst moment for a kill)."""

    def __init__(self, inner: Destination) -> None:
        self.inner, self.name, self.calls = inner, inner.name, 0

    def deliver(self, changes: Any) -> dict[int, str]:
        refused = self.inner.deliver(changes)
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return refused

    def close(self) -> None:
        self.inner.close()


@pytest.mark.usefixtures("env")
def test_a_killed_sync_rerun_sends_each_change_once(hub: ResolvedHub, receiver: Receiver) -> None:
    from hub.push.destinations import WebhookSender

    hub = with_audiences(hub, audience(BUYERS, webhook(batch_size=2)))
    members = expected_members(hub, BUYERS)
    assert len(members) > 4
    dest = hub.config.audiences[0].destinations[0]
    killer = KilledAfterDelivery(WebhookSender("buyers", dest))  # type: ignore[arg-type]
    with pytest.raises(KeyboardInterrupt):
        sync_audiences(hub.config, hub.store, senders={("buyers", "webhook"): killer})
    assert len(receiver.requests) == 2  # two batches reached the receiver, one was recorded
    [rerun] = sync_audiences(hub.config, hub.store)
    assert rerun.entered == len(members) - 2  # the unrecorded batch is sent again...
    assert receiver.batch_keys[1] == receiver.batch_keys[2]  # ...with the same keys
    assert len(receiver.keys) == len(members) + 2
    assert {c["golden_id"] for c in receiver.applied.values()} == members
    assert len(receiver.applied) == len(members)  # each change applied once
    [nothing] = sync_audiences(hub.config, hub.store)
    assert nothing.sent == 0


def test_receiver_down_for_the_whole_run_is_one_line_and_changes_nothing(
    hub: ResolvedHub, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("HOOK_URL", f"http://127.0.0.1:{free_port()}/hook?token=hidden")
    hub = with_audiences(hub, audience(BUYERS, webhook(retries=2)))
    with pytest.raises(DestinationDown) as info:
        sync_audiences(hub.config, hub.store)
    message = str(info.value)
    assert "\n" not in message and "unreachable after 3 attempt(s)" in message
    assert "token=hidden" not in message and "next `crmhub audiences sync`" in message
    assert rows(hub, audience_cursors) == []
    [run] = [r for r in rows(hub, push_runs) if r["mode"] == "audience"]
    assert run["status"] == "failed" and "unreachable" in run["error"]

    monkeypatch.setenv("HOOK_URL", receiver.url)  # back up: everything due is sent
    [result] = sync_audiences(hub.config, hub.store)
    assert result.entered == len(expected_members(hub, BUYERS)) == len(receiver.keys)


@pytest.mark.usefixtures("env")
def test_5xx_is_retried_with_the_same_key_and_4xx_kept_as_failures_then_retried(
    hub: ResolvedHub, receiver: Receiver
) -> None:
    hub = with_audiences(hub, audience(BUYERS, webhook(batch_size=3)))
    members = expected_members(hub, BUYERS)
    receiver.answers = [
        (503, {}),
        (500, {}),  # first batch: two 5xx, delivered on the third attempt
        (400, {"error": "unknown customer"}),  # second batch: refused whole
    ]
    [first] = sync_audiences(hub.config, hub.store)
    assert first.failed == 3 and first.entered == len(members) - 3
    failures = rows(hub, push_failures)
    assert len(failures) == 3
    assert {f["connector"] for f in failures} == {connector_name("buyers", "webhook")}
    assert all(f["error"] == 'HTTP 400: {"error": "unknown customer"}' for f in failures)

    [second] = sync_audiences(hub.config, hub.store)  # the refused ones are retried first
    assert (second.retried, second.sent, second.failed) == (3, 0, 0)
    assert rows(hub, push_failures) == []
    assert {c["golden_id"] for c in receiver.applied.values()} == members
    assert len(receiver.keys) == len(members)


@pytest.mark.usefixtures("env")
def test_a_change_refused_in_the_answer_is_kept_and_a_later_change_supersedes_it(
    hub: ResolvedHub, receiver: Receiver
) -> None:
    hub = with_audiences(hub, audience(BUYERS, webhook()))
    with hub.store.engine.connect() as conn:
        frame, _ = stored_profile_frame(conn)
    receiver.answers = [(200, {"rejected": []})]  # filled below, once the keys are known

    class Peek:
        name = "webhook"

        def __init__(self, inner: Destination) -> None:
            self.inner = inner

        def deliver(self, changes: list[AudienceChange]) -> dict[int, str]:
            receiver.answers = [
                (200, {"rejected": [{"idempotency_key": changes[0].key, "error": "no e-mail"}]})
            ]
            return self.inner.deliver(changes)

        def close(self) -> None:
            self.inner.close()

    from hub.push.destinations import WebhookSender

    dest = hub.config.audiences[0].destinations[0]
    peek = Peek(WebhookSender("buyers", dest))  # type: ignore[arg-type]
    [first] = sync_audiences(hub.config, hub.store, senders={("buyers", "webhook"): peek})
    assert first.failed == 1 and first.refusals[0][1] == "no e-mail"
    [failure] = rows(hub, push_failures)
    assert failure["error"] == "no e-mail"
    refused = failure["golden_id"]
    # the customer leaves the audience before the next sync: the refused entry is dropped
    narrower = {"all": [BUYERS, {"trait": "golden_id", "ne": refused}]}
    hub = with_audiences(hub, audience(narrower, webhook()))
    [second] = sync_audiences(hub.config, hub.store)
    assert (second.superseded, second.retried, second.exited) == (1, 0, 1)
    assert rows(hub, push_failures) == [] and len(frame) > 0


def test_csv_files_are_formula_safe_and_written_atomically(hub: ResolvedHub) -> None:
    target = hub.config.base_dir / "out"
    dest = {"kind": "file", "path": str(target), "format": "csv"}
    hub = with_audiences(hub, audience(BUYERS, dest, fields=["churn_reasons", "stage"]))
    with hub.store.transaction() as conn:
        conn.execute(customer_profiles.update().values(churn_reasons='=HYPERLINK("x")'))
    [result] = sync_audiences(hub.config, hub.store)
    [written] = list(target.iterdir())  # no temporary file left beside it
    assert written.name.startswith("buyers-") and written.suffix == ".csv"
    table = list(csv.DictReader(written.open(encoding="utf-8")))
    assert len(table) == result.entered > 0
    assert list(table[0]) == [
        "event_id", "idempotency_key", "audience", "event", "golden_id", "at",
        "churn_reasons", "stage",
    ]  # fmt: skip
    assert {r["churn_reasons"] for r in table} == {'\'=HYPERLINK("x")'}


@pytest.mark.usefixtures("env")
def test_dry_run_shows_entered_and_exited_per_destination_and_sends_nothing(
    hub: ResolvedHub, receiver: Receiver
) -> None:
    files = {"kind": "file", "path": "exports", "format": "csv"}
    hub = with_audiences(hub, audience(BUYERS, webhook(), files))
    analyse_store(hub.config, hub.store, as_of=DEMO_AS_OF)  # computes the membership
    dry = sync_audiences(hub.config, hub.store, dry_run=True)
    members = len(expected_members(hub, BUYERS))
    assert [(r.destination, r.entered, r.exited) for r in dry] == [
        ("webhook", members, 0),
        ("file", members, 0),
    ]
    assert "would send" in dry[0].summary() and receiver.requests == []
    assert not (hub.config.base_dir / "exports").exists() and rows(hub, audience_cursors) == []


@pytest.mark.usefixtures("env")
def test_an_edited_rule_waits_for_a_running_analysis(hub: ResolvedHub) -> None:
    """Events are appended by one writer at a time (their ids then grow in commit order):
    recomputing an edited audience is refused while an analysis runs, and nothing moves."""
    hub = with_audiences(hub, audience(BUYERS, webhook()))
    with hub_lock(hub.store, "analyse"), pytest.raises(LockError, match="analyse"):
        sync_audiences(hub.config, hub.store)
    assert rows(hub, audience_events) == [] and rows(hub, audience_cursors) == []


def warehouse_rows(url: str, table: str) -> dict[str, dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text(f"SELECT golden_id, event_id, fields FROM {table}"))
            return {r.golden_id: {"event_id": r.event_id, **json.loads(r.fields)} for r in found}
    finally:
        engine.dispose()


def test_sql_table_holds_the_members_now_and_a_batch_sent_again_changes_nothing(
    hub: ResolvedHub,
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hub.push.audiences import _change  # the stored events as the senders get them
    from hub.push.destinations import SqlTableSender

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    else:
        url = request.getfixturevalue("pg_server").create_database()
    monkeypatch.setenv("WAREHOUSE_URL", url)
    dest = {"kind": "sql", "url": "${WAREHOUSE_URL}", "table": "win_back"}
    hub = with_audiences(hub, audience(BUYERS, dest, fields=["stage"]))
    members = expected_members(hub, BUYERS)
    [first] = sync_audiences(hub.config, hub.store)
    assert first.entered == len(members)
    table = warehouse_rows(url, "win_back")
    assert set(table) == members and all(row["stage"] for row in table.values())

    recent = {"all": [BUYERS, {"trait": "recency_days", "lte": 40}]}
    narrower = expected_members(hub, recent)
    assert 0 < len(narrower) < len(members)
    hub = with_audiences(hub, audience(recent, dest, fields=["stage"]))
    [second] = sync_audiences(hub.config, hub.store)
    assert (second.entered, second.exited) == (0, len(members - narrower))
    assert set(warehouse_rows(url, "win_back")) == narrower

    # every event sent again (a sync killed before its cursor moved): the table stays as it is
    before = warehouse_rows(url, "win_back")
    with hub.store.engine.connect() as conn:
        events = [
            _change(r)
            for r in conn.execute(sa.select(audience_events).order_by(audience_events.c.id))
        ]
    config = hub.config.audiences[0].destinations[0]
    again = SqlTableSender("buyers", config)  # type: ignore[arg-type]
    try:
        assert again.deliver(events) == {}
    finally:
        again.close()
    assert warehouse_rows(url, "win_back") == before
