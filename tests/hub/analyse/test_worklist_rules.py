"""The worklist rules as tables of labelled cases: when each kind fires, what its item says
(day, due day, reason) and when an open item's condition no longer holds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from hub.analyse.worklist_rules import as_day, fire, next_birthday, still_holds
from schemas.worklists import WorklistRule

TODAY = dt.date(2026, 12, 5)
D = dt.timedelta(days=1)


def rule(kind: str, **settings: Any) -> WorklistRule:
    return WorklistRule.model_validate(
        {"name": f"r-{kind}", "kind": kind, "owner": "sam", **settings}
    )


def profile(**values: Any) -> dict[str, Any]:
    return {"golden_id": "g-1", **values}


BIRTHDAYS = [
    # label, birthday trait, days, fires on (None: does not fire)
    ("today", "12-05", 7, TODAY),
    ("in a week, window 7", "12-12", 7, TODAY + 7 * D),
    ("in eight days, window 7", "12-13", 7, None),
    ("yesterday: next year's is far", "12-04", 7, None),
    ("over new year", "01-02", 30, dt.date(2027, 1, 2)),
    ("window 0, today only", "12-05", 0, TODAY),
    ("no birth date", None, 7, None),
    ("not a month-day", "5th of May", 7, None),
    ("impossible date", "02-30", 366, None),
]


@pytest.mark.parametrize(("label", "birthday", "days", "expected"), BIRTHDAYS)
def test_birthday_rule(label: str, birthday: Any, days: int, expected: dt.date | None) -> None:
    got = fire(rule("birthday", days=days), profile(birthday=birthday), TODAY)
    if expected is None:
        assert got is None, label
    else:
        assert got is not None, label
        assert (got.day, got.due_on, got.topic, got.channel) == (
            expected,
            expected,
            "Birthday",
            "phone",
        ), label
        assert got.key == f"r-birthday|g-1|{expected.isoformat()}"
        assert "Call to wish a happy birthday" in got.reason


@pytest.mark.parametrize(
    ("label", "month_day", "today", "expected"),
    [
        (
            "29 Feb in a common year is kept on the 28th",
            "02-29",
            dt.date(2027, 2, 1),
            dt.date(2027, 2, 28),
        ),
        ("29 Feb in a leap year", "02-29", dt.date(2028, 2, 1), dt.date(2028, 2, 29)),
        ("passed this year: next year", "03-01", dt.date(2026, 3, 2), dt.date(2027, 3, 1)),
    ],
)
def test_next_birthday(label: str, month_day: str, today: dt.date, expected: dt.date) -> None:
    assert next_birthday(month_day, today) == expected, label


SERVICE = [
    # label, next_renewal trait, days, lead_days, (day, due) or None
    ("renewal in 10 days, window 30", "2026-12-15", 30, 0, (dt.date(2026, 12, 15),) * 2),
    ("a week's lead", "2026-12-15", 30, 7, (dt.date(2026, 12, 15), dt.date(2026, 12, 8))),
    ("lead past today: due already (overdue)", "2026-12-07", 30, 7,
     (dt.date(2026, 12, 7), dt.date(2026, 11, 30))),
    ("timestamp text in UTC", "2026-12-20T00:00:00+00:00", 30, 0, (dt.date(2026, 12, 20),) * 2),
    ("today", "2026-12-05", 30, 0, (TODAY, TODAY)),
    ("beyond the window", "2027-01-05", 30, 0, None),
    ("already past", "2026-12-04", 30, 0, None),
    ("no contract", None, 30, 0, None),
    ("not a date", "soon", 30, 0, None),
]  # fmt: skip


@pytest.mark.parametrize(("label", "renewal", "days", "lead", "expected"), SERVICE)
def test_service_rule(
    label: str, renewal: Any, days: int, lead: int, expected: tuple[dt.date, dt.date] | None
) -> None:
    values = profile(next_renewal=renewal, equipment="boiler X200", contracts=1)
    got = fire(rule("service", days=days, lead_days=lead), values, TODAY)
    if expected is None:
        assert got is None, label
        return
    assert got is not None, label
    assert (got.day, got.due_on) == expected, label
    assert f"Next renewal on {expected[0]}" in got.reason
    assert "equipment: boiler X200; contracts: 1" in got.reason


RISK = [
    # label, churn risk now, before, clv, min_value, min_rise, fires
    ("rose by 0.2 over 0.15, valuable", 0.62, 0.42, 5000, 1000, 0.15, True),
    ("rose by exactly the threshold", 0.55, 0.40, 5000, 1000, 0.15, True),
    ("rose too little", 0.50, 0.40, 5000, 1000, 0.15, False),
    ("fell", 0.30, 0.60, 5000, 1000, 0.15, False),
    ("rose but not valuable enough", 0.90, 0.10, 999, 1000, 0.15, False),
    ("first analysis: nothing to compare", 0.90, None, 5000, 1000, 0.15, False),
    ("no value known", 0.90, 0.10, None, 0, 0.15, False),
    ("no risk known", None, 0.10, 5000, 0, 0.15, False),
]


@pytest.mark.parametrize(("label", "risk", "before", "clv", "min_value", "rise", "fires"), RISK)
def test_churn_rise_rule(
    label: str,
    risk: float | None,
    before: float | None,
    clv: float | None,
    min_value: float,
    rise: float,
    fires: bool,
) -> None:
    r = rule("churn_rise", min_value=min_value, min_rise=rise)
    values = profile(
        churn_risk=risk, clv_12m=clv, churn_reasons="no purchase in 120 days;2 complaints"
    )
    got = fire(r, values, TODAY, before)
    assert (got is not None) is fires, label
    if got is not None:
        assert (got.day, got.due_on) == (TODAY, TODAY)
        assert got.reason.startswith(
            f"Churn risk rose from {round(100 * before)} % to {round(100 * risk)} %"  # type: ignore[operator]
        )
        assert "reasons: no purchase in 120 days, 2 complaints" in got.reason
        assert got.data == {"risk": risk, "was": before, "value": clv}


WELCOME = [
    # label, tenure_days, days, after_days, (first day, due) or None
    ("first seen 2.5 days ago", 2.5, 14, 3, (TODAY - 3 * D, TODAY)),
    ("first seen at midnight 3 days ago", 3.0, 14, 0, (TODAY - 3 * D, TODAY - 3 * D)),
    ("on the window's edge", 14.0, 14, 0, (TODAY - 14 * D, TODAY - 14 * D)),
    ("too long ago", 14.01, 14, 0, None),
    ("no interactions", None, 14, 0, None),
]


@pytest.mark.parametrize(("label", "tenure", "days", "after", "expected"), WELCOME)
def test_welcome_rule(
    label: str,
    tenure: float | None,
    days: int,
    after: int,
    expected: tuple[dt.date, dt.date] | None,
) -> None:
    got = fire(rule("welcome", days=days, after_days=after), profile(tenure_days=tenure), TODAY)
    if expected is None:
        assert got is None, label
    else:
        assert got is not None and (got.day, got.due_on) == expected, label
        assert got.reason.startswith(f"New customer since {expected[0]}.")


def test_a_rule_reads_its_own_trait_and_says_its_own_channel_and_action() -> None:
    r = rule("service", trait="next_service", channel="in person", action="Book the technician")
    got = fire(r, profile(next_service="2026-12-10", next_renewal="2026-12-06"), TODAY)
    assert got is not None and got.day == dt.date(2026, 12, 10)
    assert got.channel == "in person" and got.reason.endswith("Book the technician.")
    assert got.topic == "Next service on 2026-12-10"


HOLDS = [
    # label, kind, settings, profile now (None: gone), day, data, holds
    ("birthday unchanged", "birthday", {}, {"birthday": "12-07"}, dt.date(2026, 12, 7), None, True),
    ("birthday corrected", "birthday", {}, {"birthday": "12-08"}, dt.date(2026, 12, 7), None,
     False),
    ("birthday passed: still its day", "birthday", {}, {"birthday": "12-01"}, dt.date(2026, 12, 1),
     None, True),
    ("renewal moved", "service", {}, {"next_renewal": "2027-02-01"}, dt.date(2026, 12, 15), None,
     False),
    ("renewal same day", "service", {}, {"next_renewal": "2026-12-15T00:00:00"},
     dt.date(2026, 12, 15), None, True),
    ("risk still up", "churn_rise", {"min_value": 100}, {"churn_risk": 0.7, "clv_12m": 500},
     TODAY, {"was": 0.4}, True),
    ("risk fell back", "churn_rise", {"min_value": 100}, {"churn_risk": 0.45, "clv_12m": 500},
     TODAY, {"was": 0.4}, False),
    ("value fell below", "churn_rise", {"min_value": 100}, {"churn_risk": 0.9, "clv_12m": 50},
     TODAY, {"was": 0.4}, False),
    ("welcome: same first day", "welcome", {}, {"tenure_days": 30.2}, TODAY - 31 * D, None, True),
    ("customer gone (merged away, deleted)", "birthday", {}, None, dt.date(2026, 12, 7), None,
     False),
]  # fmt: skip


@pytest.mark.parametrize(("label", "kind", "settings", "now", "day", "data", "holds"), HOLDS)
def test_still_holds(
    label: str,
    kind: str,
    settings: dict[str, Any],
    now: dict[str, Any] | None,
    day: dt.date,
    data: dict[str, Any] | None,
    holds: bool,
) -> None:
    values = None if now is None else profile(**now)
    assert still_holds(rule(kind, **settings), values, day, data, TODAY) is holds, label


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-05", dt.date(2026, 12, 5)),
        ("2026-12-05T23:30:00-02:00", dt.date(2026, 12, 6)),  # a UTC day
        (dt.datetime(2026, 12, 5, 1, tzinfo=dt.UTC), dt.date(2026, 12, 5)),
        (dt.date(2026, 1, 2), dt.date(2026, 1, 2)),
        ("", None),
        (3.5, None),
    ],
)
def test_date_traits_are_utc_days(value: Any, expected: dt.date | None) -> None:
    assert as_day(value) == expected


def test_a_welcome_counts_from_the_day_the_profile_was_analysed_as_of() -> None:
    """The rules may run a day after the profiles were computed: the first day is the same."""
    values = profile(tenure_days=2.5, as_of=TODAY - D)
    got = fire(rule("welcome", days=14), values, TODAY)
    assert got is not None and got.day == TODAY - 4 * D
    assert still_holds(rule("welcome", days=14), values, TODAY - 4 * D, None, TODAY + 5 * D)
