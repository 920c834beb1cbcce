"""TapHelpdesk against the live django-helpdesk: records, pages, auth and failures."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from singer_sdk.exceptions import ConfigValidationError

from connectors import ConnectorFatalError
from connectors.helpdesk import TapHelpdesk
from tests.systems.helpdesk.conftest import SEED_CONTACTS, Seeded
from tests.systems.servers import free_port

pytestmark = pytest.mark.filterwarnings(r"ignore:Fields in transformed catalog but not in records")


def test_tickets_followups_and_contacts(run_tap: Any, helpdesk: Seeded) -> None:
    run = run_tap(TapHelpdesk, helpdesk.config())
    tickets = {t["id"]: t for t in run.records("tickets")}
    bela = tickets[helpdesk.tickets["Cannot log in"]]
    assert bela["contact_id"] == "bela@example.com"
    assert (bela["status"], bela["status_code"], bela["priority"]) == ("Resolved", 3, 3)
    assert bela["followup_count"] == 3  # "Ticket Opened" and the two seeded follow-ups
    assert bela["created"] < bela["modified"]
    assert "crm_id" in bela["custom_fields"]  # the ticket custom field, by its name
    anna = [t for t in tickets.values() if t["contact_id"] == "anna.kovacs@example.com"]
    assert {t["submitter_email"] for t in anna} >= {
        "Anna.Kovacs@Example.com",
        "anna.kovacs@example.com",
    }

    followups = run.records("followups")
    opened = [f for f in followups if f["ticket"] == bela["id"]]
    assert [f["comment"] for f in opened][1:] == ["Reset link sent", "Works now"]
    assert opened[0]["date"] == bela["created"]
    assert {f["contact_id"] for f in opened} == {"bela@example.com"}
    assert opened[-1]["new_status"] == "Resolved"

    contacts = run.records("contacts")
    emails = [c["email"] for c in contacts]
    assert set(SEED_CONTACTS) <= set(emails)
    assert len(emails) == len(set(emails))  # one per submitter, whatever its letter case
    assert "_crmhub_error" in run.schema("tickets")["properties"]


def test_every_page_is_read(
    run_tap: Any, helpdesk: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = helpdesk.server.api("GET", "tickets/?page_size=1").json()["count"]
    sent: list[str] = []
    send = requests.Session.send

    def spy(self: requests.Session, request: requests.PreparedRequest, **kw: Any) -> Any:
        sent.append(str(request.url))
        return send(self, request, **kw)

    monkeypatch.setattr(requests.Session, "send", spy)
    run = run_tap(TapHelpdesk, helpdesk.config(page_size=2))
    assert total >= 5
    ids = [t["id"] for t in run.records("tickets")]
    assert len(ids) == len(set(ids)) == total
    ticket_pages = [u for u in sent if "/tickets/" in u]
    assert len(ticket_pages) == -(-total // 2)  # one read serves all three streams
    assert all("page_size=2" in u for u in ticket_pages)
    assert any("page=3" in u for u in ticket_pages)


def test_token_authentication(run_tap: Any, helpdesk: Seeded) -> None:
    config = {"base_url": helpdesk.server.base_url, "token": helpdesk.server.token}
    run = run_tap(TapHelpdesk, config)
    assert len(run.records("tickets")) >= 5


def test_full_read_every_run_state_has_no_bookmark(run_tap: Any, helpdesk: Seeded) -> None:
    first = run_tap(TapHelpdesk, helpdesk.config())
    again = run_tap(TapHelpdesk, helpdesk.config(), state=first.state)
    assert len(again.records("tickets")) == len(first.records("tickets"))
    for stream in ("tickets", "followups", "contacts"):
        assert "replication_key_value" not in first.state["bookmarks"].get(stream, {})


def test_refused_connection_is_one_fatal_line(run_tap: Any) -> None:
    config = {"base_url": f"http://127.0.0.1:{free_port()}", "username": "u", "password": "p"}
    with pytest.raises(ConnectorFatalError) as caught:
        run_tap(TapHelpdesk, config)
    message = str(caught.value)
    assert "\n" not in message
    assert "/helpdesk/api/tickets/" in message
    assert "Connection refused" in message
    assert "is the helpdesk running there?" in message


def test_bad_credentials_are_fatal_with_the_api_message(run_tap: Any, helpdesk: Seeded) -> None:
    with pytest.raises(ConnectorFatalError) as caught:
        run_tap(TapHelpdesk, helpdesk.config(password="wrong-password"))
    message = str(caught.value)
    assert "401 Unauthorized" in message
    assert "Invalid username/password." in message
    assert "check username and password" in message
    assert "wrong-password" not in message


def test_a_non_staff_user_is_told_the_api_is_staff_only(run_tap: Any, helpdesk: Seeded) -> None:
    user = {"username": "viewer", "password": "Viewer-pass-123!", "email": "v@example.com"}
    helpdesk.server.api("POST", "users/", json={**user, "first_name": "V", "last_name": "W"})
    config = helpdesk.config(username=user["username"], password=user["password"])
    with pytest.raises(ConnectorFatalError, match=r"403 Forbidden .* must be a staff user"):
        run_tap(TapHelpdesk, config)


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"base_url": "http://h"}, id="no-credentials"),
        pytest.param({"base_url": "http://h", "username": "u"}, id="no-password"),
        pytest.param(
            {"base_url": "http://h", "username": "u", "password": "p", "token": "t"}, id="both"
        ),
        pytest.param({"base_url": "h", "token": "t"}, id="not-a-url"),
    ],
)
def test_invalid_config_is_rejected(config: dict[str, Any]) -> None:
    with pytest.raises(ConfigValidationError):
        TapHelpdesk(config=config)


def test_secrets_are_marked() -> None:
    properties = TapHelpdesk.config_jsonschema["properties"]
    assert properties["password"]["secret"] is True
    assert properties["token"]["secret"] is True
