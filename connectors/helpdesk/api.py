"""django-helpdesk's REST API: settings, authentication and what its answers mean.

Shared by the tap and the writer, so both authenticate the same way and word failures the
same way: the method and URL (never a secret), the status, the API's own message, and
what to check next.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from requests.auth import AuthBase, HTTPBasicAuth
from singer_sdk.exceptions import ConfigValidationError

__all__ = [
    "PRIORITY_LABELS",
    "STATUS_LABELS",
    "HelpdeskSettings",
    "TokenAuth",
    "api_message",
    "connection_problem",
    "contact_id",
    "http_problem",
    "load_settings",
]

STATUS_LABELS: Mapping[int, str] = {
    1: "Open",
    2: "Reopened",
    3: "Resolved",
    4: "Closed",
    5: "Duplicate",
}
"""django-helpdesk's default ticket statuses (HELPDESK_TICKET_STATUS_CHOICES)."""

PRIORITY_LABELS: Mapping[int, str] = {
    1: "Critical",
    2: "High",
    3: "Normal",
    4: "Low",
    5: "Very Low",
}

_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")]+")


class HelpdeskSettings(BaseModel):
    """Where the helpdesk is and how to sign in: user name and password, or a DRF token."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    base_url: str = Field(pattern=r"^https?://", description="Site root, e.g. https://help.example")
    api_path: str = Field(default="/helpdesk/api/", description="Where helpdesk.urls' API lives.")
    username: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None
    page_size: int = Field(default=100, ge=1, le=1000)
    timeout: float = Field(default=30.0, gt=0, description="Seconds per HTTP request.")

    @model_validator(mode="after")
    def _one_way_to_sign_in(self) -> HelpdeskSettings:
        basic = self.username is not None or self.password is not None
        if basic and (not self.username or self.password is None):
            raise ValueError("set both username and password (or a token instead)")
        if basic == (self.token is not None):
            raise ValueError("set either username and password, or token")
        return self

    @property
    def api_url(self) -> str:
        """The API root, ending in a slash."""
        return f"{self.base_url.rstrip('/')}/{self.api_path.strip('/')}/"

    def auth(self) -> AuthBase:
        """HTTP Basic authentication, or DRF's `Authorization: Token <key>`."""
        if self.token is not None:
            return TokenAuth(self.token.get_secret_value())
        assert self.username is not None and self.password is not None
        return HTTPBasicAuth(self.username, self.password.get_secret_value())


def load_settings(plugin: str, config: Mapping[str, Any]) -> HelpdeskSettings:
    """The settings validated once; problems as one singer-sdk config error."""
    try:
        return HelpdeskSettings.model_validate(dict(config))
    except ValidationError as exc:
        errors = [
            f"{'.'.join(str(p) for p in error['loc']) or 'config'}: {error['msg']}"
            for error in exc.errors()
        ]
        raise ConfigValidationError(f"{plugin}: {'; '.join(errors)}", errors=errors) from None


class TokenAuth(AuthBase):
    """Django REST framework's token authentication."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Token {self._token}"
        return request


def contact_id(email: Any) -> str | None:
    """The support system's customer id: the submitter e-mail, trimmed and lower-cased."""
    if not isinstance(email, str) or not email.strip():
        return None
    return email.strip().lower()


def api_message(response: requests.Response, limit: int = 300) -> str:
    """The API's own explanation: DRF's `detail`, or field errors as `field: message`."""
    try:
        body = response.json()
    except (json.JSONDecodeError, ValueError):
        text = " ".join(response.text.split())
        return text[:limit] or (response.reason or "")
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str):
            return str(body["detail"])[:limit]
        parts = []
        for name, problems in body.items():
            listed = problems if isinstance(problems, list) else [problems]
            parts.append(f"{name}: {' '.join(str(p) for p in listed)}")
        return "; ".join(parts)[:limit]
    return json.dumps(body)[:limit]


def http_problem(response: requests.Response) -> str:
    """One line for an HTTP error answer: where, the status, the API's message, what next."""
    request = response.request
    where = f"{request.method} {request.url}" if request is not None else response.url
    status = f"{response.status_code} {response.reason or ''}".strip()
    line = f"django-helpdesk {where}: {status} — {api_message(response)}"
    if response.status_code == 401:
        line += " — check username and password (or token)"
    elif response.status_code == 403:
        line += " — the API user must be a staff user (django-helpdesk's API is staff-only)"
    elif response.status_code == 404:
        line += " — check base_url and api_path (the API lives under helpdesk.urls' `api/`)"
    return line


def connection_problem(url: str, exc: requests.RequestException) -> str:
    """One line for a request that got no answer, e.g. a refused connection."""
    found = _ERRNO.search(str(exc))
    reason = found.group(0).strip() if found else type(exc).__name__
    if isinstance(exc, requests.Timeout):
        reason = f"no answer in time ({type(exc).__name__})"
    return f"django-helpdesk {url}: cannot connect: {reason} — is the helpdesk running there?"
