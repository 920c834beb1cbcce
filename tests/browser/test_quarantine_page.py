"""The quarantine page: each row's raw text and reason, filtered by source, stage and text."""

from __future__ import annotations

import re
import sqlite3

from playwright.sync_api import Page, expect

from tests.browser.helpers import HubServer, login


def test_a_quarantined_rows_raw_text_and_reason_are_visible_and_filterable(
    page: Page, hub: HubServer
) -> None:
    with sqlite3.connect(hub.database) as db:
        rows = db.execute(
            "SELECT id, source, stage, reason, raw FROM quarantine WHERE resolved_at IS NULL"
            " ORDER BY id DESC"
        ).fetchall()
    assert rows, "the demo quarantines some rows"
    qid, source, stage, reason, raw = rows[0]
    login(page, "vera")
    page.get_by_role("link", name="Quarantine", exact=True).click()
    page.wait_for_url(re.compile(r"/quarantine$"))
    row = page.locator(f"#q-{qid}")
    expect(row.locator("td.reason")).to_have_text(reason)
    expect(row.locator("pre.raw")).to_have_text(raw)
    expect(page.locator("table.quarantine tbody tr")).to_have_count(len(rows))

    words = reason.split()[0]
    page.get_by_label("Source").select_option(source)
    page.get_by_label("Stage").select_option(stage)
    page.get_by_label("Reason or raw text contains").fill(words)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"/quarantine\?source="))
    expected = [
        r
        for r in rows
        if r[1] == source
        and r[2] == stage
        and (words.casefold() in r[3].casefold() or words.casefold() in r[4].casefold())
    ]
    expect(page.locator("table.quarantine tbody tr")).to_have_count(len(expected))
    expect(page.locator(f"#q-{qid} td.reason")).to_have_text(reason)

    page.get_by_label("Reason or raw text contains").fill("no row says this")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("p.empty")).to_contain_text("No quarantined row matches these filters")


def test_an_empty_quarantine_says_none_yet(page: Page, hub: HubServer) -> None:
    with sqlite3.connect(hub.database) as db:
        db.execute("UPDATE quarantine SET resolved_at = '2026-03-01 00:00:00'")
    login(page, "vera")
    page.goto("/quarantine")
    expect(page.locator("p.empty")).to_contain_text("None yet")
    page.goto("/")
    expect(page.locator("#fig-quarantine strong")).to_have_text("0")
