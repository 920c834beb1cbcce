"""TapSegment: the web event store written by `crmhub collect`, as `users` and `events`.

`crmhub collect` receives the Segment/RudderStack HTTP tracking API (identify, track, page,
screen, alias, batch) and appends each message to the event store
(:mod:`connectors.segment_store`). This tap reads that store incrementally:

* ``users`` — one record per userId from its identify calls (traits merged oldest to
  newest); replication key ``seq``, the store position of the user's latest identify.
* ``events`` — track/page/screen events as interactions (see ``segment_events.classify``):
  page/screen → ``web_visit``, "Signed Up" → ``signup``, "Order Completed"/"Purchase" →
  ``purchase`` (canonical type ``order``, with revenue and currency), others ``web_event``.

**Identity stitching.** An identify carrying an anonymousId (or an alias's previousId)
links that anonymous id to the userId; the first link of an anonymous id wins, so an
interaction never moves between customers. An anonymous event's ``customer_source_id``
is the linked userId. Each ``events`` record has a ``cursor`` (the replication key): its
own ``seq``, except an anonymous event from before its link, whose cursor is the link's
``seq`` — the group of a link shares one cursor. A run emits, in cursor order, (a)
events after the bookmark and (b) every group whose link is at or after it, so events
read before their anonymous id was linked are emitted again, now with their customer.
Event cursors are unique, so (a) is exclusive; (b) is inclusive — a checkpoint inside a
group loses nothing, and the newest group is read once more on the next run (identical
records, which the hub sees as unchanged). Records depend only on the store's
contents, never on where earlier runs stopped.

Sample hub.yaml::

    connectors:
      - name: web
        type: segment
        config:
          events_url: sqlite:///.crmhub/events.db     # relative to hub.yaml's folder
          write_keys: ["${WEB_WRITE_KEY}"]            # what `crmhub collect` accepts
        streams:
          users:
            entity: customer
            mapping:
              given_name: first_name
              family_name: last_name
              full_name: {coalesce: [name, {concat: [first_name, last_name]}]}
              kind: {const: person}
          events:
            entity: interaction
            mapping:
              customer_source_id: customer_source_id
              type: interaction_type
              occurred_at: timestamp
              amount: revenue
              subject: event
              channel: {const: web}
              kind: kind                 # web_visit | signup | purchase | web_event (extra)
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context, Record

from connectors.errors import ERROR_PROPERTY, ConnectorFatalError, error_property_schema
from connectors.errors import error_value as _error_value
from connectors.segment_events import interaction_record, merge_traits, user_record
from connectors.segment_store import (
    DEFAULT_EVENTS_URL,
    EVENTS,
    INTERACTION_TYPES,
    LINK_TYPES,
    events_engine,
)
from connectors.sql import database_errors, safe_url

__all__ = ["EventsStream", "TapSegment", "UsersStream"]

_CHUNK = 500
_Row = Mapping[Any, Any]  # a stored event row (SQLAlchemy RowMapping)
_TEXT = th.StringType
_OBJECT = th.ObjectType(additional_properties=True)


def _message(payload: str) -> dict[str, Any] | None:
    try:
        value = json.loads(payload)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class _StoreStream(Stream):
    """A stream over the event store; records are JSON-ready already."""

    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: TapSegment) -> None:
        super().__init__(tap=tap)
        self._segment = tap

    def _bookmark(self, context: Context | None) -> int:
        start = self.get_starting_replication_key_value(context)
        return int(start) if start is not None else 0

    def _quarantined(self, key: str, value: str, row: _Row) -> Record:
        self.logger.warning("quarantined event seq %s: payload is not a JSON object", row["seq"])
        return {
            key: value,
            self.replication_key or "seq": row["seq"],
            ERROR_PROPERTY: _error_value(
                "stored payload is not a JSON object", str(row["payload"]), f"seq {row['seq']}"
            ),
        }


class UsersStream(_StoreStream):
    """One customer per userId from identify traits, in order of their latest identify."""

    name = "users"
    primary_keys = ("user_id",)
    replication_key = "seq"
    is_sorted = True
    schema = th.PropertiesList(
        th.Property("user_id", _TEXT, required=True),
        th.Property("seq", th.IntegerType, required=True),
        th.Property("updated_at", th.DateTimeType),
        *(th.Property(name, _TEXT) for name in ("email", "name", "first_name", "last_name")),
        *(th.Property(name, _TEXT) for name in ("phone", "street", "city", "postal_code")),
        *(th.Property(name, _TEXT) for name in ("state", "country", "created_at")),
        th.Property("traits", _OBJECT),
        th.Property(ERROR_PROPERTY, th.CustomType(error_property_schema())),
    ).to_dict()

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Users whose latest identify is after the bookmark, traits merged over all calls."""
        start = self._bookmark(context)
        with self._segment.reading(self.name) as conn:
            high = self._segment.high_water(conn)
            identifies = sa.and_(
                EVENTS.c.type == "identify", EVENTS.c.user_id.is_not(None), EVENTS.c.seq <= high
            )
            last = sa.func.max(EVENTS.c.seq).label("last")
            latest = sa.select(EVENTS.c.user_id, last).where(identifies).group_by(EVENTS.c.user_id)
            found = latest.subquery()
            users = conn.execute(
                sa.select(found.c.user_id).where(found.c.last > start).order_by(found.c.last)
            ).scalars()
            ordered = list(users)
            for offset in range(0, len(ordered), _CHUNK):
                chunk = ordered[offset : offset + _CHUNK]
                rows = conn.execute(
                    sa.select(EVENTS)
                    .where(identifies, EVENTS.c.user_id.in_(chunk))
                    .order_by(EVENTS.c.seq)
                ).mappings()
                calls: dict[str, list[_Row]] = {user: [] for user in chunk}
                for row in rows:
                    calls[row["user_id"]].append(row)
                for user in chunk:
                    yield self._user(user, calls[user])

    def _user(self, user: str, calls: list[_Row]) -> Record:
        messages = [_message(row["payload"]) for row in calls]
        newest = calls[-1]
        if any(message is None for message in messages):
            bad = next(row for row, m in zip(calls, messages, strict=True) if m is None)
            return self._quarantined("user_id", user, {**bad, "seq": newest["seq"]})
        traits = merge_traits(
            t for m in messages if m and isinstance(t := m.get("traits"), Mapping)
        )
        return user_record(user, int(newest["seq"]), str(newest["timestamp"]), traits)


class EventsStream(_StoreStream):
    """Track/page/screen events as interactions, stitched to users (see the module doc)."""

    name = "events"
    primary_keys = ("message_id",)
    replication_key = "cursor"
    is_sorted = True  # cursor order; checkpoints are resumable (see the module doc)
    schema = th.PropertiesList(
        th.Property("message_id", _TEXT, required=True),
        th.Property("seq", th.IntegerType, required=True),
        th.Property("cursor", th.IntegerType, required=True),
        *(th.Property(name, _TEXT) for name in ("event_type", "event", "kind")),
        th.Property("interaction_type", _TEXT),
        *(th.Property(name, _TEXT) for name in ("user_id", "anonymous_id", "customer_source_id")),
        th.Property("stitched", th.BooleanType),
        th.Property("timestamp", th.DateTimeType),
        th.Property("revenue", th.NumberType),
        *(th.Property(name, _TEXT) for name in ("currency", "url", "path", "title", "referrer")),
        th.Property("properties", _OBJECT),
        th.Property(ERROR_PROPERTY, th.CustomType(error_property_schema())),
    ).to_dict()

    def get_records(self, context: Context | None) -> Iterable[Record]:
        """New events after the bookmark, merged with earlier events stitched since then."""
        start = self._bookmark(context)
        with self._segment.reading(self.name) as conn:
            high = self._segment.high_water(conn)
            links = self._links(conn, high)
            fresh = [anon for anon, (_, seq) in links.items() if seq >= start]
            groups = sorted(self._groups(conn, fresh, links), key=lambda p: p[:2])
            new = conn.execute(
                sa.select(EVENTS)
                .where(EVENTS.c.type.in_(INTERACTION_TYPES), EVENTS.c.seq > start)
                .where(EVENTS.c.seq <= high)
                .order_by(EVENTS.c.seq)
                .execution_options(yield_per=_CHUNK)
            ).mappings()
            news: Iterator[tuple[int, int, _Row]] = (
                (row["seq"], row["seq"], row) for row in new if not self._grouped(row, links)
            )
            ordered = heapq.merge(news, groups, key=lambda p: p[:2])
            for cursor, _, row in ordered:
                anon = row["anonymous_id"]
                customer = row["user_id"] or (links[anon][0] if anon in links else None)
                yield self._event(row, customer, cursor)

    @staticmethod
    def _links(conn: sa.Connection, high: int) -> dict[str, tuple[str, int]]:
        """anonymous id (or alias previousId) -> (userId, seq of its first link)."""
        rows = conn.execute(
            sa.select(EVENTS.c.seq, EVENTS.c.type, EVENTS.c.user_id)
            .add_columns(EVENTS.c.anonymous_id, EVENTS.c.previous_id)
            .where(EVENTS.c.type.in_(LINK_TYPES), EVENTS.c.user_id.is_not(None))
            .where(EVENTS.c.seq <= high)
            .order_by(EVENTS.c.seq)
        )
        links: dict[str, tuple[str, int]] = {}
        for seq, kind, user, anonymous, previous in rows:
            linked = anonymous if kind == "identify" else previous
            if linked and linked != user:
                links.setdefault(linked, (user, seq))
        return links

    @staticmethod
    def _grouped(row: _Row, links: Mapping[str, tuple[str, int]]) -> bool:
        """An anonymous event from before its link: it belongs to the link's group."""
        link = links.get(row["anonymous_id"]) if row["user_id"] is None else None
        return link is not None and row["seq"] < link[1]

    @classmethod
    def _groups(
        cls, conn: sa.Connection, fresh: list[str], links: Mapping[str, tuple[str, int]]
    ) -> Iterator[tuple[int, int, _Row]]:
        """(cursor, seq, row) of the anonymous events before each of the ``fresh`` links."""
        for offset in range(0, len(fresh), _CHUNK):
            rows = conn.execute(
                sa.select(EVENTS)
                .where(EVENTS.c.type.in_(INTERACTION_TYPES), EVENTS.c.user_id.is_(None))
                .where(EVENTS.c.anonymous_id.in_(fresh[offset : offset + _CHUNK]))
            ).mappings()
            for row in rows:
                if cls._grouped(row, links):
                    yield links[row["anonymous_id"]][1], int(row["seq"]), row

    def _event(self, row: _Row, customer: str | None, cursor: int) -> Record:
        message = _message(row["payload"])
        if message is None:
            return self._quarantined("message_id", row["message_id"], {**row, "seq": cursor})
        return interaction_record(row, message, customer=customer, cursor=cursor)


class TapSegment(Tap):
    """Web events collected by `crmhub collect` (Segment/RudderStack HTTP API)."""

    name = "tap-crmhub-segment"
    package_name = "crm-hub"
    config_jsonschema = th.PropertiesList(
        th.Property(
            "events_url",
            th.StringType,
            default=DEFAULT_EVENTS_URL,
            secret=True,
            description="SQLAlchemy URL of the event store `crmhub collect` writes.",
        ),
        th.Property(
            "write_keys",
            th.ArrayType(th.StringType),
            secret=True,
            description="Write keys the collector accepts (HTTP Basic user name); ${ENV} refs.",
        ),
    ).to_dict()

    @property
    def events_url(self) -> str:
        return str(self.config.get("events_url") or DEFAULT_EVENTS_URL)

    @cached_property
    def engine(self) -> sa.Engine:
        """One engine on the event store, shared by both streams."""
        try:
            return events_engine(self.events_url)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
            msg = f"{self.name}: cannot use events_url {safe_url(self.events_url)}: {exc}"
            raise ConnectorFatalError(msg) from None

    @contextmanager
    def reading(self, stream: str) -> Iterator[sa.Connection]:
        """A connection for one stream's read; errors become one-line connector errors."""
        parsed = sa.make_url(self.events_url)
        path = parsed.database or ""
        if parsed.get_backend_name() == "sqlite" and path and not Path(path).exists():
            msg = (
                f"stream {stream!r}: no event store at {safe_url(self.events_url)} — start "
                "`crmhub collect` to create it, or fix events_url"
            )
            raise ConnectorFatalError(msg)
        try:
            with database_errors(stream, self.events_url, "read"), self.engine.connect() as conn:
                yield conn
        finally:
            self.engine.dispose()

    @staticmethod
    def high_water(conn: sa.Connection) -> int:
        """The newest store position now: a run reads up to here and no further."""
        return int(
            conn.execute(sa.select(sa.func.coalesce(sa.func.max(EVENTS.c.seq), 0))).scalar_one()
        )

    def discover_streams(self) -> list[Stream]:
        """The two fixed streams."""
        return [UsersStream(self), EventsStream(self)]
