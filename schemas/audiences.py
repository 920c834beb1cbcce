"""Audiences in hub.yaml: a named rule over the customer profiles and where to send it.

An audience (as Hightouch or Census audiences, Segment Engage) is declarative data: a rule
over profile columns and traits, the fields each member row carries for the channel (next
best offers, preferred channel, language) and the destinations its changes are sent to::

    audiences:
      - name: win_back
        description: Valuable customers drifting away
        rule:
          all:
            - {trait: churn_risk, gte: 0.6}
            - {trait: stage, in: [at risk, lapsed]}
            - not: {trait: email, is_null: true}
        fields: [next_best_offers, preferred_channel]
        destinations:
          - {kind: webhook, url: "${WIN_BACK_URL}", secret: "${WIN_BACK_SECRET}"}
          - {kind: file, path: exports/win_back, format: csv}

The rule language is a small tree, never code: `all` / `any` (lists of rules), `not` (one
rule), or a test of one `trait` with exactly one operator — `eq`, `ne`, `gt`, `gte`, `lt`,
`lte`, `in`, `between` ([low, high], inclusive) or `is_null` (true/false). A test on a
missing value is false (use `is_null`). This module checks the shape; which trait names
exist is known only to the analytics engine, so `hub.analyse.audiences` checks the names at
load and at `crmhub check`, naming the key path (`audiences[0].rule.all[1].trait`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "OPERATORS",
    "AudienceConfig",
    "Audiences",
    "DestinationConfig",
    "FileDestination",
    "Rule",
    "Scalar",
    "SqlTableDestination",
    "SystemDestination",
    "WebhookDestination",
    "trait_references",
]

Scalar = str | int | float | bool
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "between", "is_null")
_ENV_ONLY = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
_NAME = r"^[a-z][a-z0-9_\-]*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Rule(_Frozen):
    """One node of an audience rule: a combination (`all`, `any`, `not`) or a test of one
    trait with exactly one operator."""

    all_: list[Rule] | None = Field(default=None, alias="all", min_length=1)
    any_: list[Rule] | None = Field(default=None, alias="any", min_length=1)
    not_: Rule | None = Field(default=None, alias="not")
    trait: str | None = Field(default=None, min_length=1)
    eq: Scalar | None = None
    ne: Scalar | None = None
    gt: float | str | None = None
    gte: float | str | None = None
    lt: float | str | None = None
    lte: float | str | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1)
    between: tuple[float, float] | None = None
    is_null: bool | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Rule:
        combos = [k for k in ("all_", "any_", "not_") if getattr(self, k) is not None]
        ops = self.operators()
        if combos:
            if len(combos) > 1 or self.trait is not None or ops:
                raise ValueError(
                    "a rule is one of {all: [...]}, {any: [...]}, {not: {...}} or "
                    "{trait: NAME, OPERATOR: VALUE} — split combined keys into separate rules"
                )
            return self
        if self.trait is None:
            raise ValueError("a rule needs all, any, not, or a trait with an operator")
        if len(ops) != 1:
            found = ", ".join(ops) or "none"
            raise ValueError(
                f"trait {self.trait!r} needs exactly one operator of "
                f"{', '.join(OPERATORS)} (found: {found})"
            )
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError(f"between: low {self.between[0]} is above high {self.between[1]}")
        return self

    def operators(self) -> list[str]:
        """The operator keys this test sets (one for a valid test, none for a combination)."""
        return [op for op in OPERATORS if getattr(self, "in_" if op == "in" else op) is not None]

    @property
    def operator(self) -> str:
        """This test's operator (`eq`, `in`, ...)."""
        return self.operators()[0]

    @property
    def value(self) -> Any:
        """This test's operand."""
        return getattr(self, "in_" if self.operator == "in" else self.operator)


class WebhookDestination(_Frozen):
    """An HTTP endpoint receiving the changes as JSON batches, signed with HMAC-SHA256."""

    kind: Literal["webhook"]
    name: str = Field(default="webhook", pattern=_NAME, max_length=40)
    url: str = Field(min_length=1, description="http(s) URL, or a ${ENV_VAR} holding it")
    secret: str = Field(description="the HMAC key, as a ${ENV_VAR} reference")
    batch_size: int = Field(default=500, ge=1, le=10_000)
    retries: int = Field(default=3, ge=0, le=10, description="retries on 5xx and timeouts")
    backoff_seconds: float = Field(default=1.0, ge=0, description="first retry's wait, doubling")
    timeout_seconds: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _secret_from_env(self) -> WebhookDestination:
        if not _ENV_ONLY.match(self.secret.strip()):
            raise ValueError("secret must be an ${ENV_VAR} reference, never the key itself")
        if "${" not in self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url {self.url!r} must start with http:// or https://")
        return self


class FileDestination(_Frozen):
    """A folder receiving one file of changes per sync (CSV or JSON Lines), written
    atomically and named by the event ids it holds."""

    kind: Literal["file"]
    name: str = Field(default="file", pattern=_NAME, max_length=40)
    path: str = Field(min_length=1, description="a folder; relative to hub.yaml's folder")
    format: Literal["csv", "jsonl"] = "csv"


class SqlTableDestination(_Frozen):
    """A table in an SQL database holding each audience's members now (one row per audience
    and golden id, with the carried fields): entered rows are written, exited ones deleted,
    created if missing. For a warehouse, a BI tool or a system that reads its own tables."""

    kind: Literal["sql"]
    name: str = Field(default="sql", pattern=_NAME, max_length=40)
    url: str = Field(min_length=1, description="SQLAlchemy URL, or ${ENV_VAR}; no clear password")
    table: str = Field(default="crmhub_audience_members", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    db_schema: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class SystemDestination(_Frozen):
    """A configured connector whose system takes audience membership through its writer
    (Stripe customer metadata, a Tryton party category, a django-helpdesk ticket field, a
    members table in an `sql` source): each change is written onto every record of that
    system linked to the customer. `connector` names an entry of `connectors:` whose type
    has a writer; `crmhub check` and `crmhub audiences sync` check that, naming the key path
    (`hub.push.system_destinations`)."""

    kind: Literal["system"]
    name: str = Field(default="system", pattern=_NAME, max_length=40)
    connector: str = Field(min_length=1, description="name of a configured connector")


DestinationConfig = Annotated[
    WebhookDestination | FileDestination | SqlTableDestination | SystemDestination,
    Field(discriminator="kind"),
]


class AudienceConfig(_Frozen):
    """A named audience: who is in it (`rule`), what each row carries (`fields`) and where
    its entered/exited changes are sent (`destinations`)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    description: str = ""
    rule: Rule
    fields: list[str] = Field(default_factory=list, description="traits carried per member")
    destinations: list[DestinationConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_destinations(self) -> AudienceConfig:
        names = [d.name for d in self.destinations]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"destination names must be unique in an audience; repeated: "
                f"{', '.join(repeated)} — give each a `name:`"
            )
        return self


def _unique_audiences(value: list[AudienceConfig]) -> list[AudienceConfig]:
    names = [a.name for a in value]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"audience names must be unique; repeated: {', '.join(repeated)}")
    return value


Audiences = Annotated[list[AudienceConfig], AfterValidator(_unique_audiences)]
"""hub.yaml's `audiences:` list (names unique)."""


def trait_references(rule: Rule, path: str) -> Iterator[tuple[str, str]]:
    """Each trait the rule tests, with its key path (`audiences[0].rule.all[1].trait`)."""
    if rule.trait is not None:
        yield f"{path}.trait", rule.trait
    for key, children in (("all", rule.all_), ("any", rule.any_)):
        for i, child in enumerate(children or ()):
            yield from trait_references(child, f"{path}.{key}[{i}]")
    if rule.not_ is not None:
        yield from trait_references(rule.not_, f"{path}.not")
