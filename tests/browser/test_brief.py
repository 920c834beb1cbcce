"""The field-service brief in Chromium: print it (print media: the sections, no navigation
and no forms, a PDF), record a visit from it and read it on the customer's timeline; and a
worklist item's brief whose visit settles the item."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import Page, expect

from hub.steward.worklist import hub_today
from tests.browser.helpers import login, open_customer

SECTIONS = ("Risk and value", "Contact and address", "Equipment and contracts", "Open tickets",
            "Last contacts and notes", "After the visit")  # fmt: skip


def test_print_the_brief_then_record_a_visit_and_see_it_on_the_timeline(page: Page) -> None:
    login(page, "sam")
    istvan = open_customer(page, "István Nagy", "István Nagy")
    page.get_by_role("link", name="Field-service brief").click()
    page.wait_for_url(f"**/customers/{istvan}/brief")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Field-service brief: István Nagy")
    for title in SECTIONS:
        expect(page.get_by_role("heading", name=re.compile(rf"^{title}"))).to_be_visible()
    expect(page.locator("#brief-contact")).to_contain_text("+36 20 555 1212")
    expect(page.locator("#brief-contact")).to_contain_text("Debrecen")
    expect(page.locator(".risk-line")).to_contain_text(re.compile(r"^Churn risk (\d+ %|unknown)"))
    expect(page.locator("#visit-form")).to_be_visible()

    page.emulate_media(media="print")
    for title in SECTIONS:
        expect(page.get_by_role("heading", name=re.compile(rf"^{title}"))).to_be_visible()
    expect(page.locator("header")).to_be_hidden()
    expect(page.locator("#visit-form")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.locator(".write-in")).to_be_visible()  # pen and paper on site
    expect(page.locator(".write-in")).to_contain_text("Found:")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000

    page.emulate_media(media="screen")
    expect(page.locator(".write-in")).to_be_hidden()
    form = page.locator("#visit-form")
    form.get_by_label("What was found").fill("Pump bearing worn")
    form.get_by_label("What was done").fill("Replaced the bearing, ran a pressure test")
    form.get_by_label("Outcome").fill("fixed")
    form.get_by_role("button", name="Record the visit").click()
    expect(page.locator("p.flash")).to_contain_text(
        f"logged a visit with {istvan}: Pump bearing worn"
    )
    latest = page.locator("#brief-contacts li").first
    expect(latest).to_contain_text("visit Pump bearing worn (fixed) — sam")
    expect(latest.locator("blockquote.note")).to_have_text(
        "Replaced the bearing, ran a pressure test"
    )

    page.goto(f"/customers/{istvan}")
    newest = page.locator("ol.timeline li").first
    expect(newest).to_contain_text("visit")
    expect(newest).to_contain_text("Pump bearing worn")
    expect(newest).to_contain_text("(fixed)")
    expect(newest.locator(".badge")).to_have_text("hub")


def test_a_worklist_items_brief_records_the_visit_and_settles_the_item(page: Page) -> None:
    tomorrow = (hub_today() + dt.timedelta(days=1)).isoformat()
    login(page, "sam")
    open_customer(page, "László Szabó", "László Szabó")
    form = page.locator("#log-contact")
    form.get_by_label("Topic").fill("Heating fails at night")
    form.get_by_label("Call back on").fill(tomorrow)
    form.get_by_role("button", name="Log contact").click()
    expect(page.locator("p.flash")).to_contain_text("call back on")

    page.goto("/worklist?owner=sam&kind=call_back")
    row = page.locator("tr.item", has_text="Heating fails at night")
    expect(row.locator(".badge.kind")).to_have_text("call back")
    row.get_by_role("link", name="brief").click()
    page.wait_for_url(re.compile(r"/worklist/\d+/brief$"))
    expect(page.locator("#brief-item")).to_contain_text("Heating fails at night")
    visit = page.locator("#visit-form")
    expect(visit.get_by_label(re.compile(r"This visit settles item \d+"))).to_be_checked()
    visit.get_by_label("What was found").fill("Thermostat schedule wrong")
    visit.get_by_label("Outcome").fill("reset the schedule")
    visit.get_by_role("button", name="Record the visit").click()
    expect(page.locator("p.flash")).to_contain_text("done: reset the schedule")
    expect(page.locator("#brief-item")).to_contain_text("done: reset the schedule")

    page.goto("/worklist?owner=sam")
    expect(page.locator("tr.item", has_text="Heating fails at night")).to_have_count(0)
