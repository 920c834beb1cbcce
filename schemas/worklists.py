"""Proactive worklist rules in hub.yaml: who to call, why, when and by whom.

After every `crmhub analyse` each rule is evaluated on the fresh customer profiles and opens
worklist items (beside the call-backs people ask for)::

    worklists:
      groups:
        field_team: [tom, tina]           # stewards an item is handed to in turn
      rules:
        - {name: birthdays, kind: birthday, days: 7, owner: anna}
        - name: service_due
          kind: service
          trait: next_renewal              # a date trait: contract renewal, equipment service
          days: 30
          lead_days: 7                     # call a week before the day
          group: field_team
          channel: in person
        - {name: risk_rising, kind: churn_rise, min_value: 1000, min_rise: 0.15, owner: anna}
        - {name: welcome, kind: welcome, days: 14, after_days: 3, owner: anna}

Four kinds: `birthday` (the birthday, MM-DD, falls in the next `days` days), `service` (a date
trait falls in the next `days` days), `churn_rise` (the value trait is at least `min_value`
and the churn risk rose by at least `min_rise` since the previous analyse) and `welcome`
(the customer's first interaction was in the last `days` days). Each names the traits it
reads (defaults per kind); which names exist is known only to the analytics engine, so
`hub.analyse.worklists` checks them at `crmhub check` with the key path
(`worklists.rules[1].trait: unknown trait ...`). An item's owner is the rule's `owner`, or
the next steward of its `group` in turn. This module checks the shape only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DEFAULT_ACTIONS",
    "DEFAULT_CHANNELS",
    "DEFAULT_TRAITS",
    "RULE_KINDS",
    "RuleKind",
    "WorklistRule",
    "Worklists",
]

RuleKind = Literal["birthday", "service", "churn_rise", "welcome"]
RULE_KINDS: tuple[RuleKind, ...] = ("birthday", "service", "churn_rise", "welcome")
DEFAULT_TRAITS: dict[str, str] = {
    "birthday": "birthday",
    "service": "next_renewal",
    "churn_rise": "churn_risk",
    "welcome": "tenure_days",
}
"""The trait each kind reads when the rule names none (`churn_rise` also reads `value_trait`)."""
DEFAULT_CHANNELS: dict[str, str] = {
    "birthday": "phone",
    "service": "phone",
    "churn_rise": "phone",
    "welcome": "phone",
}
DEFAULT_ACTIONS: dict[str, str] = {
    "birthday": "Call to wish a happy birthday",
    "service": "Arrange the service or renewal",
    "churn_rise": "Call to ask whether everything is all right",
    "welcome": "Welcome call: introduce yourself and offer help",
}
_NAME = r"^[a-z][a-z0-9_\-]*$"
_USER = r"^[A-Za-z0-9_.@\-]+$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WorklistRule(_Frozen):
    """One proactive rule: which customers, why, and who calls them when."""

    name: str = Field(pattern=_NAME, max_length=40, description="Names the rule's items.")
    kind: RuleKind
    enabled: bool = True
    days: int = Field(
        default=7,
        ge=0,
        le=366,
        description="birthday/service: the next N days; welcome: new in the last N days.",
    )
    lead_days: int = Field(
        default=0, ge=0, le=366, description="service: the item is due this many days before."
    )
    after_days: int = Field(
        default=0, ge=0, le=366, description="welcome: due this many days after the first day."
    )
    trait: str | None = Field(
        default=None,
        min_length=1,
        description="The trait read (default per kind: birthday, next_renewal, churn_risk, "
        "tenure_days).",
    )
    value_trait: str = Field(default="clv_12m", min_length=1, description="churn_rise only.")
    min_value: float = Field(default=0.0, ge=0, description="churn_rise: the value at least.")
    min_rise: float = Field(
        default=0.1, gt=0, le=1, description="churn_rise: the risk rose at least this much."
    )
    owner: str | None = Field(default=None, pattern=_USER, description="A steward's user name.")
    group: str | None = Field(
        default=None, pattern=_NAME, description="Or hand items in turn to this group."
    )
    channel: str | None = Field(default=None, max_length=50)
    action: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_owner(self) -> WorklistRule:
        if (self.owner is None) == (self.group is None):
            raise ValueError(
                f"rule {self.name!r}: give either `owner` (a user name) or `group` "
                "(a name under worklists.groups), exactly one"
            )
        kind_only = {
            "lead_days": "service",
            "after_days": "welcome",
            "value_trait": "churn_rise",
            "min_value": "churn_rise",
            "min_rise": "churn_rise",
        }
        wrong = [
            k for k, kind in kind_only.items() if k in self.model_fields_set and self.kind != kind
        ]
        if wrong:
            raise ValueError(
                f"rule {self.name!r}: {', '.join(wrong)} do not apply to kind {self.kind!r}"
            )
        if "days" in self.model_fields_set and self.kind == "churn_rise":
            raise ValueError(f"rule {self.name!r}: days does not apply to kind 'churn_rise'")
        return self

    @property
    def read_trait(self) -> str:
        """The trait this rule reads (its own or its kind's default)."""
        return self.trait or DEFAULT_TRAITS[self.kind]

    @property
    def suggested_channel(self) -> str:
        return self.channel or DEFAULT_CHANNELS[self.kind]

    @property
    def suggested_action(self) -> str:
        return self.action or DEFAULT_ACTIONS[self.kind]

    def traits_read(self, path: str) -> list[tuple[str, str]]:
        """(key path, trait) for each trait the rule reads."""
        found = [(f"{path}.trait", self.read_trait)]
        if self.kind == "churn_rise":
            found.append((f"{path}.value_trait", self.value_trait))
        return found


class Worklists(_Frozen):
    """hub.yaml's `worklists:` section."""

    groups: dict[str, list[str]] = Field(
        default_factory=dict, description="Named groups of stewards items are handed to in turn."
    )
    rules: list[WorklistRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Worklists:
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(dupes)}")
        for name, members in self.groups.items():
            if not members:
                raise ValueError(f"groups.{name}: empty; list at least one steward")
        for i, rule in enumerate(self.rules):
            if rule.group is not None and rule.group not in self.groups:
                known = ", ".join(sorted(self.groups)) or "none"
                raise ValueError(
                    f"rules[{i}].group: no group {rule.group!r} under worklists.groups "
                    f"(defined: {known})"
                )
        return self
