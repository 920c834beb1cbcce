"""The Tryton connection: settings, an XML-RPC client over proteus, and error translation.

Tryton answers XML-RPC at ``http://HOST:PORT/DATABASE/rpc/``. The settings keep the URL
without credentials and the password as a secret; the client logs in once
(``common.db.login``, as proteus' ``set_xmlrpc_session`` does) and sends the session token
after that, so the password is never in a URL or a message.

:func:`classify` turns what the transport raises into ``(one-line message, retriable)``:
bad credentials (HTTP 401/403) and Tryton's own refusals (XML-RPC faults: validation, access,
missing records) are not retriable; refused connections, timeouts, 429 and 5xx are.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.client
import socket
import xmlrpc.client
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit

from proteus.config import XmlrpcConfig
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.errors import ConnectorFatalError, ConnectorRetriableError

__all__ = ["TrytonClient", "TrytonSettings", "classify", "iso_utc", "tryton_errors"]

Domain = list[Any]


class TrytonSettings(BaseModel):
    """The connector's ``config:`` in hub.yaml (shared by the tap and the writer)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    url: str = Field(description="Server address without credentials, e.g. http://erp:8000")
    database: str = Field(min_length=1)
    user: str = Field(min_length=1)
    password: SecretStr
    page_size: int = Field(default=500, ge=1, le=10_000)
    timeout: float = Field(default=30.0, gt=0, description="Seconds per request.")
    golden_id_type: str | None = Field(
        default=None,
        description="Party identifier type holding the golden id. Tryton 8 only accepts the "
        "types of its selection (stdnum codes) or none, so by default the identifier has no "
        "type and is recognised by golden_id_prefix.",
    )
    golden_id_prefix: str = Field(default="crmhub:", description="Prefix of the golden id code.")
    person_categories: tuple[str, ...] = ("Person", "Individual")
    organization_categories: tuple[str, ...] = ("Company", "Organization", "Organisation")

    @field_validator("url")
    @classmethod
    def _plain_http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be http(s)://host[:port], got {value!r}")
        if parts.username or parts.password:
            raise ValueError("url must not hold credentials; set user and password instead")
        return value.strip().rstrip("/")

    def rpc_url(self) -> str:
        """The database's XML-RPC endpoint (credentials travel in a login, not the URL)."""
        return f"{self.url}/{quote(self.database, safe='')}/rpc/"

    @property
    def where(self) -> str:
        """Server and database for messages, without the password."""
        return f"{self.url}/{self.database} as {self.user!r}"


def _fault_text(fault: xmlrpc.client.Fault) -> str:
    """Tryton's message of a fault: its 'message - description', on one line."""
    text = str(fault.faultString).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("Traceback"):
        lines = lines[-1:]  # an unexpected server error: its last line names it
    message = " ".join(lines).strip()
    return message.removesuffix(" -").removesuffix(" - ").strip() or f"fault {fault.faultCode}"


def classify(exc: BaseException, settings: TrytonSettings) -> tuple[str, bool] | None:
    """(one-line message, retriable) for a transport or Tryton error; None if it is neither."""
    where = settings.where
    if isinstance(exc, xmlrpc.client.Fault):
        return f"Tryton refused: {_fault_text(exc)}", False
    if isinstance(exc, xmlrpc.client.ProtocolError):  # its text holds the URL: never shown
        code = int(exc.errcode)
        if code in (401, 403):
            msg = f"{where}: HTTP {code}, wrong user or password — check user and password"
            return msg, False
        if code == 503:
            msg = f"{where}: HTTP 503 — the server is busy or database {settings.database!r} "
            return msg + "does not exist", True
        retriable = code == 429 or code >= 500
        return f"{where}: HTTP {code} {exc.errmsg}", retriable
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"{where}: no answer within {settings.timeout:g} s", True
    if isinstance(exc, ConnectionError | http.client.HTTPException | OSError):
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return f"{where}: cannot connect ({detail}) — is the server running?", True
    if isinstance(exc, xmlrpc.client.Error):
        return f"{where}: {type(exc).__name__}", False
    return None


@contextmanager
def tryton_errors(settings: TrytonSettings, action: str) -> Iterator[None]:
    """Raise connector errors (fatal or retriable) for what Tryton or the network raise."""
    try:
        yield
    except (ConnectorFatalError, ConnectorRetriableError):
        raise
    except Exception as exc:
        found = classify(exc, settings)
        if found is None:
            raise
        message, retriable = found
        error = ConnectorRetriableError if retriable else ConnectorFatalError
        raise error(f"tryton: {action} failed: {message}") from None


class _Transport(xmlrpc.client.Transport):
    def __init__(self, timeout: float, headers: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(use_builtin_types=True, headers=headers)
        self._timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        connection = super().make_connection(host)
        connection.timeout = self._timeout
        return connection


class _SafeTransport(xmlrpc.client.SafeTransport):
    def __init__(self, timeout: float, headers: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(use_builtin_types=True, headers=headers)
        self._timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPSConnection:
        connection = super().make_connection(host)
        connection.timeout = self._timeout
        return connection


def iso_utc(value: Any) -> str | None:
    """A Tryton timestamp (naive UTC, whole seconds over XML-RPC) as ISO 8601 with offset."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat()
    raise TypeError(f"expected a timestamp, got {value!r}")


class TrytonClient:
    """Model calls on one Tryton database through proteus' XML-RPC configuration."""

    def __init__(self, settings: TrytonSettings) -> None:
        self.settings = settings
        self._config: XmlrpcConfig | None = None

    def _transport(self, headers: Sequence[tuple[str, str]] = ()) -> xmlrpc.client.Transport:
        timeout = self.settings.timeout
        if self.settings.url.startswith("https"):
            return _SafeTransport(timeout, headers)
        return _Transport(timeout, headers)

    @property
    def config(self) -> XmlrpcConfig:
        """proteus' configuration, logged in once (as proteus' ``set_xmlrpc_session``).

        A session rather than HTTP basic auth on every call: Tryton checks the password
        hash (Argon2, about 0.4 s) on each basic-auth request, a session token at once.
        """
        if self._config is None:
            settings = self.settings
            url = settings.rpc_url()
            login = xmlrpc.client.ServerProxy(
                url, allow_none=True, use_builtin_types=True, transport=self._transport()
            )
            parameters = {"password": settings.password.get_secret_value()}
            answer: Any = login.common.db.login(settings.user, parameters)
            user_id, session = answer[0], answer[1]
            token = base64.b64encode(f"{settings.user}:{user_id}:{session}".encode()).decode()
            headers = [("Authorization", f"Session {token}")]
            self._config = XmlrpcConfig(url, transport=self._transport(headers))
        return self._config

    def close(self) -> None:
        """End the session (best effort: an expired one needs no logout)."""
        config, self._config = self._config, None
        if config is not None:
            with contextlib.suppress(Exception):
                config.server.common.db.logout()

    def call(
        self, model: str, method: str, *args: Any, context: Mapping[str, Any] | None = None
    ) -> Any:
        """``model.method(*args, context)`` on the server, in the user's context."""
        config = self.config
        function: Callable[..., Any] = getattr(config.get_proxy(model), method)
        return function(*args, {**config.context, **(context or {})})

    def search_read(
        self,
        model: str,
        domain: Domain,
        *,
        fields: Sequence[str],
        order: Sequence[tuple[str, str]] = (("id", "ASC"),),
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Records matching ``domain`` (archived ones included), as dicts."""
        rows: list[dict[str, Any]] = self.call(
            model,
            "search_read",
            domain,
            0,
            limit,
            [list(o) for o in order],
            list(fields),
            context={"active_test": False},
        )
        return rows

    def installed(self, models: Sequence[str]) -> set[str]:
        """Which of ``models`` exist on the server (their modules are activated)."""
        rows = self.search_read("ir.model", [("name", "in", list(models))], fields=["name"])
        return {str(row["name"]) for row in rows}
