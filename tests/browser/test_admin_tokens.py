"""Token admin on the users page: an admin creates (the secret shown once), sees and revokes
an API token; stewards and viewers have no users page. Audit: a failed sign-in is shown as
an attempt for the typed text, and details read as key: value pairs."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.helpers import HubServer, login


def test_an_admin_creates_sees_and_revokes_a_token(page: Page) -> None:
    login(page, "alice")
    page.get_by_role("link", name="Users").click()
    section = page.locator("#tokens-sam")
    expect(section.locator("p.empty")).to_have_text("No tokens yet.")
    section.get_by_label("Token name for sam").fill("nightly export")
    section.get_by_label("Expires in days for sam").fill("30")
    section.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token-secret").inner_text()
    assert re.fullmatch(r"chub_[A-Za-z0-9_-]{40,}", secret)
    me = page.request.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["username"] == "sam"

    page.goto("/users")  # the secret is not shown again
    expect(page.locator("#new-token-secret")).to_have_count(0)
    row = page.locator("#tokens-sam table.tokens tbody tr", has_text="nightly export")
    expect(row.locator("td.state")).to_have_text("active")
    expect(row.locator("td").nth(2)).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d"))
    row.get_by_role("button", name="Revoke token nightly export of sam").click()
    expect(page.locator("p.flash")).to_have_text("token 'nightly export' of sam revoked")
    expect(row.locator("td.state")).to_contain_text("revoked")
    again = page.request.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert again.status == 401

    page.goto("/audit?action=token.")
    expect(page.locator("table.audit tbody tr")).to_have_count(2)
    expect(page.locator("table.audit")).to_contain_text("alice")
    expect(page.locator("table.audit")).to_contain_text("nightly export")


def test_stewards_and_viewers_cannot_manage_tokens(
    page: Page, browser: Browser, hub: HubServer
) -> None:
    for name in ("sam", "vera"):
        context = browser.new_context(base_url=hub.url)
        try:
            tab = login(context.new_page(), name)
            expect(tab.locator("header nav")).not_to_contain_text("Users")
            response = tab.goto("/users")
            assert response is not None and response.status == 403
            tab.goto("/")  # a page with the session's CSRF token: a forged form post
            post = tab.evaluate(
                """async () => {
                    const field = "form.whoami input[name=csrf_token]";
                    const token = document.querySelector(field).value;
                    const body = new URLSearchParams({name: "mine", csrf_token: token});
                    const r = await fetch("/users/alice/tokens", {method: "POST", body});
                    return r.status;
                }"""
            )
            assert post == 403, name
        finally:
            context.close()
    login(page, "alice")
    page.goto("/users")
    expect(page.locator("#tokens-alice p.empty")).to_have_text("No tokens yet.")


def test_a_failed_sign_in_shows_as_an_attempt_for_the_typed_text(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill("mallory")
    page.get_by_label("Password").fill("guess")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("p.error")).to_have_text("Wrong user name or password.")
    login(page, "alice")
    page.goto("/audit?action=session.login_failed")
    row = page.locator("table.audit tbody tr").first
    expect(row.locator("td.who")).to_have_text("attempt for 'mallory'")
    expect(row.locator("td.detail")).to_contain_text("client")
    expect(row.locator("td.detail")).not_to_contain_text("{")
    page.goto("/audit?actor=nobody-at-all")
    expect(page.locator("p.empty")).to_contain_text("No audit entries match these filters")
