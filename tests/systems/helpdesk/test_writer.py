"""HelpdeskWriter against the live django-helpdesk: the golden id into `crm_id`."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import pytest
import requests

from connectors.helpdesk import HelpdeskWriter
from connectors.helpdesk.writer import retry_after
from connectors.writers import PushItem, WriteError, load_writer
from tests.systems.helpdesk.conftest import Seeded
from tests.systems.helpdesk.server import CUSTOM_FIELD_MAX_LENGTH
from tests.systems.servers import free_port


def item(contact: str, golden_id: str, **kw: Any) -> PushItem:
    fields: dict[str, Any] = {"golden_id_field": "crm_id", "stream": "contacts", **kw}
    return PushItem(source_id=contact, golden_id=golden_id, **fields)


def crm_ids(helpdesk: Seeded, *titles: str) -> list[str | None]:
    return [helpdesk.server.ticket(helpdesk.tickets[t])["custom_crm_id"] for t in titles]


def test_it_is_the_registered_writer_and_takes_no_contact_fields() -> None:
    assert load_writer("helpdesk") is HelpdeskWriter
    assert HelpdeskWriter.writable_fields == frozenset()
    assert HelpdeskWriter.can_create is False


def test_golden_id_goes_on_every_ticket_of_the_submitter(
    helpdesk: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = HelpdeskWriter(helpdesk.config(page_size=2))  # the ticket list has 3+ pages
    try:
        # Both of Anna's tickets, submitted with different letter case, are one contact.
        writer.update(item("anna.kovacs@example.com", "G-ANNA"))
        first, second = "Invoice shows the wrong address", "Second invoice, same problem"
        assert crm_ids(helpdesk, first, second) == ["G-ANNA", "G-ANNA"]

        sent: list[str] = []
        send = requests.Session.send

        def spy(self: requests.Session, request: requests.PreparedRequest, **kw: Any) -> Any:
            sent.append(f"{request.method} {request.url}")
            return send(self, request, **kw)

        monkeypatch.setattr(requests.Session, "send", spy)
        writer.update(item("anna.kovacs@example.com", "G-ANNA"))
        assert sent == []  # already there: nothing sent
        writer.update(item("Anna.Kovacs@Example.com", "G-ANNA-2"))
        assert [s.split()[0] for s in sent] == ["PATCH", "PATCH"]
    finally:
        writer.close()
    assert crm_ids(helpdesk, first, second) == ["G-ANNA-2", "G-ANNA-2"]


def test_a_refused_record_is_reported_and_the_others_go_through(helpdesk: Seeded) -> None:
    too_long = "G-" + "x" * CUSTOM_FIELD_MAX_LENGTH
    items = [
        item("carol@example.com", "G-CAROL"),
        item("bela@example.com", too_long),
        item("nobody@example.com", "G-NOBODY"),
        item("dora@example.com", "G-DORA"),
    ]
    failures: dict[str, WriteError] = {}
    writer = HelpdeskWriter(helpdesk.config())
    try:
        for one in items:  # as the hub's push run does: a failure never stops the run
            try:
                writer.update(one)
            except WriteError as error:
                failures[str(one.source_id)] = error
    finally:
        writer.close()

    assert sorted(failures) == ["bela@example.com", "nobody@example.com"]
    refused = failures["bela@example.com"]
    assert not refused.retriable
    assert "400 Bad Request" in str(refused)
    assert "custom_crm_id: Ensure this field has no more than 40 characters." in str(refused)
    assert "no ticket submitted by 'nobody@example.com'" in str(failures["nobody@example.com"])
    assert crm_ids(helpdesk, "Refund please", "Delivery late") == ["G-CAROL", "G-DORA"]
    assert crm_ids(helpdesk, "Cannot log in") != [too_long]


def test_a_custom_field_the_helpdesk_lacks_is_named(helpdesk: Seeded) -> None:
    writer = HelpdeskWriter(helpdesk.config())
    with pytest.raises(WriteError, match="no ticket custom field 'salesforce_id'"):
        writer.update(item("carol@example.com", "G-1", golden_id_field="salesforce_id"))
    with pytest.raises(WriteError, match="takes only the golden id, not phone"):
        writer.update(item("carol@example.com", "G-1", values={"phone": "+3612345678"}))
    writer.close()


def test_bad_credentials_are_not_retried(helpdesk: Seeded) -> None:
    writer = HelpdeskWriter(helpdesk.config(password="wrong"))
    with pytest.raises(WriteError) as caught:
        writer.update(item("carol@example.com", "G-1"))
    assert not caught.value.retriable
    assert "401 Unauthorized — Invalid username/password." in str(caught.value)


def test_a_refused_connection_is_retriable() -> None:
    config = {"base_url": f"http://127.0.0.1:{free_port()}", "token": "t"}
    writer = HelpdeskWriter(config)
    with pytest.raises(WriteError) as caught:
        writer.update(item("carol@example.com", "G-1"))
    assert caught.value.retriable
    assert "Connection refused" in str(caught.value)


def _response(header: str | None) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    if header is not None:
        response.headers["Retry-After"] = header
    return response


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after(_response("7")) == 7.0
    assert retry_after(_response(None)) is None
    assert retry_after(_response("soon")) is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (retry_after(_response(later)) or 0) <= 30
