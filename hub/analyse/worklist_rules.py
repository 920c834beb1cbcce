"""The worklist rules as pure functions: does a rule fire for a profile, does it still hold.

A profile here is one customer's stored profile flattened to one mapping (the profile
columns and the `traits` JSON side by side, as `hub.analyse.worklists` reads them). `fire`
returns what the item says — the day it is about (the birthday, the renewal date, the day
the risk rose, the first day), when it is due, the topic and the reason in words from the
scores — or None. `still_holds` answers, for an open item, whether its rule's condition
still holds: when it does not the item is marked "no longer applies", never closed.

Days are UTC days, as on the worklist; `today` is the day analysed (`as_of`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.worklists import WorklistRule

__all__ = ["Firing", "as_day", "fire", "next_birthday", "still_holds"]


@dataclass(frozen=True, kw_only=True)
class Firing:
    """An item a rule asks for: about `day`, due on `due_on`."""

    rule: str
    kind: str
    golden_id: str
    day: dt.date
    due_on: dt.date
    topic: str
    reason: str
    channel: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """`rule|golden id|day`: one item per rule, customer and day, however often analysed."""
        return rule_key(self.rule, self.golden_id, self.day)


def rule_key(rule: str, golden_id: str, day: dt.date) -> str:
    return f"{rule}|{golden_id}|{day.isoformat()}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def as_day(value: Any) -> dt.date | None:
    """A date trait's value (a date, a timestamp, ISO text with or without a time) as a UTC
    day; None for anything else."""
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo is None else value.astimezone(dt.UTC)
        return moment.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return as_day(dt.datetime.fromisoformat(text))
        except ValueError:
            return None
    return None


def next_birthday(month_day: Any, today: dt.date) -> dt.date | None:
    """The first day on or after `today` that is the birthday `MM-DD` (29 February is kept
    on the 28th in other years); None when the value is not a birthday."""
    if not isinstance(month_day, str):
        return None
    try:
        month, day = (int(p) for p in month_day.strip().split("-"))
        dt.date(2000, month, day)  # a leap year: validates 02-29 too
    except ValueError:
        return None
    for year in (today.year, today.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:  # 29 February in a common year
            candidate = dt.date(year, 2, 28)
        if candidate >= today:
            return candidate
    return None  # not reached: next year's date is always after today


def _first_day(profile: Mapping[str, Any], tenure: float, today: dt.date) -> dt.date:
    """The day of the first interaction: `tenure` days before the day the profile was
    analysed as of (its `as_of`; `today` when it does not say)."""
    analysed = as_day(profile.get("as_of")) or today
    return analysed - dt.timedelta(days=math.ceil(tenure))


def _percent(value: float) -> str:
    return f"{round(100 * value)} %"


def _label(trait: str) -> str:
    return trait.replace("_", " ")


def fire(
    rule: WorklistRule,
    profile: Mapping[str, Any],
    today: dt.date,
    previous_risk: float | None = None,
) -> Firing | None:
    """The item `rule` asks for on this profile today, or None. `previous_risk` is the
    customer's churn risk at the previous analyse (None: not analysed before)."""
    golden_id = str(profile["golden_id"])
    value = profile.get(rule.read_trait)
    base: dict[str, Any] = {"rule": rule.name, "kind": rule.kind, "golden_id": golden_id}
    channel = rule.suggested_channel
    action = rule.suggested_action
    if rule.kind == "birthday":
        day = next_birthday(value, today)
        if day is None or (day - today).days > rule.days:
            return None
        when = "today" if day == today else f"on {day:%d %B} (in {(day - today).days} days)"
        return Firing(
            **base,
            day=day,
            due_on=day,
            topic="Birthday",
            reason=f"Birthday {when}. {action}.",
            channel=channel,
        )
    if rule.kind == "service":
        day = as_day(value)
        if day is None or not 0 <= (day - today).days <= rule.days:
            return None
        held = [
            f"{_label(name)}: {profile[name]}"
            for name in ("equipment", "contracts")
            if profile.get(name) not in (None, "", 0)
        ]
        return Firing(
            **base,
            day=day,
            due_on=day - dt.timedelta(days=rule.lead_days),
            topic=f"{_label(rule.read_trait).capitalize()} on {day}",
            reason=(
                f"{_label(rule.read_trait).capitalize()} on {day} (in {(day - today).days} "
                f"days){'; ' + '; '.join(held) if held else ''}. {action}."
            ),
            channel=channel,
            data={"date": day.isoformat()},
        )
    if rule.kind == "churn_rise":
        risk, worth = _number(value), _number(profile.get(rule.value_trait))
        if risk is None or worth is None or previous_risk is None:
            return None
        if worth < rule.min_value or risk - previous_risk < rule.min_rise - 1e-9:
            return None
        reasons = str(profile.get("churn_reasons") or "").replace(";", ", ")
        return Firing(
            **base,
            day=today,
            due_on=today,
            topic="Churn risk rising",
            reason=(
                f"Churn risk rose from {_percent(previous_risk)} to {_percent(risk)} since the "
                f"previous analysis; {_label(rule.value_trait)} {worth:,.0f}"
                f"{'; reasons: ' + reasons if reasons else ''}. {action}."
            ),
            channel=channel,
            data={"risk": risk, "was": previous_risk, "value": worth},
        )
    tenure = _number(value)  # welcome
    if tenure is None or tenure < 0 or tenure > rule.days:
        return None
    first = _first_day(profile, tenure, today)
    return Firing(
        **base,
        day=first,
        due_on=first + dt.timedelta(days=rule.after_days),
        topic="Welcome call",
        reason=f"New customer since {first}. {action}.",
        channel=channel,
    )


def still_holds(
    rule: WorklistRule,
    profile: Mapping[str, Any] | None,
    day: dt.date,
    data: Mapping[str, Any] | None,
    today: dt.date,
) -> bool:
    """Whether the condition an open item of `rule` about `day` was opened for still holds
    on this profile (None: the customer has no profile any more)."""
    if profile is None:
        return False
    value = profile.get(rule.read_trait)
    if rule.kind == "birthday":
        born = next_birthday(value, day)
        return born == day
    if rule.kind == "service":
        return as_day(value) == day
    if rule.kind == "churn_rise":
        risk, worth = _number(value), _number(profile.get(rule.value_trait))
        was = _number((data or {}).get("was"))
        if risk is None or worth is None or was is None:
            return False
        return worth >= rule.min_value and risk - was >= rule.min_rise - 1e-9
    tenure = _number(value)
    return tenure is not None and _first_day(profile, tenure, today) == day
