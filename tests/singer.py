"""Capturing an in-process tap run's Singer messages, for the connector and system tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from singer_sdk.singerlib.encoding import SimpleSingerWriter
from singer_sdk.singerlib.messages import Message

__all__ = ["CapturingWriter", "Run"]


class CapturingWriter(SimpleSingerWriter):
    """A Singer message writer that keeps each message as the dict a target would read."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def write_message(self, message: Message) -> None:
        # Serialise now: STATE messages hold a live reference to the tap's state.
        self.messages.append(json.loads(self.format_message(message)))


@dataclass
class Run:
    """The messages of one in-process tap run."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def state(self) -> dict[str, Any]:
        """The last STATE message's value."""
        return dict([m["value"] for m in self.messages if m["type"] == "STATE"][-1])
