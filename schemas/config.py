"""The hub configuration (`hub.yaml`): connectors, field mappings, identity and push-back.

Validated once, frozen afterwards. Secrets are written as `${ENV_VAR}` references and are
only substituted when a connector runs (`resolve_env`), so the loaded config never holds
a secret in clear and can be printed safely.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "AnalyticsConfig",
    "ConcatExpr",
    "ConfigError",
    "ConnectorConfig",
    "ConstExpr",
    "HubConfig",
    "IdentityConfig",
    "MappingExpr",
    "PushbackConfig",
    "PushbackTarget",
    "SplitExpr",
    "StoreConfig",
    "StreamConfig",
    "TraitCondition",
    "TraitConfig",
    "load_config",
    "resolve_env",
]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|api_?key|private_?key|credential|write_?keys?", re.I
)
_NAME = r"^[a-z][a-z0-9_\-]*$"


class ConfigError(ValueError):
    """hub.yaml is missing, unreadable or invalid; the message names file, key path and fix."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ConstExpr(_Frozen):
    """A constant value, e.g. `kind: {const: person}`."""

    const: Any


class ConcatExpr(_Frozen):
    """Concatenate fields (or nested expressions), skipping empty parts."""

    concat: list[MappingExpr] = Field(min_length=1)
    sep: str = " "


class SplitExpr(_Frozen):
    """Split a display name: `{split: name, part: first}` / `last` / `rest` / an index."""

    split: str
    part: Literal["first", "last", "rest", "all_but_last"] | int = "first"
    sep: str | None = None


class CoalesceExpr(_Frozen):
    """The first non-empty of several fields."""

    coalesce: list[MappingExpr] = Field(min_length=1)


MappingExpr = Annotated[
    str | ConstExpr | ConcatExpr | SplitExpr | CoalesceExpr,
    Field(description="A field path (`a.b`) or a {const|concat|split|coalesce} expression."),
]
ConcatExpr.model_rebuild()
CoalesceExpr.model_rebuild()


class StreamConfig(_Frozen):
    """How one stream of a connector lands in the canonical model."""

    entity: Literal["customer", "interaction", "raw"] = "raw"
    mapping: dict[str, MappingExpr] = Field(default_factory=dict)


class ConnectorConfig(_Frozen):
    """One source system."""

    name: str = Field(pattern=_NAME, description="Becomes the `source` of its records.")
    type: str = Field(description="A registered connector (sql, files, ...) or `singer`.")
    config: dict[str, Any] = Field(default_factory=dict, description="Settings for the tap.")
    executable: str | None = Field(default=None, description="`singer` only: the tap command.")
    pip_url: str | None = Field(default=None, description="`singer` only: installs the tap.")
    streams: dict[str, StreamConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _singer_needs_command(self) -> ConnectorConfig:
        if self.type == "singer" and not (self.executable or self.pip_url):
            raise ValueError("a `singer` connector needs `executable` (or `pip_url`)")
        if self.type != "singer" and (self.executable or self.pip_url):
            raise ValueError("`executable`/`pip_url` only apply to `type: singer` connectors")
        return self


class StoreConfig(_Frozen):
    """Where the hub keeps its data: any SQLAlchemy URL; SQLite under .crmhub/ by default."""

    url: str = "sqlite:///.crmhub/hub.db"


class IdentityConfig(_Frozen):
    """Identity-resolution settings (used by the identity engine)."""

    auto_merge_threshold: float = Field(default=0.95, ge=0, le=1)
    review_threshold: float = Field(default=0.70, ge=0, le=1)
    source_priority: list[str] = Field(default_factory=list)
    survivorship: dict[str, str] = Field(
        default_factory=dict, description="field -> rule (source_priority, most_recent, ...)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> IdentityConfig:
        if self.review_threshold > self.auto_merge_threshold:
            raise ValueError("review_threshold must not exceed auto_merge_threshold")
        return self


class TraitCondition(_Frozen):
    """Which interactions a trait counts: a column of the prepared interactions `in` /
    `not_in` a set of values, `true`, `notna`, or `gt` / `lt` a number."""

    field: str = Field(min_length=1)
    op: Literal["in", "not_in", "true", "notna", "gt", "lt"]
    values: list[str] = Field(default_factory=list)
    number: float = 0.0


class TraitConfig(_Frozen):
    """A profile trait declared in hub.yaml (as Segment computed traits or Dynamics
    measures): `aggregation` of `field` over the interactions of `kinds` meeting `where`,
    in the `window_days` before the analysis date (shifted back by `offset_days`)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    aggregation: str = Field(
        description="count, sum, mean, max, nunique, first, last, days_since_first, "
        "days_since_last, last_value, values or mix"
    )
    kinds: list[str] = Field(default_factory=list, description="interaction types; all if empty")
    field: str = "value"
    window_days: int | None = Field(default=None, ge=1)
    offset_days: int = Field(default=0, ge=0)
    where: TraitCondition | None = None
    description: str = ""


class AnalyticsConfig(_Frozen):
    """Customer intelligence (`crmhub analyse`): traits beyond the built-in ones, the churn
    horizon, and the value rules (margins and the unit costs of serving a customer)."""

    horizon_days: int = Field(default=90, ge=1, description="churn: no purchase in N days")
    base_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    default_margin_rate: float = Field(default=0.30, ge=-1, le=1)
    category_margin_rates: dict[str, float] = Field(default_factory=dict)
    unit_costs: dict[str, float] = Field(
        default_factory=dict,
        description="cost to serve per interaction type, e.g. {ticket: 8, visit: 40}; "
        "merged over the built-in costs",
    )
    traits: list[TraitConfig] = Field(
        default_factory=list, description="added to the built-in traits; a same name replaces"
    )


class PushbackTarget(_Frozen):
    """How golden data is written back to one connector's system."""

    mode: Literal["upsert", "update-only"] = "update-only"
    golden_id_field: str = "crmhub_golden_id"
    fields: dict[str, Literal["fill-only", "overwrite", "never"]] = Field(default_factory=dict)


class PushbackConfig(_Frozen):
    """Reverse sync settings, per connector name."""

    enabled: bool = False
    targets: dict[str, PushbackTarget] = Field(default_factory=dict)


class HubConfig(_Frozen):
    """The whole `hub.yaml`."""

    version: Literal[1] = 1
    store: StoreConfig = Field(default_factory=StoreConfig)
    connectors: list[ConnectorConfig] = Field(default_factory=list)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    pushback: PushbackConfig = Field(default_factory=PushbackConfig)
    analytics: AnalyticsConfig = Field(default_factory=AnalyticsConfig)
    base_dir: Path = Field(default=Path("."), exclude=True, description="hub.yaml's folder.")

    @field_validator("connectors")
    @classmethod
    def _unique(cls, value: list[ConnectorConfig]) -> list[ConnectorConfig]:
        names = [c.name for c in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"connector names must be unique; repeated: {', '.join(dupes)}")
        return value

    def connector(self, name: str) -> ConnectorConfig:
        """The connector called `name`, or a ConfigError listing the configured ones."""
        for conn in self.connectors:
            if conn.name == name:
                return conn
        known = ", ".join(c.name for c in self.connectors) or "none"
        raise ConfigError(f"no connector named {name!r} in hub.yaml (configured: {known})")


def _check_no_clear_secrets(node: Any, path: str, problems: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            secret = _SECRET_KEY.search(str(key))
            values = value if isinstance(value, list) else [value]
            if secret and all(isinstance(v, str) for v in values) and any(values):
                if not all(_ENV_REF.fullmatch(v.strip()) for v in values if v):
                    problems.append(
                        f"{where}: secrets must be written as ${{ENV_VAR}} references, "
                        "not in clear text"
                    )
            else:
                _check_no_clear_secrets(value, where, problems)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _check_no_clear_secrets(item, f"{path}.{i}", problems)
    elif isinstance(node, str) and "://" in node and re.search(r"://[^/@:]+:([^@/]+)@", node):
        password = re.search(r"://[^/@:]+:([^@/]+)@", node)
        if password and not _ENV_REF.fullmatch(password.group(1)):
            problems.append(f"{path}: the URL holds a password in clear; use ${{ENV_VAR}}")


def load_config(path: str | Path) -> HubConfig:
    """Read and validate `hub.yaml`; errors name the file, the key path and the problem."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{file}: not found — run `crmhub init` to write an example hub.yaml")
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: the top level must be a mapping of keys")
    problems: list[str] = []
    _check_no_clear_secrets(raw, "", problems)
    if problems:
        raise ConfigError("\n".join(f"{file}: {p}" for p in problems))
    try:
        return HubConfig.model_validate({**raw, "base_dir": file.resolve().parent})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"{file}: {loc}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None


def resolve_env(value: Any, where: str = "") -> Any:
    """Substitute `${ENV_VAR}` references from the environment, recursively.

    A missing variable is a ConfigError naming the key path and the variable.
    """
    if isinstance(value, dict):
        return {k: resolve_env(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_env(v, f"{where}.{i}") for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(
                    f"{where or 'hub.yaml'}: environment variable {name} is not set — "
                    f"export {name}=... (or set it as an Airflow Connection/Variable)"
                )
            return os.environ[name]

        return _ENV_REF.sub(sub, value)
    return value
