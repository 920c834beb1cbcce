"""Retriable failures are re-run from the last checkpoint with backoff; fatal ones are not.

The flaky tap below is a real singer-sdk Tap; only the registry lookup is patched so the
hub finds it without installing an entry point.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import requests
import sqlalchemy as sa
import stripe
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

import hub.sync.runners
from connectors.errors import ConnectorFatalError, ConnectorRetriableError
from hub.core.errors import SyncError, is_retriable
from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import raw_records
from hub.sync.run import sync
from schemas.config import load_config


class Numbers(Stream):
    name = "numbers"
    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "id"
    is_sorted = True
    schema = th.PropertiesList(th.Property("id", th.IntegerType)).to_dict()
    STATE_MSG_FREQUENCY = 5  # checkpoint every 5 records
    failures: ClassVar[list[BaseException]] = []
    starts: ClassVar[list[int]] = []

    def get_records(self, context: Any) -> Iterable[dict[str, Any]]:
        start = self.get_starting_replication_key_value(context) or 0
        self.starts.append(start)
        for i in range(max(1, start), 31):
            if i == 20 and self.failures:
                raise self.failures.pop(0)
            yield {"id": i}


class FlakyTap(Tap):
    name = "tap-flaky"
    config_jsonschema = th.PropertiesList().to_dict()

    def discover_streams(self) -> list[Stream]:
        return [Numbers(self)]


@pytest.fixture
def flaky(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Store, list[float]]:
    """A hub with the flaky tap; the list collects the delays slept (`RetryPolicy(sleep=)`)."""
    monkeypatch.setattr(hub.sync.runners, "load_connector", lambda name: FlakyTap)
    delays: list[float] = []
    Numbers.starts = []
    (tmp_path / "hub.yaml").write_text(
        f'store: {{url: "sqlite:///{tmp_path}/hub.db"}}\n'
        "connectors:\n  - {name: flaky, type: flaky}\n"
    )
    config = load_config(tmp_path / "hub.yaml")
    return config, Store.open(config), delays


def test_retriable_errors_resume_from_the_checkpoint_with_backoff(
    flaky: tuple[Any, Store, list[float]],
) -> None:
    config, store, delays = flaky
    Numbers.failures = [RetriableAPIError("503 Service Unavailable"), TimeoutError("timed out")]
    [result] = sync(
        config, store, retry=RetryPolicy(attempts=3, initial_delay=1, factor=2, sleep=delays.append)
    )
    assert result.ok and result.attempts == 3
    assert delays == [1, 2]
    assert Numbers.starts == [0, 15, 19]  # each attempt resumed from the last checkpoint
    with store.engine.connect() as conn:
        ids = conn.execute(sa.select(raw_records.c.source_id)).scalars().all()
    assert sorted(map(int, ids)) == list(range(1, 31))  # nothing lost, nothing twice


def test_fatal_errors_fail_fast(flaky: tuple[Any, Store, list[float]]) -> None:
    config, store, delays = flaky
    Numbers.failures = [FatalAPIError("401 Unauthorized: check BILLING_API_KEY")]
    policy = RetryPolicy(attempts=3, initial_delay=1, sleep=delays.append)
    [result] = sync(config, store, retry=policy)
    assert not result.ok and result.attempts == 1 and delays == []
    assert result.error == "401 Unauthorized: check BILLING_API_KEY"


def test_retries_give_up_after_the_last_attempt(flaky: tuple[Any, Store, list[float]]) -> None:
    config, store, delays = flaky
    Numbers.failures = [RetriableAPIError("429 Too Many Requests") for _ in range(5)]
    policy = RetryPolicy(attempts=3, initial_delay=0.5, sleep=delays.append)
    [result] = sync(config, store, retry=policy)
    assert not result.ok and result.attempts == 3 and delays == [0.5, 1.0]
    assert "429" in (result.error or "")


def _response(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    return response


def _httpx_status_error(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("GET", "https://api.example/customers")
    response = httpx.Response(status, request=request)
    return httpx.HTTPStatusError(f"{status}", request=request, response=response)


CLASSIFIED = [
    # by type
    ("singer-sdk retriable (429/5xx)", RetriableAPIError("503"), True),
    ("singer-sdk fatal (4xx)", FatalAPIError("403 Forbidden"), False),
    ("connector timeout", ConnectorRetriableError("read timed out"), True),
    ("connector fatal", ConnectorFatalError("no such table"), False),
    ("socket timeout", TimeoutError("timed out"), True),
    ("connection refused", ConnectionRefusedError(111, "Connection refused"), False),
    ("connection reset", ConnectionResetError(104, "reset by peer"), True),
    ("retriable sync error", SyncError("x", "tap exited", retriable=True), True),
    ("fatal sync error", SyncError("x", "tap exited with code 1"), False),
    ("requests timeout", requests.ReadTimeout("read timed out"), True),
    ("requests connection refused", requests.ConnectionError("refused"), False),
    ("httpx timeout", httpx.ReadTimeout("timed out"), True),
    ("httpx connection refused", httpx.ConnectError("refused"), False),
    ("stripe unreachable", stripe.APIConnectionError("no route"), True),
    ("stripe rate limit", stripe.RateLimitError("slow down", http_status=429), True),
    ("stripe card refused (402)", stripe.CardError("declined", None, "card_declined", 402), False),
    ("stripe server error (500)", stripe.APIError("oops", http_status=500), True),
    ("stripe bad key (401)", stripe.AuthenticationError("bad key", http_status=401), False),
    ("SQLAlchemy pool timeout", sa.exc.TimeoutError("QueuePool limit reached"), True),
    # by the HTTP status the exception carries
    ("requests 429", requests.HTTPError("429", response=_response(429)), True),
    ("requests 503", requests.HTTPError("503", response=_response(503)), True),
    ("requests 404", requests.HTTPError("404", response=_response(404)), False),
    ("httpx 502", _httpx_status_error(502), True),
    ("httpx 400", _httpx_status_error(400), False),
    ("singer-sdk fatal even on a 503", FatalAPIError("503", _response(503)), False),
    # not by how the message reads
    ("bad credentials", PermissionError("password authentication failed"), False),
    ("programming error", KeyError("id"), False),
    ("'timeout' only in the text", RuntimeError("statement timeout is not a column"), False),
    ("'429' only in the text", ValueError("customer 429 not found"), False),
]


@pytest.mark.parametrize(("case", "exc", "retriable"), CLASSIFIED, ids=[c[0] for c in CLASSIFIED])
def test_error_classification(case: str, exc: BaseException, retriable: bool) -> None:
    assert is_retriable(exc) is retriable
