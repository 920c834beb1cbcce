"""What the browser tests share: the users, signing in, finding a customer, reading a page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Page, expect

from tests.hub.helpers import PASSWORD, USERS, copy_database

__all__ = [
    "PASSWORD",
    "USERS",
    "HubServer",
    "login",
    "open_customer",
    "source_records",
]


@dataclass(frozen=True)
class HubServer:
    """A running `crmhub serve`: its address, its hub directory and its SQLite file."""

    url: str
    directory: Path
    database: Path
    snapshot: Path

    def reset(self) -> None:
        """Put the demo data back as it was before the first test."""
        copy_database(self.snapshot, self.database)


def login(page: Page, username: str, password: str = PASSWORD) -> Page:
    """Sign in through the form and wait until the app has taken us past /login."""
    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("header .whoami")).to_contain_text(f"{username} ({USERS[username]})")
    return page


def open_customer(page: Page, query: str, name: str) -> str:
    """Search, open the hit called `name`, and return its golden id."""
    page.goto(f"/customers?q={quote(query)}")
    page.locator("a.hit", has_text=re.compile(rf"^{re.escape(name)}$")).first.click()
    page.wait_for_url(re.compile(r"/customers/G[0-9a-f]{16}$"))
    return page.url.rsplit("/", 1)[-1]


def source_records(page: Page) -> set[str]:
    """The source records listed on a customer page, as "system/id"."""
    rows = page.locator("table.sources tbody tr")
    expect(rows.first).to_be_visible()
    return {
        f"{row.locator('.badge').inner_text()}/{row.locator('.source-id').inner_text()}"
        for row in rows.all()
    }
