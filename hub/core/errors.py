"""Errors of the hub and how a connector failure is classified (retriable or fatal).

A failure is retriable by what it is, never by how its message reads: the error types
that say so (singer-sdk's `RetriableAPIError`, a timeout, a reset connection, a rate
limit), else the HTTP status it carries (429 and 5xx may pass later; any other 4xx will
not). Anything else is fatal: retrying a bad password or a programming error only hides it.
"""

from __future__ import annotations

import re
import sys

__all__ = ["HubError", "SyncError", "http_status", "is_retriable", "one_line"]

_SECRETS = re.compile(r"(://[^/@:\s]+:)[^@/\s]+@")

# Library exceptions by (module, class name); looked up only when the library is loaded,
# since an exception of a library nobody imported cannot have been raised.
_RETRIABLE_TYPES = (
    ("httpx", "TimeoutException"),
    ("requests", "Timeout"),
    ("stripe", "APIConnectionError"),
    ("stripe", "RateLimitError"),
    ("sqlalchemy.exc", "TimeoutError"),  # no connection free in the pool in time
)


class HubError(RuntimeError):
    """A problem the user can act on; the message says what, where and what to do next."""


class SyncError(HubError):
    """A whole connector run failed."""

    def __init__(self, connector: str, message: str, *, retriable: bool = False) -> None:
        super().__init__(f"{connector}: {message}")
        self.connector = connector
        self.retriable = retriable


def one_line(exc: BaseException) -> str:
    """The first line of an error's message, with any URL password masked."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    details = getattr(exc, "errors", None)  # singer-sdk's ConfigValidationError: which keys
    if isinstance(details, list) and details and all(isinstance(d, str) for d in details):
        text = f"{text}: {'; '.join(details)}"
    text = _SECRETS.sub(r"\1***@", text)
    return text if len(text) <= 300 else text[:297] + "..."


def http_status(exc: BaseException) -> int | None:
    """The HTTP status code an exception carries, on itself (`status_code`, stripe's
    `http_status`, `status`) or on its `response`; None when it carries none."""
    holders = (exc, getattr(exc, "response", None))
    for holder in holders:
        for name in ("status_code", "http_status", "status"):
            value = getattr(holder, name, None)
            if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
                return value
    return None


def _loaded_types(names: tuple[tuple[str, str], ...]) -> tuple[type[BaseException], ...]:
    found = []
    for module, name in names:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


def is_retriable(exc: BaseException) -> bool:
    """Timeouts, reset connections, rate limits (429) and server errors (5xx) are retried;
    everything else (4xx, refused connections, bad config, bugs) is fatal."""
    from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

    if isinstance(exc, SyncError):
        return exc.retriable
    if isinstance(exc, FatalAPIError | ConnectionRefusedError):  # incl. ConnectorFatalError
        return False
    if isinstance(exc, RetriableAPIError | TimeoutError | ConnectionResetError):
        return True  # incl. ConnectorRetriableError; socket.timeout is TimeoutError
    if isinstance(exc, _loaded_types(_RETRIABLE_TYPES)):
        return True
    status = http_status(exc)
    return status is not None and (status == 429 or status >= 500)
