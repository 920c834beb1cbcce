"""Keeping golden records right from the customer page: merge, unmerge, override, undo."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.helpers import login, open_customer, source_records

GOLDEN_URL = re.compile(r"/customers/(G[0-9a-f]{16})(\?|$)")


def _golden_id(page: Page) -> str:
    found = GOLDEN_URL.search(page.url)
    assert found, page.url
    return found.group(1)


def test_merging_two_customers_keeps_all_their_records_under_one_id(page: Page) -> None:
    login(page, "sam")
    david = open_customer(page, "David Cohen", "David Cohen")
    david_records = source_records(page)
    emily = open_customer(page, "Emily Johnson", "Emily Johnson")
    emily_records = source_records(page)
    assert david != emily

    page.get_by_label("Merge with golden id").fill(david)
    page.locator("#merge").click()
    expect(page.locator("p.flash")).to_have_text(re.compile(r"^merged G[0-9a-f]{16} into G"))
    survivor = _golden_id(page)
    assert survivor in (david, emily)
    assert source_records(page) == david_records | emily_records
    expect(page.locator("table.history")).to_contain_text("merged")

    absorbed = emily if survivor == david else david
    page.goto(f"/customers/{absorbed}")
    page.wait_for_url(GOLDEN_URL)
    assert _golden_id(page) == survivor
    expect(page.locator("p.flash")).to_have_text(f"{absorbed} was merged into this one")


def test_unmerging_a_ticked_record_moves_it_to_another_golden_record(page: Page) -> None:
    login(page, "sam")
    anna = open_customer(page, "Anna Kovács", "Anna Kovács")
    before = source_records(page)
    assert "support/S1" in before

    page.get_by_label("Move support S1 out").check()
    page.locator("#unmerge").click()
    expect(page.locator("p.flash")).to_have_text(
        re.compile(rf"^moved 1 record\(s\) from {anna} to G[0-9a-f]{{16}}$")
    )
    assert _golden_id(page) == anna
    assert source_records(page) == before - {"support/S1"}

    # The record is found by its source id in a golden record of its own.
    page.goto("/customers?q=S1")
    hits = page.locator("a.hit")
    expect(hits).to_have_count(1)
    hits.click()
    page.wait_for_url(GOLDEN_URL)
    assert _golden_id(page) != anna
    assert source_records(page) == {"support/S1"}


def test_overriding_a_field_shows_who_set_it_and_undo_restores_it(page: Page) -> None:
    login(page, "sam")
    open_customer(page, "Anna Kovács", "Anna Kovács")
    row = page.locator("#field-email")
    original = row.locator("td.value").inner_text()
    assert original
    expect(row.locator("td.provenance")).not_to_contain_text("manual")

    row.get_by_label("New email").fill("anna@example.org")
    row.get_by_role("button", name="Set").click()
    expect(page.locator("p.flash")).to_contain_text("set email of")
    expect(row.locator("td.value")).to_have_text("anna@example.org")
    expect(row.locator("td.provenance")).to_contain_text("manual, by sam, at ")

    change = page.locator("table.history tbody tr", has_text="set email of")
    expect(change).to_have_count(1)
    change.get_by_role("button", name="Undo").click()
    expect(page.locator("p.flash")).to_contain_text("undid action")
    expect(row.locator("td.value")).to_have_text(original)
    expect(row.locator("td.provenance")).not_to_contain_text("manual")
    expect(page.locator("table.history tbody tr", has_text="undid action")).to_have_count(1)
