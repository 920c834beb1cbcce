"""The hub configuration (`hub.yaml`): connectors, field mappings, identity and push-back.

Validated once, frozen afterwards. Secrets are written as `${ENV_VAR}` references and are
only substituted when a connector runs (`resolve_env`), so the loaded config never holds
a secret in clear and can be printed safely.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from schemas.audiences import Audiences
from schemas.worklists import Worklists

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
    "SettingDefinition",
    "SparkConfig",
    "SplitExpr",
    "StoreConfig",
    "StreamConfig",
    "TraitCondition",
    "TraitConfig",
    "is_secret_key",
    "load_config",
    "resolve_connector_config",
    "resolve_env",
]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|api_?key|private_?key|credential|write_?keys?", re.I
)
_NAME = r"^[a-z][a-z0-9_\-]*$"


def is_secret_key(name: str) -> bool:
    """A config key that names a secret (password, token, api_key, ...)."""
    return bool(_SECRET_KEY.search(name))


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
    key_properties: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Replaces the key the tap declares for this stream (e.g. a file tap's "
        "`path|line` key) before the hub reads its records.",
    )


class SettingDefinition(BaseModel):
    """A Meltano setting definition (`settings:` of a meltano.yml plugin), accepted as is:
    `name` with `kind`, a default `value`, `label`, `description`, `env`, ... A setting not
    given in `config:` is read from the environment as Meltano does (see
    `resolve_connector_config`)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    name: str = Field(min_length=1)
    kind: str | None = None
    value: Any = None
    label: str | None = None
    description: str | None = None
    env: str | None = Field(default=None, description="An explicit environment variable.")
    sensitive: bool = False

    @property
    def secret(self) -> bool:
        return self.sensitive or self.kind in ("password", "oauth") or is_secret_key(self.name)


_SINGER_ONLY = (
    "executable",
    "pip_url",
    "variant",
    "namespace",
    "settings",
    "capabilities",
    "select",
    "metadata",
    "schema_",
    "load_schema",
    "select_filter",
    "inherit_from",
    "python",
)


class ConnectorConfig(_Frozen):
    """One source system. A meltano.yml extractor block can be pasted as is: with `pip_url`
    or `executable` and no `type`, it is a `singer` connector."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(pattern=_NAME, description="Becomes the `source` of its records.")
    type: str = Field(
        default="singer",
        description="A registered connector (sql, files, ...) or `singer` (the default: an "
        "external tap given by `executable` or `pip_url`).",
    )
    config: dict[str, Any] = Field(default_factory=dict, description="Settings for the tap.")
    executable: str | None = Field(
        default=None,
        description="`singer` only: the tap command; a relative path is relative to hub.yaml.",
    )
    pip_url: str | None = Field(default=None, description="`singer` only: installs the tap.")
    streams: dict[str, StreamConfig] = Field(default_factory=dict)
    # Meltano extractor keys (`singer` only)
    variant: str | None = Field(default=None, description="Meltano: which fork of the tap.")
    namespace: str | None = Field(
        default=None, description="Meltano: also the prefix of its settings' env variables."
    )
    settings: list[SettingDefinition] = Field(default_factory=list)
    capabilities: list[str] | None = Field(
        default=None,
        description="catalog, properties, discover, state, about... (asked with `--about` "
        "when not given)",
    )
    select: list[str] | None = Field(
        default=None,
        description="Meltano select patterns (`stream.property`, `!` excludes, `*`/`?`); "
        "all streams and properties when not given.",
    )
    metadata: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Catalog metadata per stream pattern."
    )
    schema_: dict[str, dict[str, Any]] = Field(
        default_factory=dict, alias="schema", description="Catalog schema overrides."
    )
    load_schema: str | None = None
    select_filter: list[str] = Field(default_factory=list)
    settings_group_validation: list[list[str]] = Field(default_factory=list)
    inherit_from: str | None = Field(
        default=None,
        description="Meltano: another connector of this hub.yaml whose block this one extends "
        "(its pip_url, executable, namespace, settings, capabilities, select, metadata, "
        "streams and config, this block's keys winning; config merged key by key).",
    )
    python: str | None = Field(
        default=None, description="Meltano: the Python that runs the tap (`python3.10`)."
    )
    label: str | None = None
    description: str | None = None
    docs: str | None = None
    repo: str | None = None
    logo_url: str | None = None
    keywords: list[str] = Field(default_factory=list)
    maintenance_status: str | None = None
    domain_url: str | None = None
    hidden: bool | None = None

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == "hub":
            raise ValueError("'hub' is reserved for contacts logged in the hub; rename it")
        return value

    @model_validator(mode="after")
    def _singer_needs_command(self) -> ConnectorConfig:
        if self.type == "singer" and not (self.executable or self.pip_url):
            raise ValueError(
                "a `singer` connector needs `executable` (or `pip_url`); for a built-in "
                "connector set `type:` (sql, files, ...)"
            )
        if self.type != "singer":
            given = [k for k in _SINGER_ONLY if k in self.model_fields_set]
            if given:
                names = ", ".join(f"`{k.rstrip('_')}`" for k in given)
                raise ValueError(f"{names} only apply to `type: singer` connectors")
        for i, setting in enumerate(self.settings):
            value = setting.value
            clear = isinstance(value, str) and value and not _ENV_REF.fullmatch(value.strip())
            if setting.secret and clear:
                raise ValueError(
                    f"settings.{i}.value: secrets must be written as ${{ENV_VAR}} "
                    "references (or left to the environment), not in clear text"
                )
        return self

    def env_prefixes(self) -> list[str]:
        """Meltano's env-variable prefixes: the name (`tap-postgres` -> `TAP_POSTGRES`), then
        the namespace, then the connector it inherits from."""
        names = [self.name, *[n for n in (self.namespace, self.inherit_from) if n]]
        return list(dict.fromkeys(re.sub(r"[^A-Za-z0-9]", "_", n).upper() for n in names))

    def secret_keys(self) -> set[str]:
        """Config keys that hold secrets (by name, or declared so in `settings`)."""
        keys = {s.name for s in self.settings if s.secret}
        return keys | {k for k in self.config if is_secret_key(k)}


class StoreConfig(_Frozen):
    """Where the hub keeps its data: any SQLAlchemy URL; SQLite under .crmhub/ by default."""

    url: str = "sqlite:///.crmhub/hub.db"


_SPARK_MASTER = re.compile(
    r"local(\[(\*|[1-9][0-9]*)(,\s*[0-9]+)?\])?|local-cluster\[[0-9, ]+\]"
    r"|spark://\S+|k8s://\S+|mesos://\S+|yarn"
)


def _known_engine(value: Any) -> Any:
    if value not in ("local", "spark"):
        raise ValueError(
            f"{value!r} is not an engine — use local (in process) or spark (Apache Spark)"
        )
    return value


EngineName = Annotated[Literal["local", "spark"], BeforeValidator(_known_engine)]
"""What runs a full resolve or an analysis (identity.engine, analytics.engine)."""


class SparkConfig(_Frozen):
    """Where `crmhub resolve` runs a full resolution (identity.spark), or `crmhub analyse`
    its analysis (analytics.spark), when the engine is `spark`."""

    master: str = Field(
        default="local[2]",
        description="Spark master: local[N] (this machine, N cores), spark://host:7077 (a "
        "standalone cluster), yarn or k8s://... (`--spark-master` overrides it for one run).",
    )
    run_dir: Path = Field(
        default=Path(".crmhub/spark"),
        description="Stage checkpoints (Parquet), relative to hub.yaml's folder; a failed run "
        "resumes from them. On a cluster, a folder every executor can read and write.",
    )
    conf: dict[str, str] = Field(
        default_factory=dict,
        description="Extra Spark settings, e.g. {spark.driver.memory: 4g}; secrets as "
        "${ENV_VAR} references.",
    )
    driver_records: int = Field(
        default=1_000_000,
        ge=0,
        description="identity: a full resolve over more live records than this keeps them "
        "off the driver — Spark reads a streamed export of the store, and the crosswalk, "
        "golden records and review pairs go back from Spark's output a batch at a time. At "
        "or below it the records pass through the driver (faster while they fit). "
        "(analytics: unused; an analysis always streams its interactions.)",
    )

    @field_validator("master")
    @classmethod
    def _known_master(cls, value: str) -> str:
        if not _SPARK_MASTER.fullmatch(value.strip()):
            raise ValueError(
                f"{value!r} is not a Spark master URL — use local[2], local[*], "
                "spark://host:7077, yarn or k8s://https://host:443"
            )
        return value.strip()

    @field_validator("conf", mode="before")
    @classmethod
    def _text_values(cls, value: Any) -> Any:
        """Spark settings are text: numbers and booleans as YAML writes them are accepted
        as such (`spark.executor.cores: 2`, `spark.eventLog.enabled: true`)."""
        if not isinstance(value, Mapping):
            return value
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(item, bool):
                item = "true" if item else "false"
            elif isinstance(item, int | float):
                item = str(item)
            out[key] = item
        return out

    @field_validator("conf")
    @classmethod
    def _spark_keys(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = sorted(k for k in value if not k.startswith("spark."))
        if wrong:
            raise ValueError(
                f"{', '.join(wrong)}: not Spark settings — their names start with `spark.` "
                "(spark.driver.memory, spark.sql.shuffle.partitions, ...)"
            )
        return value


class IdentityConfig(_Frozen):
    """Identity-resolution settings (used by the identity engine)."""

    engine: EngineName = Field(
        default="local",
        description="What runs a full resolution: `local` (in process) or `spark` (Apache "
        "Spark, the `spark` extra; see `spark:`). Incremental runs are always local.",
    )
    spark: SparkConfig = Field(default_factory=SparkConfig)
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
    purchase_model: Literal["bgnbd", "pareto", "regime", "auto"] = Field(
        default="bgnbd",
        description="the purchase model behind p_alive, lifetime value and the churn features: "
        "bgnbd (BG/NBD), pareto (Pareto/NBD), regime (BG/NBD whose rate is higher just after a "
        "first purchase), auto (BG/NBD or Pareto/NBD, whichever forecast the last weeks best)",
    )
    clv_months: int = Field(default=12, ge=1, le=120, description="lifetime value horizon")
    engine: EngineName = Field(
        default="local",
        description="What runs `crmhub analyse` on the hub store: `local` (in process) or "
        "`spark` (Apache Spark, the `spark` extra; see `spark:`).",
    )
    spark: SparkConfig = Field(
        default_factory=SparkConfig,
        description="Where `crmhub analyse` runs when the engine is `spark` (the same "
        "settings as identity.spark; run_dir holds the interactions handed to Spark).",
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
    audiences: Audiences = Field(default_factory=list)  # schemas/audiences.py
    worklists: Worklists = Field(default_factory=Worklists)  # schemas/worklists.py
    base_dir: Path = Field(default=Path("."), exclude=True, description="hub.yaml's folder.")

    @model_validator(mode="before")
    @classmethod
    def _inherit(cls, data: Any) -> Any:
        """Meltano's `inherit_from`: a connector block extends another of this file."""
        if not isinstance(data, dict) or not isinstance(data.get("connectors"), list):
            return data
        return {**data, "connectors": inherited(data["connectors"])}

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


def inherited(blocks: list[Any]) -> list[Any]:
    """Connector blocks with Meltano's `inherit_from` resolved: each takes its parent's keys
    (the parent's own parent first) and overrides them with its own; `config` is merged key by
    key. The parent must be a connector of the same file (Meltano also inherits from its
    Hub's definitions, which a hub without network cannot read)."""
    by_name = {b.get("name"): b for b in blocks if isinstance(b, dict)}
    done: dict[str, dict[str, Any]] = {}

    def resolve(block: dict[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
        parent_name = block.get("inherit_from")
        if not parent_name:
            return block
        name = str(block.get("name"))
        if name in done:
            return done[name]
        if parent_name in seen or parent_name == name:
            raise ValueError(f"inherit_from: {' -> '.join((*seen, name, parent_name))} is a cycle")
        parent = by_name.get(parent_name)
        if not isinstance(parent, dict):
            known = ", ".join(str(n) for n in by_name if n != name) or "none"
            raise ValueError(
                f"connector {name!r}: inherit_from {parent_name!r} names no connector of this "
                f"hub.yaml (it has: {known}) — paste the parent's block too"
            )
        base = resolve(parent, (*seen, name))
        merged = {**base, **block}
        if isinstance(base.get("config"), dict) and isinstance(block.get("config"), dict):
            merged["config"] = {**base["config"], **block["config"]}
        done[name] = merged
        return merged

    return [resolve(b, ()) if isinstance(b, dict) else b for b in blocks]


# words for people, not values: Meltano's setting definitions show example URLs in them
# (`description: Example postgresql://postgres:postgres@localhost:5432/postgres`)
_DOC_KEYS = frozenset({"label", "description", "placeholder", "documentation", "docs", "tooltip"})


def _check_no_clear_secrets(node: Any, path: str, problems: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if key in _DOC_KEYS and isinstance(value, str):
                continue
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
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                known = _known_keys(err["loc"][:-1])
                message = f"unknown key {err['loc'][-1]!r} — remove it or check its spelling"
                if known:
                    message += f" (allowed here: {', '.join(known)})"
            lines.append(f"{file}: {loc}{_connector_named(raw, err['loc'])}: {message}")
        raise ConfigError("\n".join(lines)) from None


def _connector_named(raw: Mapping[str, Any], loc: tuple[Any, ...]) -> str:
    """` (connector 'erp')` for an error inside `connectors.<i>`, so the user finds it."""
    if len(loc) >= 2 and loc[0] == "connectors" and isinstance(loc[1], int):
        items = raw.get("connectors")
        if isinstance(items, list) and loc[1] < len(items) and isinstance(items[loc[1]], dict):
            name = items[loc[1]].get("name")
            if isinstance(name, str):
                return f" (connector {name!r})"
    return ""


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at `loc` (a path into HubConfig) accepts, by their YAML names."""
    model: type[BaseModel] | None = HubConfig
    skip = False  # the part after a list or dict field is an index or a key
    for part in loc:
        if skip:
            skip = False
            continue
        if model is None:
            return []
        fields = model.model_fields
        field = fields.get(str(part)) or next(
            (f for f in fields.values() if f.alias == str(part)), None
        )
        if field is None:
            return []
        inner = _unwrap_optional(field.annotation)
        skip = get_origin(inner) in (list, dict)
        model = _model_in(inner)
    if model is None:
        return []
    return sorted(f.alias or name for name, f in model.model_fields.items() if not f.exclude)


def _unwrap_optional(annotation: Any) -> Any:
    """`X | None` -> `X`; anything else as it is."""
    if get_origin(annotation) not in (Union, UnionType):
        return annotation
    args = [a for a in get_args(annotation) if a is not type(None)]
    return args[0] if len(args) == 1 else annotation


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model `annotation` is, or holds as list item / dict value."""
    node = annotation
    for _ in range(3):
        if isinstance(node, type) and issubclass(node, BaseModel):
            return node
        args = [a for a in get_args(node) if a is not type(None)]
        if not args:
            return None
        node = args[-1]
    return None


def resolve_env(value: Any, where: str = "", environ: Mapping[str, str] | None = None) -> Any:
    """Substitute `${ENV_VAR}` references from the environment (`os.environ` unless
    `environ` is given), recursively.

    A missing variable is a ConfigError naming the key path and the variable.
    """
    env = os.environ if environ is None else environ
    if isinstance(value, dict):
        return {
            k: resolve_env(v, f"{where}.{k}" if where else str(k), env) for k, v in value.items()
        }
    if isinstance(value, list):
        return [resolve_env(v, f"{where}.{i}", env) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise ConfigError(
                    f"{where or 'hub.yaml'}: environment variable {name} is not set — "
                    f"export {name}=... (or set it as an Airflow Connection/Variable)"
                )
            return env[name]

        return _ENV_REF.sub(sub, value)
    return value


def resolve_connector_config(
    connector: ConnectorConfig, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The connector's settings for its tap: `${VAR}` references substituted, then, as
    Meltano does, each setting the config does not set taken from the environment
    (`TAP_POSTGRES_PASSWORD` for setting `password` of `tap-postgres`; the namespace form
    `TAP_POSTGRES_PASSWORD` too, or the setting's own `env:`), else its default `value`.
    Secret-named variables with the connector's prefix are read even when undeclared.

    The result holds secrets in clear: hand it to the tap, never log or store it.
    """
    env = os.environ if environ is None else environ
    where = f"connectors.{connector.name}.config"
    config: dict[str, Any] = resolve_env(dict(connector.config), where, env)
    if connector.type != "singer":
        return config
    prefixes = connector.env_prefixes()
    for setting in connector.settings:
        if _get_path(config, setting.name) is not None:
            continue
        suffix = re.sub(r"[^A-Za-z0-9]", "_", setting.name).upper()
        names = [*([setting.env] if setting.env else []), *(f"{p}_{suffix}" for p in prefixes)]
        var = next((n for n in names if n in env), None)
        if var is not None:
            _set_path(config, setting.name, _from_env(setting, var, env[var], connector.name))
        elif setting.value is not None:
            value = resolve_env(setting.value, f"connectors.{connector.name}.settings", env)
            _set_path(config, setting.name, value)
    # a declared setting's own variable (TAP_X_SSH_TUNNEL_PRIVATE_KEY for
    # `ssh_tunnel.private_key`) is not read a second time as an undeclared one
    declared = {re.sub(r"[^A-Za-z0-9]", "_", s.name).lower() for s in connector.settings}
    for prefix in prefixes:
        for var, value in env.items():
            if var.startswith(prefix + "_"):
                key = var[len(prefix) + 1 :].lower()
                if is_secret_key(key) and key not in config and key not in declared:
                    config[key] = value
    return config


_TRUE = ("true", "1", "yes", "y", "on", "t")
_FALSE = ("false", "0", "no", "n", "off", "f")


def _from_env(setting: SettingDefinition, var: str, text: str, connector: str) -> Any:
    """An environment value as its setting's `kind` wants it, as Meltano casts them:
    `integer` and `boolean` as such, `array` and `object` from JSON, the rest as text."""
    kind = (setting.kind or "string").lower()
    try:
        if kind == "integer":
            return int(text.strip())
        if kind == "boolean":
            word = text.strip().lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
            raise ValueError("not true/false")
        if kind in ("array", "object"):
            value = json.loads(text)
            if not isinstance(value, list if kind == "array" else dict):
                raise ValueError(f"not a JSON {kind}")
            return value
    except ValueError as exc:
        # a secret's value is never shown, nor the parser's message, which quotes it
        shown, why = ("(hidden)", "") if setting.secret else (repr(text), f" ({exc})")
        raise ConfigError(
            f"connectors.{connector}.settings.{setting.name}: environment variable {var}="
            f"{shown} is not a valid {kind}{why} — fix the variable"
        ) from None
    return text


def _get_path(config: Mapping[str, Any], dotted: str) -> Any:
    if dotted in config:
        return config[dotted]
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _set_path(config: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = config
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            config[dotted] = value
            return
        node = child
    node[parts[-1]] = value
