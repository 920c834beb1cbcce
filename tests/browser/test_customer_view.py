"""Finding a customer and reading the single customer view."""

from __future__ import annotations

import re
from urllib.parse import quote

from playwright.sync_api import Page, expect

from tests.browser.helpers import login, source_records


def _search(page: Page, query: str) -> None:
    page.goto("/customers")
    page.get_by_label("Name, e-mail, phone or source id").fill(query)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(f"**/customers?q={quote(query, safe='').replace('%20', '+')}")


def test_a_misspelled_name_without_accents_finds_the_customer(page: Page) -> None:
    login(page, "vera")
    _search(page, "Ana Kovacz")
    hit = page.locator("a.hit", has_text="Anna Kovács")
    expect(hit).to_have_count(1)
    hit.click()
    page.wait_for_url(re.compile(r"/customers/G[0-9a-f]{16}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Anna Kovács")
    expect(page.locator("#field-city td.value")).to_have_text("Budapest")


def test_a_phone_number_in_another_format_finds_the_customer(page: Page) -> None:
    login(page, "vera")
    for typed in ("06 30 123 4567", "0036-30-123-4567"):  # stored as +36 30 123 4567
        _search(page, typed)
        hits = page.locator("a.hit")
        expect(hits).to_have_count(1)
        expect(hits).to_have_text("Anna Kovács")
        expect(page.locator("table.hits tbody tr")).to_contain_text("phone: +36301234567")


def test_a_search_that_matches_nothing_says_so(page: Page) -> None:
    login(page, "vera")
    _search(page, "Zebulon Quackenbush")
    expect(page.locator("a.hit")).to_have_count(0)
    expect(page.locator("p.empty")).to_contain_text("No customer matches")


def test_a_source_id_written_as_the_search_box_suggests_finds_the_customer(page: Page) -> None:
    # The search box's placeholder offers "erp/1042" as an example query.
    login(page, "vera")
    page.goto("/customers")
    expect(page.get_by_label("Name, e-mail, phone or source id")).to_have_attribute(
        "placeholder", re.compile(r"erp/\d+")
    )
    _search(page, "1001")  # the bare id works
    expect(page.locator("a.hit")).to_have_text(["Anna Kovács"])
    _search(page, "erp/1001")  # the form the placeholder shows; the page has loaded
    expect(page.locator("a.hit")).to_have_text(["Anna Kovács"], timeout=2_000)


def test_the_timeline_lists_orders_and_tickets_newest_first(page: Page) -> None:
    login(page, "vera")
    _search(page, "Anna Kovács")
    page.locator("a.hit").first.click()
    page.wait_for_url(re.compile(r"/customers/G[0-9a-f]{16}$"))
    assert {"erp/1001", "support/S1"} <= source_records(page)

    entries = page.locator("ol.timeline > li")
    expect(entries.first).to_be_visible()
    total = int(
        re.search(r"(\d+) interaction", page.locator("#timeline-h").inner_text()).group(1)  # type: ignore[union-attr]
    )
    expect(entries).to_have_count(total)
    expect(page.locator("ol.timeline")).to_contain_text("order")
    expect(page.locator("ol.timeline")).to_contain_text("ticket")  # from support/S1
    times = [t.get_attribute("datetime") or "" for t in page.locator("ol.timeline time").all()]
    assert all(times), times
    assert times == sorted(times, reverse=True), times
