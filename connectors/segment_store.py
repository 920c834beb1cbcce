"""The web event store: the tables `crmhub collect` appends to and `TapSegment` reads.

Kept here, in ``connectors/``, so the collector (``hub/collector``) and the tap share one
definition. Every accepted Segment/RudderStack message becomes one ``segment_events`` row
with an auto-increment ``seq`` (the tap's incremental position), unique by ``message_id``
(duplicates are stored once). A message the collector cannot accept goes to
``segment_rejects`` with its raw text and the reason — nothing is dropped silently.

Timestamps are stored as ISO 8601 text in UTC, so SQLite and PostgreSQL compare them alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

__all__ = [
    "DEFAULT_EVENTS_URL",
    "EVENTS",
    "INTERACTION_TYPES",
    "LINK_TYPES",
    "MESSAGE_TYPES",
    "METADATA",
    "REJECTS",
    "events_engine",
    "resolve_events_url",
]

DEFAULT_EVENTS_URL = "sqlite:///.crmhub/events.db"
MESSAGE_TYPES = ("identify", "track", "page", "screen", "alias", "group")
INTERACTION_TYPES = ("track", "page", "screen")
"""Message types that become interactions (the `events` stream)."""
LINK_TYPES = ("identify", "alias")
"""Message types that tie an anonymous id (or alias previousId) to a userId."""

METADATA = sa.MetaData()

EVENTS = sa.Table(
    "segment_events",
    METADATA,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(255), nullable=False, unique=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("user_id", sa.String(255), index=True),
    sa.Column("anonymous_id", sa.String(255), index=True),
    sa.Column("previous_id", sa.String(255)),
    sa.Column("event", sa.Text, doc="track: the event name; page/screen: the page name"),
    sa.Column("timestamp", sa.String(40), nullable=False, doc="when it happened (UTC ISO)"),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("payload", sa.Text, nullable=False, doc="the message as received (JSON)"),
    sqlite_autoincrement=True,  # a seq is never reused, even after deletes
)

REJECTS = sa.Table(
    "segment_rejects",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("endpoint", sa.String(32), nullable=False),
    sa.Column("message_id", sa.String(255)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)


def resolve_events_url(url: str, base_dir: Path) -> str:
    """``url`` with a relative SQLite path made absolute against ``base_dir`` (hub.yaml's)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "")
        if not path.is_absolute():
            parsed = parsed.set(database=str((base_dir / path).resolve()))
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # the tap reads while the collector writes
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def events_engine(url: str, *, create: bool = False) -> sa.Engine:
    """An engine on the event store; ``create`` makes the folder and tables (collector)."""
    parsed = sa.make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and create and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed, pool_pre_ping=True)
    if sqlite:
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    if create:
        METADATA.create_all(engine)
    return engine
