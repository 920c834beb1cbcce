"""`crmhub collect` as a real subprocess, driven by the official segment-analytics-python."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import requests
import segment.analytics as analytics
from segment.analytics.request import APIError
from typer.testing import CliRunner

from hub.cli import app
from schemas.config import ConfigError
from tests.systems.web.conftest import WRITE_KEY, WRITE_KEY_ENV, events_url_of, rejects, stored

Collector = tuple[Path, str]


def client(base_url: str, key: str = WRITE_KEY, **options: Any) -> analytics.Client:
    return analytics.Client(write_key=key, host=base_url, max_retries=0, **options)


def by_id(project: Path) -> dict[str, dict[str, Any]]:
    return {row["message_id"]: row for row in stored(events_url_of(project))}


def test_identify_track_page_screen_alias_from_the_official_client(collector: Collector) -> None:
    project, base_url = collector
    segment = client(base_url, sync_mode=True)
    segment.identify(
        "user-1",
        {"email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"},
        anonymous_id="anon-1",
        message_id="c-identify",
    )
    segment.track(
        "user-1", "Order Completed", {"revenue": 42.5, "currency": "eur"}, message_id="c-track"
    )
    segment.page(
        anonymous_id="anon-1",
        name="Pricing",
        properties={"url": "https://x.test/p"},
        message_id="c-page",
    )
    segment.screen("user-1", name="Home", message_id="c-screen")
    segment.alias("anon-old", "user-1", message_id="c-alias")
    rows = by_id(project)
    identify, track, page = rows["c-identify"], rows["c-track"], rows["c-page"]
    assert (identify["type"], identify["user_id"], identify["anonymous_id"]) == (
        "identify",
        "user-1",
        "anon-1",
    )
    assert json.loads(identify["payload"])["traits"]["firstName"] == "Ada"
    assert (track["event"], page["event"], page["user_id"]) == ("Order Completed", "Pricing", None)
    assert (rows["c-screen"]["type"], rows["c-alias"]["previous_id"]) == ("screen", "anon-old")
    payload = json.loads(track["payload"])
    assert payload["context"]["library"]["name"] == "analytics-python"
    assert "writeKey" not in payload and payload["receivedAt"].endswith("+00:00")
    assert track["timestamp"].endswith("+00:00")


def test_batches_from_the_async_client_gzip_included(collector: Collector) -> None:
    project, base_url = collector
    for use_gzip in (False, True):
        segment = client(base_url, gzip=use_gzip, upload_size=7, upload_interval=0.05)
        for n in range(20):
            segment.track(
                f"batch-user-{n % 3}", "Clicked", {"n": n}, message_id=f"b-{use_gzip}-{n}"
            )
        segment.flush()
        segment.join()
    rows = by_id(project)
    assert all(f"b-{z}-{n}" in rows for z in (False, True) for n in range(20))


def test_bad_write_key_is_401_and_nothing_is_stored(collector: Collector) -> None:
    project, base_url = collector
    url = events_url_of(project)
    before, rejected_before = len(stored(url)), len(rejects(url))
    with pytest.raises(APIError) as refused:
        client(base_url, key="not-the-key", sync_mode=True).track("intruder", "Signed Up")
    assert refused.value.status == 401 and refused.value.code == "unauthorized"
    event = {"type": "track", "userId": "intruder", "event": "X"}
    no_auth = requests.post(f"{base_url}/v1/track", json=event, timeout=5)
    body_key = requests.post(
        f"{base_url}/v1/batch", json={"batch": [event], "writeKey": "no"}, timeout=5
    )
    garbage = requests.post(f"{base_url}/v1/batch", data=b"{oops", auth=("no", ""), timeout=5)
    assert [r.status_code for r in (no_auth, body_key, garbage)] == [401, 401, 401]
    assert (len(stored(url)), len(rejects(url))) == (before, rejected_before)


def test_write_key_in_the_body_is_accepted(collector: Collector) -> None:
    project, base_url = collector
    event = {"type": "track", "userId": "body-key", "event": "Y", "messageId": "body-key-1"}
    answer = requests.post(
        f"{base_url}/v1/batch", json={"batch": [event], "writeKey": WRITE_KEY}, timeout=5
    )
    assert answer.status_code == 200 and "body-key-1" in by_id(project)


def test_malformed_messages_in_a_batch_go_to_rejects_and_the_rest_is_stored(
    collector: Collector,
) -> None:
    project, base_url = collector
    batch: list[Any] = [
        {"type": "track", "userId": "mixed", "event": "Good One", "messageId": "mixed-1"},
        {"type": "track", "userId": "mixed", "messageId": "mixed-2"},  # no event name
        {"type": "page", "messageId": "mixed-3"},  # no userId / anonymousId
        {
            "type": "track",
            "userId": "mixed",
            "event": "Big",
            "messageId": "mixed-4",
            "properties": {"x": "y" * 40_000},
        },
        "not an object",
        {
            "type": "page",
            "anonymousId": "mixed-anon",
            "messageId": "mixed-5",
            "context": {"ip": "1.2.3.4"},
        },
    ]
    answer = requests.post(
        f"{base_url}/v1/batch",
        json={"batch": batch, "context": {"ip": "9.9.9.9", "locale": "hu-HU"}},
        auth=(WRITE_KEY, ""),
        timeout=5,
    )
    assert answer.status_code == 200
    assert answer.json() == {"success": True, "accepted": 2, "duplicates": 0, "rejected": 4}
    rows = by_id(project)
    assert {"mixed-1", "mixed-5"} <= set(rows) and not {"mixed-2", "mixed-3", "mixed-4"} & set(rows)
    context = json.loads(rows["mixed-5"]["payload"])["context"]
    assert context == {"ip": "1.2.3.4", "locale": "hu-HU"}  # batch context, message wins
    reasons = {r["message_id"]: r["reason"] for r in rejects(events_url_of(project))}
    assert "event" in reasons["mixed-2"]
    assert "userId or anonymousId" in reasons["mixed-3"]
    assert "32 KB" in reasons["mixed-4"]
    assert "JSON object" in reasons[None]
    raw = next(r["raw"] for r in rejects(events_url_of(project)) if r["message_id"] == "mixed-2")
    assert json.loads(raw)["userId"] == "mixed"  # the exact message is kept for a person


def test_duplicates_by_message_id_are_stored_once(collector: Collector) -> None:
    project, base_url = collector
    segment = client(base_url, sync_mode=True)
    for _ in range(2):
        segment.track("dup-user", "Signed Up", message_id="dup-1")
    event = {"type": "track", "userId": "dup-user", "event": "Z", "messageId": "dup-2"}
    answer = requests.post(
        f"{base_url}/v1/batch", json={"batch": [event, event]}, auth=(WRITE_KEY, ""), timeout=5
    )
    assert answer.json()["accepted"] == 1 and answer.json()["duplicates"] == 1
    rows = [r for r in stored(events_url_of(project)) if r["user_id"] == "dup-user"]
    assert sorted(r["message_id"] for r in rows) == ["dup-1", "dup-2"]


def test_single_calls_answer_400_for_bad_input_and_keep_it(collector: Collector) -> None:
    project, base_url = collector
    auth = (WRITE_KEY, "")
    invalid = requests.post(
        f"{base_url}/v1/track", json={"userId": "s", "messageId": "s-1"}, auth=auth, timeout=5
    )
    not_json = requests.post(f"{base_url}/v1/identify", data=b"{nope", auth=auth, timeout=5)
    huge = json.dumps({"userId": "s", "event": "E", "properties": {"x": "y" * 40_000}}).encode()
    too_big = requests.post(f"{base_url}/v1/track", data=huge, auth=auth, timeout=5)
    batch = gzip.compress(json.dumps({"batch": "nope"}).encode())
    no_list = requests.post(
        f"{base_url}/v1/batch",
        data=batch,
        auth=auth,
        headers={"Content-Encoding": "gzip"},
        timeout=5,
    )
    assert [r.status_code for r in (invalid, not_json, no_list)] == [400] * 3
    assert invalid.json()["code"] == "invalid_message" and "event" in invalid.json()["message"]
    assert (too_big.status_code, too_big.json()["code"]) == (413, "payload_too_large")
    kept = [r["reason"] for r in rejects(events_url_of(project))]
    assert "body is not valid JSON" in kept
    assert any("`batch` list" in reason for reason in kept)
    typed = requests.post(
        f"{base_url}/v1/page",
        json={"anonymousId": "s-anon", "messageId": "s-2", "type": "track"},
        auth=auth,
        timeout=5,
    )
    assert (
        typed.status_code == 200 and by_id(project)["s-2"]["type"] == "page"
    )  # the endpoint decides


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_an_oversized_batch_is_413_and_leaves_a_truncated_reject(
    collector: Collector, gzipped: bool
) -> None:
    """A 589 KB batch (over the 500 KB limit): Segment's 413 body, nothing stored but a
    reject row with the size, the endpoint and the first KB of the body, not all of it."""
    project, base_url = collector
    batch = [
        {"type": "track", "userId": f"big-{i}", "event": "E", "messageId": f"big-{i}"}
        | {"properties": {"pad": "x" * 5_000}}
        for i in range(115)
    ]
    body = json.dumps({"batch": batch}).encode()
    assert 580_000 < len(body) < 600_000
    data = gzip.compress(body) if gzipped else body
    headers = {"Content-Encoding": "gzip"} if gzipped else {}
    before = len(rejects(events_url_of(project)))
    answer = requests.post(
        f"{base_url}/v1/batch", data=data, auth=(WRITE_KEY, ""), headers=headers, timeout=10
    )
    assert answer.status_code == 413
    assert answer.json()["success"] is False and answer.json()["code"] == "payload_too_large"
    assert "500 KB" in answer.json()["message"]
    assert not [r for r in stored(events_url_of(project)) if r["message_id"].startswith("big-")]
    new = rejects(events_url_of(project))[before:]
    assert len(new) == 1 and new[0]["endpoint"] == "batch"
    assert new[0]["reason"].startswith("payload_too_large") and "500 KB" in new[0]["reason"]
    if not gzipped:
        assert f"{len(body):,} bytes" in new[0]["reason"]
        assert new[0]["raw"].startswith('{"batch": [{"type": "track"')
    assert len(new[0]["raw"]) < 2_000  # a head, not the whole body


def test_an_anonymous_oversized_body_is_413_and_stores_nothing(collector: Collector) -> None:
    project, base_url = collector
    before = len(rejects(events_url_of(project)))
    huge = json.dumps({"writeKey": WRITE_KEY, "batch": [], "pad": "x" * 600_000}).encode()
    answer = requests.post(f"{base_url}/v1/batch", data=huge, timeout=10)
    assert answer.status_code == 413 and answer.json()["code"] == "payload_too_large"
    assert len(rejects(events_url_of(project))) == before


@pytest.mark.parametrize(
    ("connector", "expected"),
    [
        ("nope", "no connector named 'nope' in hub.yaml (configured: web)"),
        ("web", "connectors.web.config.write_keys.0: environment variable WEB_WRITE_KEY"),
    ],
)
def test_collect_config_errors_name_the_problem(
    collector: Collector, connector: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, _ = collector
    monkeypatch.delenv(WRITE_KEY_ENV, raising=False)
    result = CliRunner().invoke(app, ["collect", "--connector", connector, "-c", str(project)])
    assert isinstance(result.exception, ConfigError)  # `crmhub` prints it as one line, exit 2
    assert expected in str(result.exception)
