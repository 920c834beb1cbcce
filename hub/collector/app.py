"""The collector's FastAPI app: the Segment/RudderStack HTTP tracking API.

``POST /v1/identify | track | page | screen | alias | group`` take one message,
``POST /v1/batch`` (and ``/v1/import``) ``{"batch": [...], "context": {...}}``. Authenticate
with HTTP Basic, the write key as user name and an empty password (a ``writeKey`` in the
body is accepted when there is no Authorization header, as Segment does); a wrong or
missing key is ``401`` and nothing is stored. Bodies may be gzip-encoded.

Answers follow Segment: ``200 {"success": true, ...}`` with counts; ``413
payload_too_large`` for a body over the limit (32 KB per message, 500 KB per batch, after
gunzip); ``400`` for a body that is not JSON or, on a single-message endpoint, an invalid
message. Invalid messages are stored in ``segment_rejects`` with the reason (in a batch the
others are accepted); an oversized body from a caller with a valid write key leaves a row
there too — the reason with the size and limit, and only the first `REJECT_HEAD_BYTES` of
the body (an anonymous oversized body leaves none, so it cannot fill the table).
Duplicates by messageId are stored once.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.collector.messages import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, Accepted, Rejected, accept
from hub.collector.settings import CollectorSettings
from hub.collector.storage import EventWriter, WriteResult
from hub.core.clock import now

__all__ = ["REJECT_HEAD_BYTES", "SINGLE_ENDPOINTS", "create_collector_app"]

SINGLE_ENDPOINTS = ("identify", "track", "page", "screen", "alias", "group")
REJECT_HEAD_BYTES = 1024  # of an oversized body, kept in segment_rejects


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _TooLarge(_Refused):
    """An oversized body: how large (`size`, or `None` if only 'over the limit' is known)."""

    def __init__(self, limit: int, size: int | None, head: bytes, note: str = "") -> None:
        shown = f"{size:,} bytes" if size is not None else "more"
        super().__init__(
            413,
            "payload_too_large",
            f"request body is {shown}{note}; the limit is {limit // 1024} KB "
            "(send fewer messages per batch)",
        )
        self.head = head[:REJECT_HEAD_BYTES]

    def reject(self) -> Rejected:
        head = self.head.decode(errors="replace")
        return Rejected(f"payload_too_large: {self.message}", f"{head}… [truncated]")


async def _head(request: Request) -> bytes:
    """The first REJECT_HEAD_BYTES of a body that will not be read in full."""
    head = b""
    async for chunk in request.stream():
        head += chunk
        if len(head) >= REJECT_HEAD_BYTES:
            break
    return head


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"success": False, "code": code, "message": message}, status_code=status)


def _basic_user(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0]


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    gzipped = request.headers.get("content-encoding", "").lower() == "gzip"
    if declared and declared.isdigit() and int(declared) > limit:  # not read in full
        head = b"" if gzipped else await _head(request)
        raise _TooLarge(limit, int(declared), head, " (gzip)" if gzipped else "")
    body = await request.body()
    if gzipped:
        inflater = zlib.decompressobj(wbits=31)
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error:
            raise _Refused(400, "bad_encoding", "body is not valid gzip") from None
        if len(body) > limit:
            raise _TooLarge(limit, None, body, " after gunzip")
    if len(body) > limit:
        raise _TooLarge(limit, len(body), body)
    return body


def _without_key(message: Any) -> Any:
    if isinstance(message, dict):
        return {k: v for k, v in message.items() if k != "writeKey"}
    return message


def _batch_messages(body: Any, received_at: dt.datetime) -> list[Accepted | Rejected]:
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        raise _Refused(400, "invalid_batch", "the body must be an object with a `batch` list")
    context = body.get("context")
    shared: dict[str, Any] = context if isinstance(context, dict) else {}
    results: list[Accepted | Rejected] = []
    for item in body["batch"]:
        message = _without_key(item)
        if isinstance(message, dict) and shared:
            own = message.get("context")
            message = {**message, "context": {**shared, **(own if isinstance(own, dict) else {})}}
        results.append(accept(message, received_at))
    return results


def create_collector_app(settings: CollectorSettings, writer: EventWriter) -> FastAPI:
    """The tracking API for one `segment` connector, writing through ``writer``."""
    app = FastAPI(
        title="crm-hub web event collector",
        version="1",
        description="Segment/RudderStack-compatible HTTP tracking API (write key: Basic auth).",
    )

    async def handle(request: Request, endpoint: str) -> JSONResponse:
        received_at = now()
        header = request.headers.get("authorization")
        if header is not None and not settings.accepts(_basic_user(header)):
            return _error(401, "unauthorized", "invalid write key (HTTP Basic user name)")
        limit = MAX_BATCH_BYTES if endpoint in ("batch", "import") else MAX_MESSAGE_BYTES
        try:
            raw = await _body(request, limit)
            try:
                body = json.loads(raw)
            except ValueError:
                if header is None:
                    return _error(401, "unauthorized", "no write key (use HTTP Basic auth)")
                text = raw.decode(errors="replace")
                await _store(endpoint, received_at, [Rejected("body is not valid JSON", text)])
                raise _Refused(400, "invalid_json", "body is not valid JSON") from None
            if header is None:
                key = body.get("writeKey") if isinstance(body, dict) else None
                if not settings.accepts(key if isinstance(key, str) else None):
                    return _error(401, "unauthorized", "missing or invalid write key")
            if endpoint in ("batch", "import"):
                try:
                    items = _batch_messages(body, received_at)
                except _Refused as refused:
                    text = raw.decode(errors="replace")
                    await _store(endpoint, received_at, [Rejected(refused.message, text)])
                    raise
            else:
                items = [accept(_without_key(body), received_at, implied_type=endpoint)]
        except _TooLarge as refused:
            if header is not None:  # a known sender: keep a trace of what was refused
                await _store(endpoint, received_at, [refused.reject()])
            return _error(refused.status, refused.code, refused.message)
        except _Refused as refused:
            return _error(refused.status, refused.code, refused.message)
        result = await _store(endpoint, received_at, items)
        if endpoint in SINGLE_ENDPOINTS and result.rejected:
            reason = next(i.reason for i in items if isinstance(i, Rejected))
            return _error(400, "invalid_message", reason)
        counts = {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": result.rejected,
        }
        return JSONResponse({"success": True, **counts})

    async def _store(
        endpoint: str, received_at: dt.datetime, items: list[Accepted | Rejected]
    ) -> WriteResult:
        good = [i for i in items if isinstance(i, Accepted)]
        bad = [i for i in items if isinstance(i, Rejected)]
        return await run_in_threadpool(
            writer.write, good, bad, endpoint=endpoint, received_at=received_at
        )

    def route_for(endpoint: str) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def route(request: Request) -> JSONResponse:
            return await handle(request, endpoint)

        return route

    for endpoint in (*SINGLE_ENDPOINTS, "batch", "import"):
        app.add_api_route(
            f"/v1/{endpoint}",
            route_for(endpoint),
            methods=["POST"],
            name=endpoint,
            summary=f"Segment `{endpoint}` call",
        )

    @app.get("/health")
    async def health() -> dict[str, object]:
        """Liveness: the collector is up, serving connector ``settings.connector``."""
        return {"ok": True, "connector": settings.connector}

    return app
