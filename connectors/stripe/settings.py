"""The Stripe connector's settings, its API client and the one place Stripe errors are read.

The tap and the writer share one `config:` block of hub.yaml; both validate it into a
frozen :class:`StripeSettings` and talk to Stripe through the official SDK's
`StripeClient` (no module-level `stripe.api_key`/`api_base`, so two connectors pointing
at different accounts or servers never share state).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import stripe
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from singer_sdk.exceptions import ConfigValidationError

__all__ = [
    "DEFAULT_API_BASE",
    "STREAM_NAMES",
    "StreamName",
    "StripeSettings",
    "describe",
    "is_retriable",
    "major_units",
    "make_client",
    "parse_settings",
    "retry_after",
]

DEFAULT_API_BASE = "https://api.stripe.com"
StreamName = Literal["customers", "invoices", "charges", "payment_intents"]
STREAM_NAMES: tuple[StreamName, ...] = ("customers", "invoices", "charges", "payment_intents")


class StripeSettings(BaseModel):
    """The `config:` of a `type: stripe` connector (tap and push-back writer alike)."""

    model_config = ConfigDict(frozen=True, extra="ignore")  # singer-sdk adds its own keys

    api_key: SecretStr = Field(min_length=1, description="Secret key (sk_...) or restricted key.")
    api_base: str = Field(DEFAULT_API_BASE, description="Stripe API address (tests: localstripe).")
    page_size: int = Field(100, ge=1, le=100, description="Objects per list request.")
    start_date: dt.datetime | None = Field(None, description="Read nothing created before.")
    streams: tuple[StreamName, ...] = Field(STREAM_NAMES, min_length=1)
    filter_on_server: bool = Field(
        True,
        description="Send the incremental bound as `created[gt]`. Set false for "
        "Stripe-compatible servers that reject it (localstripe): every page is then read "
        "and records older than the bookmark are skipped locally.",
    )
    timeout: float = Field(30.0, gt=0, description="Seconds per HTTP request.")
    updates_from_events: bool = Field(
        True,
        description="On incremental runs, read changed and deleted customers from Stripe's "
        "customer.updated / customer.deleted events (kept 30 days). Set false for a key "
        "without read access to events: only new customers are then read.",
    )

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            msg = f"must be an http(s) URL, got {value!r}"
            raise ValueError(msg)
        return value.rstrip("/")

    @field_validator("start_date")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        return value.replace(tzinfo=dt.UTC) if value and value.tzinfo is None else value

    @property
    def start_epoch(self) -> int | None:
        """`start_date` as Stripe's `created` (epoch seconds)."""
        return int(self.start_date.timestamp()) if self.start_date else None


def parse_settings(plugin: str, config: object) -> StripeSettings:
    """`config` validated; problems as one `ConfigValidationError` naming each key."""
    try:
        return StripeSettings.model_validate(config)
    except ValidationError as exc:
        errors = [
            f"{'.'.join(str(p) for p in error['loc']) or 'config'}: {error['msg']}"
            for error in exc.errors()
        ]
        raise ConfigValidationError(f"{plugin}: {'; '.join(errors)}", errors=errors) from None


def make_client(settings: StripeSettings) -> stripe.StripeClient:
    """An SDK client for `settings`. The SDK does not retry: the hub retries whole runs
    (tap) or items (writer) with its own backoff, so retries are not multiplied."""
    return stripe.StripeClient(
        settings.api_key.get_secret_value(),
        base_addresses={"api": settings.api_base},
        max_network_retries=0,
        http_client=stripe.new_default_http_client(timeout=settings.timeout),
    )


def is_retriable(exc: stripe.StripeError) -> bool:
    """Connection failures, timeouts, 429 and 5xx may pass later; everything else will not."""
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    status = exc.http_status or 0
    return status == 429 or status >= 500


def retry_after(exc: stripe.StripeError) -> float | None:
    """Seconds from the response's Retry-After header, if it has a usable one."""
    headers = exc.headers or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def describe(exc: stripe.StripeError, api_base: str) -> str:
    """One line: what Stripe said, where, and what to do next."""
    status = exc.http_status
    said = (exc.user_message or str(exc) or type(exc).__name__).strip().splitlines()[0]
    if isinstance(exc, stripe.AuthenticationError):
        return (
            f"stripe: {status or 401} from {api_base}: the API key was refused ({said}) — "
            "check the connector's api_key (e.g. ${STRIPE_API_KEY})"
        )
    if isinstance(exc, stripe.PermissionError):
        return (
            f"stripe: {status or 403} from {api_base}: the API key may not do this ({said}) — "
            "give the restricted key read access to customers, events, invoices, charges "
            "and payment intents (write access to customers for push-back), or set "
            "updates_from_events: false if the key may not read events"
        )
    if isinstance(exc, stripe.APIConnectionError):
        return f"stripe: cannot reach {api_base} ({_network_cause(exc)}) — is it up?"
    if isinstance(exc, stripe.RateLimitError):
        return f"stripe: 429 rate limited by {api_base} ({said}) — retry later"
    where = f"{status} from {api_base}" if status else f"error from {api_base}"
    return f"stripe: {where}: {said}"


def _network_cause(exc: stripe.StripeError) -> str:
    text = str(exc)
    if "Network error:" in text:
        text = text.split("Network error:", 1)[1]
    for known in ("Connection refused", "timed out", "Name or service not known"):
        if known.lower() in text.lower():
            return known
    return " ".join(text.split())[:160]


# Currencies whose smallest unit is the major unit, or a thousandth of it (Stripe's docs).
_ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
_THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])


def major_units(amount: object, currency: object) -> float | None:
    """Stripe's integer amount in the currency's smallest unit as a major-unit number.

    1250 EUR cents is 12.5; 500 JPY is 500; 1234 KWD fils is 1.234. None if unknown.
    """
    if not isinstance(amount, int) or isinstance(amount, bool):
        return None
    code = str(currency or "").lower()
    if not code:
        return None
    exponent = 0 if code in _ZERO_DECIMAL else 3 if code in _THREE_DECIMAL else 2
    return float(Decimal(amount).scaleb(-exponent))
