"""Deciding review pairs from the keyboard."""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from tests.browser.helpers import login, source_records


@dataclass(frozen=True)
class Pair:
    item: str
    left: str  # "system/id"
    right: str
    left_golden: str
    right_golden: str


def _open_first_pair(page: Page) -> Pair:
    """Open the first group of the open queue (a candidate against one golden record); read
    the candidate's first record, one member of the golden record and both golden ids."""
    page.goto("/review")
    row = page.locator("table.queue tbody tr").first
    cells = row.locator("td")
    item = cells.nth(0).inner_text().strip()
    left = "/".join(cells.nth(1).inner_text().split(",")[0].split(maxsplit=1))
    members = cells.nth(2).locator("small").inner_text()  # "(3 records: erp/1001, ...)"
    right = members.split(": ", 1)[1].rstrip(")").split(", ")[0].strip()
    row.locator("a.item-link").click()
    page.wait_for_url(re.compile(rf"/review/{item}\?"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Review item {item}")
    left_golden = page.locator("table.pair thead th.candidate small a").first.inner_text()
    right_golden = page.locator("p.question a.golden-link").inner_text()
    return Pair(item, left, right, left_golden, right_golden)


def _open_items(page: Page, status: str = "open") -> set[str]:
    page.goto(f"/review?status={status}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Review queue")
    return {link.inner_text().strip() for link in page.locator("a.item-link").all()}


def test_pressing_m_matches_the_pair_and_joins_the_two_golden_records(page: Page) -> None:
    login(page, "sam")
    pair = _open_first_pair(page)
    assert pair.left_golden != pair.right_golden

    page.keyboard.press("m")
    expect(page.locator("p.flash")).to_have_text(re.compile(rf"^review item {pair.item}: match \("))
    assert pair.item not in _open_items(page)

    # One customer now: both golden ids lead to the same page, which lists both records.
    page.goto(f"/customers/{pair.left_golden}")
    page.wait_for_url(re.compile(r"/customers/G[0-9a-f]{16}"))
    survivor = page.url.split("?")[0]
    assert {pair.left, pair.right} <= source_records(page)
    page.goto(f"/customers/{pair.right_golden}")
    page.wait_for_url(re.compile(r"/customers/G[0-9a-f]{16}"))
    assert page.url.split("?")[0] == survivor
    assert {pair.left, pair.right} <= source_records(page)


def test_pressing_n_records_not_a_match_and_keeps_the_customers_apart(page: Page) -> None:
    login(page, "sam")
    pair = _open_first_pair(page)

    page.keyboard.press("n")
    expect(page.locator("p.flash")).to_have_text(
        re.compile(rf"^review item {pair.item}: not a match \(")
    )
    # The next open item (or the emptied queue) is shown, not the decided one.
    expect(page).not_to_have_url(re.compile(rf"/review/{pair.item}\?"))
    assert pair.item not in _open_items(page)
    assert pair.item not in _open_items(page, "unsure")

    page.goto(f"/customers/{pair.left_golden}")
    expect(page).to_have_url(re.compile(rf"/customers/{pair.left_golden}$"))
    records = source_records(page)
    assert pair.left in records
    assert pair.right not in records
    page.goto(f"/customers/{pair.right_golden}")
    expect(page).to_have_url(re.compile(rf"/customers/{pair.right_golden}$"))
    assert pair.right in source_records(page)


def test_pressing_u_moves_the_pair_to_the_unsure_list(page: Page) -> None:
    login(page, "sam")
    pair = _open_first_pair(page)

    page.keyboard.press("u")
    expect(page.locator("p.flash")).to_have_text(
        re.compile(rf"^review item {pair.item}: unsure \(")
    )
    assert pair.item not in _open_items(page)
    assert pair.item in _open_items(page, "unsure")
