"""Errors of the hub and how a connector failure is classified (retriable or fatal)."""

from __future__ import annotations

import re

__all__ = ["HubError", "SyncError", "is_retriable", "one_line"]

_SECRETS = re.compile(r"(://[^/@:\s]+:)[^@/\s]+@")


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
    text = _SECRETS.sub(r"\1***@", text)
    return text if len(text) <= 300 else text[:297] + "..."


def is_retriable(exc: BaseException) -> bool:
    """Timeouts, rate limits (429) and server errors (5xx) are retried; everything else is fatal."""
    from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

    from connectors.errors import ConnectorFatalError, ConnectorRetriableError

    if isinstance(exc, SyncError):
        return exc.retriable
    if isinstance(exc, FatalAPIError | ConnectorFatalError | ConnectionRefusedError):
        return False
    if isinstance(exc, RetriableAPIError | ConnectorRetriableError):
        return True
    if isinstance(exc, TimeoutError | ConnectionResetError):  # socket.timeout is TimeoutError
        return True
    text = str(exc).lower()
    return any(hint in text for hint in ("timed out", "timeout", " 429", "too many requests"))
