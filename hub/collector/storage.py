"""Appending to the event store: accepted messages once per messageId, rejects with reasons.

One request is one transaction: its accepted events and its rejects land together or not
at all (the client then retries the whole request, which deduplication makes safe).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from connectors.segment_store import EVENTS, REJECTS
from hub.collector.messages import Accepted, Rejected, iso

__all__ = ["EventWriter", "WriteResult"]

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one request added: new events, duplicates skipped, rejects stored."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0


class EventWriter:
    """Writes collector requests to one event store."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def write(
        self,
        accepted: list[Accepted],
        rejected: list[Rejected],
        *,
        endpoint: str,
        received_at: dt.datetime,
    ) -> WriteResult:
        """Store one request; a concurrent insert of the same messageId is retried once."""
        try:
            return self._write(accepted, rejected, endpoint, received_at)
        except sa_exc.IntegrityError:  # another request stored one of these ids meanwhile
            return self._write(accepted, rejected, endpoint, received_at)

    def _write(
        self,
        accepted: list[Accepted],
        rejected: list[Rejected],
        endpoint: str,
        received_at: dt.datetime,
    ) -> WriteResult:
        unique: dict[str, Accepted] = {}
        for event in accepted:
            unique.setdefault(event.message_id, event)
        with self.engine.begin() as conn:
            ids = list(unique)
            stored: set[str] = set()
            for offset in range(0, len(ids), _CHUNK):
                chunk = ids[offset : offset + _CHUNK]
                query = sa.select(EVENTS.c.message_id).where(EVENTS.c.message_id.in_(chunk))
                stored.update(conn.execute(query).scalars())
            new = [event.row for key, event in unique.items() if key not in stored]
            if new:
                conn.execute(EVENTS.insert(), new)  # in request order: seq follows arrival
            if rejected:
                conn.execute(
                    REJECTS.insert(),
                    [
                        {
                            "received_at": iso(received_at),
                            "endpoint": endpoint,
                            "message_id": item.message_id,
                            "reason": item.reason,
                            "raw": item.raw,
                        }
                        for item in rejected
                    ],
                )
        return WriteResult(len(new), len(accepted) - len(new), len(rejected))
