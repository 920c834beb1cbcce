"""Segment/RudderStack tracking messages: validation and the row each one becomes.

A message is validated with :class:`Message` (pydantic v2; unknown fields are kept as sent).
:func:`accept` turns one raw message into an :class:`Accepted` event-store row or a
:class:`Rejected` entry with the reason — never an exception, so one bad message in a
batch does not cost the others.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic import model_validator as _model_validator

from hub.core.clock import as_utc

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_MESSAGE_BYTES",
    "Accepted",
    "Message",
    "Rejected",
    "accept",
    "iso",
]

MAX_MESSAGE_BYTES = 32 * 1024
"""Segment's limit per message (per call, and per message inside a batch)."""
MAX_BATCH_BYTES = 500 * 1024
"""Segment's limit per batch request."""

MessageType = Literal["identify", "track", "page", "screen", "alias", "group"]


def iso(moment: dt.datetime) -> str:
    """A moment as UTC ISO 8601 text with milliseconds (naive values are taken as UTC)."""
    return as_utc(moment).isoformat(timespec="milliseconds")


class Message(BaseModel):
    """One tracking call as the Segment HTTP API specifies it (the common fields)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, str_strip_whitespace=True)

    type: MessageType
    message_id: str | None = Field(default=None, alias="messageId", max_length=255)
    user_id: str | None = Field(default=None, alias="userId", max_length=255)
    anonymous_id: str | None = Field(default=None, alias="anonymousId", max_length=255)
    previous_id: str | None = Field(default=None, alias="previousId", max_length=255)
    group_id: str | None = Field(default=None, alias="groupId", max_length=255)
    event: str | None = None
    name: str | None = None
    timestamp: dt.datetime | None = None
    original_timestamp: dt.datetime | None = Field(default=None, alias="originalTimestamp")
    sent_at: dt.datetime | None = Field(default=None, alias="sentAt")
    context: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None

    @field_validator(
        "message_id", "user_id", "anonymous_id", "previous_id", "group_id", mode="before"
    )
    @classmethod
    def _id_text(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("ids must be text or numbers, not booleans")
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @_model_validator(mode="after")
    def _required(self) -> Message:
        if self.type == "alias":
            if not (self.user_id and self.previous_id):
                raise ValueError("alias needs both userId and previousId")
        elif not (self.user_id or self.anonymous_id):
            raise ValueError("userId or anonymousId is required")
        if self.type == "track" and not (self.event and self.event.strip()):
            raise ValueError("track needs an `event` name")
        if self.type == "group" and not self.group_id:
            raise ValueError("group needs a groupId")
        return self

    @property
    def event_name(self) -> str | None:
        """track: the event; page/screen: the page name (or properties.name)."""
        if self.type == "track":
            return self.event
        if self.type in ("page", "screen"):
            fallback = (self.properties or {}).get("name")
            return self.name or (str(fallback) if fallback else None)
        return None


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid message as an event-store row (``segment_events`` columns, no ``seq``)."""

    row: dict[str, Any]

    @property
    def message_id(self) -> str:
        return str(self.row["message_id"])


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that could not be accepted: why, and exactly what was sent."""

    reason: str
    raw: str
    message_id: str | None = None


def _text(raw: Any) -> str:
    try:
        return json.dumps(raw, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(raw)


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg']}".replace(
            "Value error, ", ""
        )
        for e in exc.errors()
    )


def accept(
    raw: Any, received_at: dt.datetime, *, implied_type: str | None = None
) -> Accepted | Rejected:
    """Validate one raw message; ``implied_type`` is the endpoint's (``/v1/track``...)."""
    text = _text(raw)
    if not isinstance(raw, dict):
        return Rejected("a message must be a JSON object", text)
    raw_id = raw.get("messageId")
    message_id = str(raw_id) if isinstance(raw_id, str | int) and str(raw_id).strip() else None
    if len(text.encode()) > MAX_MESSAGE_BYTES:
        return Rejected(f"message exceeds {MAX_MESSAGE_BYTES // 1024} KB", text, message_id)
    data = {**raw, "type": implied_type} if implied_type else raw
    try:
        message = Message.model_validate(data)
    except ValidationError as exc:
        return Rejected(_problems(exc), text, message_id)
    message_id = message.message_id or f"crmhub-{uuid.uuid4()}"
    happened = message.timestamp or message.original_timestamp or received_at
    payload = {
        **data,
        "messageId": message_id,
        "timestamp": iso(happened),
        "receivedAt": iso(received_at),
    }
    return Accepted(
        {
            "message_id": message_id,
            "type": message.type,
            "user_id": message.user_id,
            "anonymous_id": message.anonymous_id,
            "previous_id": message.previous_id,
            "event": message.event_name,
            "timestamp": iso(happened),
            "received_at": iso(received_at),
            "payload": json.dumps(payload, ensure_ascii=False, default=str),
        }
    )
