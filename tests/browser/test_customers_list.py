"""The customers list: browsable without a query (paged, sorted, filtered) and search with
its total, pages and the match on the review queue's percent scale."""

from __future__ import annotations

import re
import sqlite3

from playwright.sync_api import Page, expect

from tests.browser.helpers import HubServer, login


def _ids(page: Page) -> list[str]:
    links = page.locator("table.customers a.hit")
    return [str(a.get_attribute("href")).rsplit("/", 1)[-1] for a in links.all()]


def test_the_list_pages_sorts_and_filters_without_a_query(page: Page, hub: HubServer) -> None:
    with sqlite3.connect(hub.database) as db:
        total = db.execute(
            "SELECT count(*) FROM golden_records WHERE status = 'active'"
        ).fetchone()[0]
        web = db.execute(
            "SELECT count(DISTINCT x.golden_id) FROM crosswalk x JOIN golden_records g"
            " ON g.golden_id = x.golden_id WHERE x.source = 'web' AND g.status = 'active'"
        ).fetchone()[0]
    login(page, "vera")
    page.get_by_role("link", name="Customers").click()
    expect(page.locator("#total")).to_have_text(f"{total:,} golden records")
    first = _ids(page)
    assert len(first) == min(total, 20)

    page.goto("/customers?size=5")
    pages = -(-total // 5)
    seen = _ids(page)
    for number in range(2, pages + 1):
        page.get_by_role("link", name="next").click()
        expect(page.locator(".pager")).to_contain_text(f"page {number} of {pages}")
        seen += _ids(page)
    assert sorted(seen) == sorted(first) and len(set(seen)) == total

    page.get_by_role("link", name="City").click()
    cities = page.locator("table.customers td.city").all_inner_texts()
    present = [c for c in cities if c]
    assert present == sorted(present, key=str.casefold)
    page.get_by_role("link", name="City ▲").click()  # again: the other way round
    cities = [c for c in page.locator("table.customers td.city").all_inner_texts() if c]
    assert cities == sorted(cities, key=str.casefold, reverse=True)
    page.get_by_role("link", name="Sources").click()
    counts = [int(n) for n in page.locator("table.customers td.sources").all_inner_texts()]
    assert counts == sorted(counts)

    page.get_by_label("Source", exact=True).select_option("web")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#total")).to_have_text(f"{web:,} golden records")
    page.get_by_label("Kind", exact=True).select_option("organization")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("p.empty")).to_contain_text("No golden record matches these filters")


def test_search_shows_the_total_page_two_and_the_match_in_percent(page: Page) -> None:
    login(page, "vera")
    page.goto("/customers?size=1")
    page.get_by_label("Name, e-mail, phone or source id").fill("cohen")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#total")).to_have_text("3 match")
    first_href = page.locator("table.hits a.hit").get_attribute("href")
    score = page.locator("table.hits td.score")
    expect(score).to_have_text(re.compile(r"^\d{1,3} % name match$"))
    assert "similarity" in (score.get_attribute("title") or "")
    expect(page.locator("#score-legend")).to_contain_text("100 % is identical")
    page.get_by_role("link", name="next").click()
    expect(page.locator(".pager")).to_contain_text("page 2 of 3")
    assert page.locator("table.hits a.hit").get_attribute("href") != first_href
    expect(page.locator("table.hits tbody tr")).to_have_count(1)
