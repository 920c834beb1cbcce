"""How numbers read on every page: one probability scale, money in its currency's decimals.

Registered as Jinja filters (`{{ p | percent }}`, `{{ amount | money(currency) }}`,
`{{ when | moment }}`), so a template never formats a number by hand and the review queue,
search and the customer page say the same thing the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_currency, format_decimal

__all__ = ["DEFAULT_LOCALE", "details", "install", "moment", "money", "percent"]

DEFAULT_LOCALE = "en_GB"


def percent(value: float | Decimal | None, *, scale: float = 1.0) -> str:
    """A probability (0..1, or 0..100 with `scale=100`) as a whole percent: `93 %`.

    Values that would round to 0 or 100 without being certain say `<1 %` / `>99 %`, so a
    steward never reads certainty the engine did not claim.
    """
    if value is None:
        return "—"
    p = float(value) / scale
    if p != p:  # NaN
        return "—"
    p = min(max(p, 0.0), 1.0)
    if 0.0 < p < 0.005:
        return "<1 %"
    if 0.995 < p < 1.0:
        return ">99 %"
    return f"{round(p * 100):d} %"


def money(
    amount: float | Decimal | str | None, currency: str | None = None, locale: str = DEFAULT_LOCALE
) -> str:
    """An amount in its currency's own decimals and the reader's locale: `€45.89`, `¥1,200`.

    Without a currency the amount is shown with two decimals; text that is not a number is
    shown as it is (a source's odd value is evidence, not something to hide).
    """
    if amount is None or amount == "":
        return "—"
    try:
        number = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    code = (currency or "").strip().upper()
    if len(code) == 3 and code.isalpha():
        try:
            return str(format_currency(number, code, locale=locale))
        except (ValueError, KeyError):
            pass
    return str(format_decimal(number, format="#,##0.00", locale=locale)) + (
        f" {currency}" if currency else ""
    )


def moment(value: datetime | date | str | None) -> str:
    """A timestamp to the minute (`2026-03-01 14:05 UTC`), a date as a date; empty as —."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            parsed: datetime | date = datetime.fromisoformat(value)
        except ValueError:
            return value
        value = parsed
    if isinstance(value, datetime):
        zone = " UTC" if value.utcoffset() is not None and not value.utcoffset() else ""
        return value.strftime("%Y-%m-%d %H:%M") + zone
    return value.isoformat()


_DETAIL_WIDTH = 160  # characters of one value on a page; the export keeps every one


def _plain(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return (
            ", ".join(
                "/".join(str(p) for p in v) if isinstance(v, list | tuple) else _plain(v)
                for v in value
            )
            or "—"
        )
    return str(value)


def details(
    detail: Mapping[str, Any] | None, *, skip: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """An audit entry's detail as readable `(key, value)` pairs: the summary first, nested
    values flattened (`members: erp/1, web/7`), long ones shortened with `…`; an empty
    detail gives no pairs (the page then shows —)."""
    if not detail:
        return []
    keys = sorted(detail, key=lambda k: (k != "summary", k))
    pairs = []
    for key in keys:
        if key in skip:
            continue
        text = _plain(detail[key])
        if len(text) > _DETAIL_WIDTH:
            text = text[: _DETAIL_WIDTH - 1] + "…"
        pairs.append((key.replace("_", " "), text))
    return pairs


def install(env: Any) -> None:
    """Register the filters on a Jinja environment."""
    env.filters["percent"] = percent
    env.filters["money"] = money
    env.filters["moment"] = moment
    env.filters["details"] = details
