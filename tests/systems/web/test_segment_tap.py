"""TapSegment: the singer-sdk suite over a seeded event store, incremental state, stitching."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from connectors import ConnectorFatalError
from connectors.segment import TapSegment
from connectors.segment_events import classify
from tests.systems.servers import free_port
from tests.systems.web.conftest import RunTap, msg, seed

# `_crmhub_error` only appears on quarantined rows; the seeded store has none.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:Fields in transformed catalog but not in records. \(\{'_crmhub_error'\}\)"
)

SAMPLE = (
    msg("page", "s-1", 0, anonymousId="a-1", name="Home", properties={"url": "https://x.test/"}),
    msg("track", "s-2", 1, anonymousId="a-1", event="Viewed Pricing"),
    msg("identify", "s-3", 2, userId="u-1", anonymousId="a-1",
        traits={"email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace",
                "address": {"city": "London", "postalCode": "N1", "country": "GB"}}),
    msg("track", "s-4", 3, userId="u-1", event="Signed Up"),
    msg("track", "s-5", 4, userId="u-1", event="Order Completed",
        properties={"revenue": "99.90", "currency": "gbp"}),
    msg("identify", "s-6", 5, userId="u-2", traits={"name": "Grace Hopper", "phone": "+1 555"}),
    msg("screen", "s-7", 6, userId="u-2", name="Settings"),
)  # fmt: skip

_SUITE_DIR = Path(tempfile.mkdtemp(prefix="crmhub-segment-suite-"))
atexit.register(shutil.rmtree, _SUITE_DIR, ignore_errors=True)
_SUITE_URL = f"sqlite:///{_SUITE_DIR / 'events.db'}"
seed(_SUITE_URL, *SAMPLE)

# The whole built-in suite runs; nothing is skipped (both streams return records).
TestTapSegment = get_tap_test_class(
    TapSegment, config={"events_url": _SUITE_URL, "write_keys": ["k"]}, suite_config=SuiteConfig()
)


@pytest.mark.parametrize(
    ("message_type", "event", "expected"),
    [
        ("page", None, ("web_visit", "web_event")),
        ("screen", "Settings", ("web_visit", "web_event")),
        ("track", "Signed Up", ("signup", "web_event")),
        ("track", "signed_up", ("signup", "web_event")),
        ("track", "Order Completed", ("purchase", "order")),
        ("track", "Purchase", ("purchase", "order")),
        ("track", "Viewed Pricing", ("web_event", "web_event")),
    ],
)
def test_event_kinds(message_type: str, event: str | None, expected: tuple[str, str]) -> None:
    assert classify(message_type, event) == expected


def test_users_and_events(run_tap: RunTap, events_url: str) -> None:
    seed(events_url, *SAMPLE)
    run = run_tap({"events_url": events_url})
    users = {u["user_id"]: u for u in run.records("users")}
    ada = users["u-1"]
    assert (ada["email"], ada["first_name"], ada["last_name"]) == (
        "ada@example.com",
        "Ada",
        "Lovelace",
    )
    assert (ada["city"], ada["postal_code"], ada["country"], ada["seq"]) == (
        "London",
        "N1",
        "GB",
        3,
    )
    assert (users["u-2"]["name"], users["u-2"]["phone"]) == ("Grace Hopper", "+1 555")
    events = {e["message_id"]: e for e in run.records("events")}
    assert set(events) == {"s-1", "s-2", "s-4", "s-5", "s-7"}  # identify calls are not interactions
    assert [events[m]["kind"] for m in ("s-1", "s-2", "s-4", "s-5", "s-7")] == [
        "web_visit", "web_event", "signup", "purchase", "web_visit",
    ]  # fmt: skip
    purchase = events["s-5"]
    assert (purchase["interaction_type"], purchase["revenue"], purchase["currency"]) == (
        "order",
        99.9,
        "GBP",
    )
    # anonymous views before the identify are stitched to the user it names
    assert [events[m]["customer_source_id"] for m in ("s-1", "s-2")] == ["u-1", "u-1"]
    assert events["s-1"]["stitched"] and not events["s-4"]["stitched"]
    assert events["s-1"]["url"] == "https://x.test/" and events["s-1"]["event"] == "Home"
    assert run.state["bookmarks"]["events"]["replication_key_value"] == 7
    assert run.state["bookmarks"]["users"]["replication_key_value"] == 6


def test_second_run_reads_only_new_events(run_tap: RunTap, events_url: str) -> None:
    seed(events_url, *SAMPLE)
    first = run_tap({"events_url": events_url})
    again = run_tap({"events_url": events_url}, first.state)
    assert again.records("events") == again.records("users") == []
    seed(
        events_url,
        msg("track", "n-1", 10, userId="u-2", event="Purchase", properties={"total": 5}),
        msg("identify", "n-2", 11, userId="u-1", traits={"phone": "+44 20"}),
    )
    third = run_tap({"events_url": events_url}, again.state)
    assert [e["message_id"] for e in third.records("events")] == ["n-1"]
    assert third.records("events")[0]["revenue"] == 5.0
    (ada,) = third.records("users")
    assert (ada["user_id"], ada["phone"], ada["email"]) == ("u-1", "+44 20", "ada@example.com")


def test_stitching_re_emits_earlier_anonymous_events_once(run_tap: RunTap, events_url: str) -> None:
    seed(
        events_url,
        msg("page", "p-1", 0, anonymousId="visitor"),
        msg("page", "p-2", 1, anonymousId="visitor", name="Pricing"),
        msg("page", "p-3", 2, anonymousId="someone-else"),
    )
    before = run_tap({"events_url": events_url})
    assert [e["customer_source_id"] for e in before.records("events")] == [None, None, None]
    seed(
        events_url,
        msg("track", "p-4", 3, anonymousId="visitor", event="Signed Up"),
        msg(
            "identify",
            "p-5",
            4,
            userId="newbie",
            anonymousId="visitor",
            traits={"email": "n@x.test"},
        ),
        msg("identify", "p-6", 5, userId="other", anonymousId="visitor"),  # first link wins
    )
    after = run_tap({"events_url": events_url}, before.state)
    emitted = [
        (e["message_id"], e["customer_source_id"], e["cursor"]) for e in after.records("events")
    ]
    assert emitted == [("p-1", "newbie", 5), ("p-2", "newbie", 5), ("p-4", "newbie", 5)]
    settled = run_tap({"events_url": events_url}, after.state)  # the newest group, unchanged
    assert settled.records("events") == after.records("events")
    seed(events_url, msg("page", "p-7", 6, userId="newbie"))
    moved_on = run_tap({"events_url": events_url}, settled.state)
    assert [e["message_id"] for e in moved_on.records("events")] == ["p-1", "p-2", "p-4", "p-7"]
    assert run_tap({"events_url": events_url}, moved_on.state).records("events") == []
    full = run_tap({"events_url": events_url})
    owners = {e["message_id"]: e["customer_source_id"] for e in full.records("events")}
    assert owners == {
        "p-1": "newbie",
        "p-2": "newbie",
        "p-3": None,
        "p-4": "newbie",
        "p-7": "newbie",
    }


def test_alias_links_a_previous_id(run_tap: RunTap, events_url: str) -> None:
    seed(
        events_url,
        msg("page", "al-1", 0, anonymousId="old-id"),
        msg("alias", "al-2", 1, userId="known", previousId="old-id"),
    )
    (page,) = run_tap({"events_url": events_url}).records("events")
    assert page["customer_source_id"] == "known"


def test_missing_event_store_is_a_clear_fatal_error(run_tap: RunTap, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nowhere' / 'events.db'}"
    with pytest.raises(ConnectorFatalError, match=r"no event store at .*start `crmhub collect`"):
        run_tap({"events_url": url})
    assert not (tmp_path / "nowhere").exists()  # reading never creates a store


def test_refused_connection_is_one_line_without_the_password(run_tap: RunTap) -> None:
    url = f"postgresql+psycopg://hub:s3cret-pw@127.0.0.1:{free_port()}/events"
    with pytest.raises(ConnectorFatalError) as refused:
        run_tap({"events_url": url})
    text = str(refused.value)
    assert "': read failed on postgresql+psycopg://hub:***@127.0.0.1:" in text
    assert "refused" in text.lower() and "s3cret-pw" not in text and "\n" not in text
