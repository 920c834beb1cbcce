"""The generic audience destinations: an HTTP webhook and files (CSV or JSON Lines).

A destination receives a batch of audience changes (`AudienceChange`: a customer entered or
exited, with the audience's carried fields) and says which of them it refused; it raises
`DestinationDown` when it could not be reached at all, so the caller keeps its cursor and
the next sync sends the batch again. Every change carries an idempotency key (audience,
golden id, entered/exited, event id): a batch sent twice — a sync killed after the receiver
answered but before the hub recorded it — is recognised by the receiver.

Webhook: `POST` of `{"audience", "destination", "sent_at", "changes": [...]}` as JSON, signed
`X-Crmhub-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>`, with the batch's
`Idempotency-Key` header. 2xx is delivered (a body `{"rejected": [{"idempotency_key", "error"}]}`
refuses single changes); 429, 5xx, timeouts and refused connections are retried with
exponential backoff, then the destination is down; any other 4xx refuses the batch with the
receiver's message. The URL is never shown beyond scheme, host and port (it may hold a token).

SQL table: the members now, a row per audience and golden id (`SqlTableSender`).

Files: one file per batch in the destination's folder, `<audience>-<first>-<last>.<csv|jsonl>`
by event ids (a re-sent batch rewrites the same file), written to a temporary file and renamed,
so a reader never sees half a file. CSV cells a spreadsheet would run are neutralised.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from hub.core.errors import HubError
from hub.core.files import neutralise
from hub.core.retry import RetryPolicy
from schemas.audiences import FileDestination, SqlTableDestination, WebhookDestination
from schemas.config import resolve_env

__all__ = [
    "SIGNATURE_HEADER",
    "AudienceChange",
    "Destination",
    "DestinationDown",
    "FileSender",
    "SqlTableSender",
    "WebhookSender",
    "sign",
]

SIGNATURE_HEADER = "X-Crmhub-Signature"
CSV_COLUMNS = ("event_id", "idempotency_key", "audience", "event", "golden_id", "at")


@dataclass(frozen=True)
class AudienceChange:
    """One membership change to deliver: `event` is `entered` or `exited`."""

    event_id: int
    audience: str
    golden_id: str
    event: str
    at: dt.datetime
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The idempotency key: the same change always has the same key."""
        return f"{self.audience}:{self.golden_id}:{self.event}:{self.event_id}"

    def as_json(self) -> dict[str, Any]:
        return {
            "idempotency_key": self.key,
            "event_id": self.event_id,
            "audience": self.audience,
            "event": self.event,
            "golden_id": self.golden_id,
            "at": self.at.isoformat(),
            "fields": self.fields,
        }


class DestinationDown(HubError):
    """The destination could not be reached (after the retries): nothing of the batch was
    delivered; the caller stops and keeps its cursor."""


class Destination(Protocol):
    """Where an audience's changes go."""

    name: str

    def deliver(self, changes: Sequence[AudienceChange]) -> dict[int, str]:
        """Send the batch; the event ids it refused, with the destination's message."""
        ...

    def close(self) -> None: ...


def sign(secret: bytes, body: bytes) -> str:
    """The signature header's value for a body: `sha256=<hex HMAC-SHA256>`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class _Retriable(Exception):
    """A 429, a 5xx, a timeout or a refused connection: worth another attempt."""


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


class WebhookSender:
    """An HTTP endpoint, signed JSON batches (see the module's docstring)."""

    def __init__(
        self,
        audience: str,
        config: WebhookDestination,
        *,
        sleep: Any = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        where = f"audiences.{audience}.destinations.{config.name}"
        self.name = config.name
        self.audience = audience
        self.url: str = resolve_env(config.url, f"{where}.url")
        if not self.url.startswith(("http://", "https://")):
            raise HubError(f"{where}.url: {_where(self.url)!r} is not an http(s) URL")
        self.secret = str(resolve_env(config.secret, f"{where}.secret")).encode()
        self.retry = RetryPolicy(
            attempts=config.retries + 1,
            initial_delay=config.backoff_seconds,
            **({"sleep": sleep} if sleep is not None else {}),
        )
        self.client = httpx.Client(timeout=config.timeout_seconds, transport=transport)

    def _post(self, body: bytes, batch_key: str) -> httpx.Response:
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secret, body),
            "Idempotency-Key": batch_key,
            "User-Agent": "crm-hub audiences",
        }
        try:
            response = self.client.post(self.url, content=body, headers=headers)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise _Retriable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retriable(f"HTTP {response.status_code} {response.reason_phrase}")
        return response

    def deliver(self, changes: Sequence[AudienceChange]) -> dict[int, str]:
        if not changes:
            return {}
        body = json.dumps(
            {
                "audience": self.audience,
                "destination": self.name,
                "sent_at": dt.datetime.now(dt.UTC).isoformat(),
                "changes": [c.as_json() for c in changes],
            },
            separators=(",", ":"),
        ).encode()
        batch_key = f"{self.audience}/{self.name}/{changes[0].event_id}-{changes[-1].event_id}"
        try:
            response = self.retry.call(
                lambda: self._post(body, batch_key),
                retriable=lambda e: isinstance(e, _Retriable),
            )
        except _Retriable as exc:
            raise DestinationDown(
                f"{self.audience}/{self.name}: {_where(self.url)} unreachable after "
                f"{self.retry.attempts} attempt(s) (last: {exc}); nothing was marked sent — "
                "the next `crmhub audiences sync` sends these changes again"
            ) from None
        if response.is_success:
            return self._rejected(response, changes)
        message = f"HTTP {response.status_code}: {response.text.strip()[:500]}"
        return {c.event_id: message for c in changes}

    @staticmethod
    def _rejected(response: httpx.Response, changes: Sequence[AudienceChange]) -> dict[int, str]:
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            return {}
        rejected = answer.get("rejected") if isinstance(answer, dict) else None
        if not isinstance(rejected, list):
            return {}
        by_key = {c.key: c.event_id for c in changes}
        out: dict[int, str] = {}
        for item in rejected:
            if isinstance(item, dict) and item.get("idempotency_key") in by_key:
                out[by_key[item["idempotency_key"]]] = str(item.get("error") or "refused")[:1000]
        return out

    def close(self) -> None:
        self.client.close()


class FileSender:
    """A folder of change files, one per batch, CSV or JSON Lines, written atomically."""

    def __init__(
        self, audience: str, config: FileDestination, fields: Sequence[str], base_dir: Path
    ) -> None:
        self.name = config.name
        self.audience = audience
        self.format = config.format
        self.fields = list(fields)
        folder = Path(resolve_env(config.path, f"audiences.{audience}.destinations.{self.name}"))
        self.folder = folder if folder.is_absolute() else base_dir / folder

    def file_for(self, changes: Sequence[AudienceChange]) -> Path:
        first, last = changes[0].event_id, changes[-1].event_id
        return self.folder / f"{self.audience}-{first:010d}-{last:010d}.{self.format}"

    def _text(self, changes: Sequence[AudienceChange]) -> str:
        if self.format == "jsonl":
            return "".join(json.dumps(c.as_json(), ensure_ascii=False) + "\n" for c in changes)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*CSV_COLUMNS, *self.fields])
        for c in changes:
            values = [c.event_id, c.key, c.audience, c.event, c.golden_id, c.at.isoformat()]
            carried = [_cell(c.fields.get(f)) for f in self.fields]
            writer.writerow([neutralise(v) for v in (*values, *carried)])
        return out.getvalue()

    def deliver(self, changes: Sequence[AudienceChange]) -> dict[int, str]:
        if not changes:
            return {}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.file_for(changes)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".part")
            try:
                with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                    out.write(self._text(changes))
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise DestinationDown(
                f"{self.audience}/{self.name}: cannot write to {self.folder} ({exc.strerror}) "
                "— check the folder and its permissions; nothing was marked sent"
            ) from None
        return {}

    def close(self) -> None:
        return None


class SqlTableSender:
    """A table of members in an SQL database: `entered` upserts the member's row, `exited`
    deletes it — unless the row was written by a later event (a batch sent again after a
    kill changes nothing). The table is created when missing. A database that cannot be
    reached is down; the batch is applied in one transaction, or not at all."""

    def __init__(self, audience: str, config: SqlTableDestination) -> None:
        import sqlalchemy as sa

        where = f"audiences.{audience}.destinations.{config.name}.url"
        self.name = config.name
        self.audience = audience
        url = str(resolve_env(config.url, where))
        try:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise HubError(f"{where}: not a usable database URL ({type(exc).__name__})") from None
        self.where = f"{self.engine.url.get_backend_name()}://{self.engine.url.host or ''}"
        self.table = sa.Table(
            config.table,
            sa.MetaData(schema=config.db_schema),
            sa.Column("audience", sa.String(40), primary_key=True),
            sa.Column("golden_id", sa.String(40), primary_key=True),
            sa.Column("event_id", sa.Integer, nullable=False),
            sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("fields", sa.Text, nullable=False),
        )
        self.created = False

    def deliver(self, changes: Sequence[AudienceChange]) -> dict[int, str]:
        import sqlalchemy as sa

        if not changes:
            return {}
        t = self.table.c
        try:
            with self.engine.begin() as conn:
                if not self.created:
                    self.table.create(conn, checkfirst=True)
                    self.created = True
                for c in changes:
                    mine = sa.and_(t.audience == c.audience, t.golden_id == c.golden_id)
                    written = conn.execute(sa.select(t.event_id).where(mine)).scalar()
                    if written is not None and written >= c.event_id:
                        continue  # already applied (a batch sent again), or a later event
                    conn.execute(self.table.delete().where(mine))
                    if c.event == "entered":
                        conn.execute(
                            self.table.insert().values(
                                audience=c.audience,
                                golden_id=c.golden_id,
                                event_id=c.event_id,
                                entered_at=c.at,
                                fields=json.dumps(c.fields, ensure_ascii=False),
                            )
                        )
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            raise DestinationDown(
                f"{self.audience}/{self.name}: database {self.where} unreachable "
                f"({type(exc.orig).__name__}); nothing was marked sent"
            ) from None
        return {}

    def close(self) -> None:
        self.engine.dispose()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value
