"""The home page: the hub's figures as the store counts them, each a link to act on it."""

from __future__ import annotations

import re
import sqlite3

from playwright.sync_api import Page, expect

from tests.browser.helpers import HubServer, login, open_customer


def _count(hub: HubServer, sql: str) -> int:
    with sqlite3.connect(hub.database) as db:
        return int(db.execute(sql).fetchone()[0])


def test_the_home_page_figures_equal_the_stores_counts(page: Page, hub: HubServer) -> None:
    golden = _count(hub, "SELECT count(*) FROM golden_records WHERE status = 'active'")
    review = _count(hub, "SELECT count(*) FROM match_candidates WHERE status IN ('open', 'unsure')")
    quarantined = _count(hub, "SELECT count(*) FROM quarantine WHERE resolved_at IS NULL")
    erp = _count(hub, "SELECT count(*) FROM raw_records WHERE source = 'erp' AND NOT deleted")
    login(page, "vera")
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("The hub today")
    expect(page.locator("#fig-golden strong")).to_have_text(f"{golden:,}")
    expect(page.locator("#fig-review strong")).to_have_text(f"{review:,}")
    expect(page.locator("#fig-quarantine strong")).to_have_text(f"{quarantined:,}")
    row = page.locator("#source-erp")
    expect(row.locator("td.records")).to_have_text(f"{erp:,}")
    expect(row.locator("td.sync")).to_contain_text("succeeded")
    expect(row.locator("td.push")).to_contain_text("succeeded")  # the demo pushes to the ERP
    # the demo's one resolve only created golden records: nothing merged yet, and it says so
    expect(page.locator("p.empty", has_text="No merges yet")).to_be_visible()

    row.locator("td.records a").click()
    page.wait_for_url(re.compile(r"/customers\?source=erp$"))
    expect(page.locator("#total")).to_contain_text("golden records")
    page.goto("/")
    page.locator("#fig-quarantine").click()
    page.wait_for_url(re.compile(r"/quarantine$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{quarantined:,} rows")


def test_a_stewards_merge_is_the_newest_recent_merge_on_the_home_page(page: Page) -> None:
    login(page, "sam")
    david = open_customer(page, "David Cohen", "David Cohen")
    open_customer(page, "Emily Johnson", "Emily Johnson")
    page.get_by_label("Merge with golden id").fill(david)
    page.locator("#merge").click()
    expect(page.locator("p.flash")).to_contain_text("merged G")
    summary = page.locator("p.flash").inner_text().split(" (action")[0]
    page.goto("/")
    newest = page.locator("table.merges tbody tr").first
    expect(newest).to_contain_text("sam")
    expect(newest).to_contain_text(summary)
    newest.locator("a").click()
    page.wait_for_url(re.compile(r"/customers/G[0-9a-f]{16}$"))


def test_money_is_shown_in_its_currencys_decimals(page: Page) -> None:
    login(page, "vera")
    open_customer(page, "Anna Kovács", "Anna Kovács")
    amounts = page.locator("ol.timeline .amount")
    expect(amounts.first).to_be_visible()
    texts = amounts.all_inner_texts()
    assert "€160.72" in texts, texts
    assert all(re.fullmatch(r"[€$£]?[0-9,]+\.[0-9]{2}( [A-Z]{3})?", t) for t in texts), texts
