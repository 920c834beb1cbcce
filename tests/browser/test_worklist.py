"""Logging a call with a call-back on the customer page, finding it in tomorrow's worklist,
marking it done and reading the outcome on the customer's timeline — in Chromium."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import Page, expect

from hub.steward.worklist import hub_today
from tests.browser.helpers import login, open_customer

TOPIC = "Wants a quote for solar panels"
OUTCOME = "Reached, sent the quote"


def test_log_a_call_back_find_it_tomorrow_mark_it_done_see_it_on_the_timeline(
    page: Page,
) -> None:
    tomorrow = (hub_today() + dt.timedelta(days=1)).isoformat()
    login(page, "sam")
    anna = open_customer(page, "Anna Kovács", "Anna Kovács")

    form = page.locator("#log-contact")
    expect(form.get_by_label("Call-back owner")).to_have_value("sam")
    form.get_by_label("Kind", exact=True).select_option("call")
    form.get_by_label("Topic").fill(TOPIC)
    form.get_by_label("Outcome").fill("asked to be called back")
    form.get_by_label("Call back on").fill(tomorrow)
    form.get_by_role("button", name="Log contact").click()

    expect(page.locator("p.flash")).to_contain_text(f"logged a call with {anna}: {TOPIC}")
    expect(page.locator("p.flash")).to_contain_text(f"call back on {tomorrow} by sam")
    logged = page.locator("ol.timeline li").first
    expect(logged).to_contain_text(TOPIC)
    expect(logged).to_contain_text("(asked to be called back)")
    expect(logged.locator(".badge")).to_have_text("hub")
    expect(page.locator("ul.call-backs li")).to_have_count(1)
    expect(page.locator("ul.call-backs li")).to_contain_text(f"{tomorrow} Call back: {TOPIC} · sam")

    page.locator("header nav").get_by_role("link", name="Worklist").click()
    expect(page.locator("main")).to_contain_text("Days are in UTC")
    page.locator("#due-tomorrow").click()
    page.wait_for_url(re.compile(r"/worklist\?.*due=tomorrow"))
    row = page.locator("tr.item", has_text=TOPIC)
    expect(row).to_have_count(1)
    expect(row.locator("td.due")).to_have_text(tomorrow)
    expect(row.get_by_role("link", name="Anna Kovács")).to_have_attribute(
        "href", f"/customers/{anna}"
    )
    expect(row.locator("td.owner")).to_have_text("sam")

    row.get_by_label(re.compile(r"^Outcome of item \d+$")).fill(OUTCOME)
    row.get_by_role("button", name="Done").click()
    expect(page.locator("p.flash")).to_contain_text(f"done: {OUTCOME}")
    expect(page.locator("tr.item", has_text=TOPIC)).to_have_count(0)

    page.goto(f"/customers/{anna}")
    newest = page.locator("ol.timeline li").first
    expect(newest).to_contain_text(f"Call-back: {TOPIC}")
    expect(newest).to_contain_text(f"({OUTCOME})")
    expect(newest.locator(".badge")).to_have_text("hub")
    expect(page.locator("ul.call-backs")).to_have_count(0)  # nothing open any more


def test_a_past_call_back_day_is_refused_naming_the_field(page: Page) -> None:
    login(page, "sam")
    open_customer(page, "Anna Kovács", "Anna Kovács")
    form = page.locator("#log-contact")
    form.get_by_label("Topic").fill("Too late")
    call_back = form.get_by_label("Call back on")
    call_back.evaluate("input => input.removeAttribute('min')")  # what an old tab would send
    call_back.fill("2020-01-01")
    form.get_by_role("button", name="Log contact").click()
    expect(page.locator("main")).to_contain_text("call_back_on: 2020-01-01 is in the past")
