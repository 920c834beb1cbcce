"""JSON responses for the read routes, serialised once in Rust.

A route returning a dict makes FastAPI validate it against the return annotation in a
worker thread (a second thread hop per request) and then encode it; for the customer page
that was about half the request's CPU time under load. `json_response` hands FastAPI a
finished response instead, with the same JSON as before: pydantic's encoding (ISO 8601
datetimes with `Z` for UTC, decimals as strings, dataclasses as objects).
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from pydantic_core import to_json

__all__ = ["JSON_200", "json_response"]

# what the OpenAPI document says the routes answer (the annotation no longer tells FastAPI)
JSON_200: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}}
}


def json_response(data: Any, status_code: int = 200) -> Response:
    """`data` as an application/json response (NaN and infinities become null)."""
    return Response(
        to_json(data, inf_nan_mode="null"), status_code=status_code, media_type="application/json"
    )
