"""The Insights page's audience builder in Chromium: conditions in, the live count out, equal
to the count the row-by-row reference gives on the served store; an incomplete condition is named,
a removed one updates the count; the rule to paste into hub.yaml is shown."""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from analytics.audiences import matches
from hub.analyse.audiences import stored_profile_frame
from schemas.audiences import Rule
from tests.browser.helpers import HubServer, login


def reference_count(server: HubServer, rule: dict[str, Any]) -> tuple[int, int]:
    engine = sa.create_engine(f"sqlite:///{server.database}")
    try:
        with engine.connect() as conn:
            frame, _ = stored_profile_frame(conn)
    finally:
        engine.dispose()
    parsed = Rule.model_validate(rule)
    return sum(matches(parsed, r) for r in frame.to_dict("records")), len(frame)


def condition(page: Page, n: int, trait: str, op: str, value: str) -> None:
    item = page.locator("#audience-conditions > li").nth(n)
    item.get_by_label("Trait").select_option(trait)
    item.get_by_label("Operator").select_option(op)
    item.get_by_label("Value").fill(value)


def test_build_an_audience_and_see_its_count(page: Page, hub_server: HubServer) -> None:
    login(page, "vera")  # a viewer may explore audiences
    page.goto("/insights")
    builder = page.locator("#audience-builder")
    expect(builder.get_by_role("heading", level=2)).to_have_text("Audience builder")
    count = page.locator("#audience-count")

    builder.get_by_role("button", name="Add a condition").click()
    condition(page, 0, "churn_risk", "gte", "0.3")
    first = {"all": [{"trait": "churn_risk", "gte": 0.3}]}
    n, total = reference_count(hub_server, first)
    expect(count).to_have_text(re.compile(rf"^{n} of {total} customers \("))
    expect(page.locator("#audience-rule")).to_have_text(
        "rule: " + json.dumps(first, separators=(",", ":"))
    )

    builder.get_by_role("button", name="Add a condition").click()
    condition(page, 1, "stage", "in", "new, repeat")
    page.locator("#audience-combine").select_option("any")
    second = {
        "any": [{"trait": "churn_risk", "gte": 0.3}, {"trait": "stage", "in": ["new", "repeat"]}]
    }
    n2, _ = reference_count(hub_server, second)
    expect(count).to_have_text(re.compile(rf"^{n2} of {total} customers \("))

    condition(page, 1, "clv_12m", "between", "5")  # one bound only: the page says so
    expect(count).to_contain_text("Not a valid rule: rule.any.1.between")
    page.locator("#audience-conditions > li").nth(1).get_by_role("button", name="Remove").click()
    expect(count).to_have_text(re.compile(rf"^{n} of {total} customers \("))
