"""Customer intelligence in the browser: the profile card and the Insights page.

The demo hub is analysed when it is built (`build_demo_hub` runs `crmhub analyse`), so these
read what a colleague sees after the nightly pipeline.
"""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import Page, expect

from tests.browser.helpers import login

STAGES = re.compile(r"^(prospect|new|repeat|expanding|at risk|lapsed)$")


def test_the_customer_page_opens_with_the_profile_card(page: Page) -> None:
    login(page, "vera")  # a viewer reads it
    page.goto("/customers?q=Anna+Kovacs")
    page.locator("a.hit", has_text="Anna Kovács").click()
    card = page.locator("section#profile")
    expect(card).to_be_visible()
    expect(card.get_by_role("heading", level=2)).to_contain_text("Profile")
    expect(card.locator("dd.stage")).to_have_text(STAGES)
    expect(card.locator("dd.clv")).to_have_text(re.compile(r"^\d[\d,]*\.\d\d$"))
    expect(card.locator(".risk strong")).to_have_text(re.compile(r"^Churn risk \d{1,3}%$"))
    expect(card.locator(".reasons li").first).not_to_be_empty()  # every risk says why
    # The card comes before the golden record: the first thing a colleague reads.
    headings = page.get_by_role("heading", level=2).all_inner_texts()
    assert headings.index(next(h for h in headings if h.startswith("Profile"))) < headings.index(
        "Golden record"
    )


def test_insights_shows_segment_value_and_the_charts(page: Page) -> None:
    login(page, "vera")
    page.get_by_role("link", name="Insights").click()
    page.wait_for_url("**/insights")
    expect(page.get_by_role("heading", level=1)).to_have_text("Insights")
    expect(page.locator("#run-line")).to_contain_text("customers")
    for name in (
        "Segment value",
        "Lifecycle",
        "Churn risk",
        "Value deciles",
        "Profit concentration",
    ):
        expect(page.get_by_role("heading", level=2, name=name)).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(5)
    expect(page.get_by_role("img", name=re.compile("Lifecycle funnel"))).to_be_visible()
    rows = page.locator("table.segments tbody tr")
    expect(rows.first).to_be_visible()
    shares = [
        float(t.rstrip("%"))
        for t in page.locator("table.segments tbody td:nth-child(3)").all_inner_texts()
    ]
    assert abs(sum(shares) - 100.0) < 0.5  # a segmentation covers every customer once


def test_another_segmentation_and_a_segment_export(page: Page) -> None:
    login(page, "vera")
    page.goto("/insights")
    page.get_by_label("Segmentation").select_option("stage")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/insights?segmentation=stage")
    first = page.locator("table.segments tbody tr").first
    segment = first.locator("th").inner_text().split(" loses money")[0].strip()
    href = first.get_by_role("link", name="CSV").get_attribute("href")
    assert href is not None
    response = page.request.get(href)
    assert response.ok, response.status
    rows = list(csv.DictReader(io.StringIO(response.text())))
    assert rows and "golden_id" in rows[0]
    assert all(r["stage"].replace("_", " ") == segment for r in rows)
