"""The collector's settings, read from the `segment` connector's entry in hub.yaml."""

from __future__ import annotations

import hmac
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors.segment_store import DEFAULT_EVENTS_URL, resolve_events_url
from schemas.config import ConfigError, HubConfig, resolve_env

__all__ = ["CollectorSettings"]


class CollectorSettings(BaseModel):
    """Where events go and which write keys may send them (secrets resolved, never shown)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    connector: str = Field(min_length=1)
    events_url: SecretStr = Field(description="Event store URL (may hold a password).")
    write_keys: tuple[SecretStr, ...] = Field(min_length=1)

    @classmethod
    def from_hub(cls, config: HubConfig, connector: str = "web") -> CollectorSettings:
        """Settings of the `segment` connector named ``connector``; ConfigError if unusable."""
        entry = config.connector(connector)
        where = f"connectors.{connector}.config"
        if entry.type != "segment":
            msg = (
                f"connector {connector!r} is type {entry.type!r}; `crmhub collect` serves "
                "a `type: segment` connector"
            )
            raise ConfigError(msg)
        settings: dict[str, Any] = resolve_env(dict(entry.config), where)
        keys = settings.get("write_keys")
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not [k for k in keys if isinstance(k, str) and k]:
            msg = (
                f"{where}.write_keys: list at least one write key, e.g. "
                '`write_keys: ["${WEB_WRITE_KEY}"]`'
            )
            raise ConfigError(msg)
        url = str(settings.get("events_url") or DEFAULT_EVENTS_URL)
        return cls(
            connector=connector,
            events_url=SecretStr(resolve_events_url(url, config.base_dir)),
            write_keys=tuple(SecretStr(k) for k in keys if isinstance(k, str) and k),
        )

    def accepts(self, key: str | None) -> bool:
        """Whether ``key`` is one of the write keys (constant-time comparison)."""
        if not key:
            return False
        given = key.encode()
        return any(
            hmac.compare_digest(given, known.get_secret_value().encode())
            for known in self.write_keys
        )
