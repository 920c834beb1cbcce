"""The audit log shows stewards' work to admins only; forms need their CSRF token."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.helpers import HubServer, login, open_customer


def test_the_audit_log_shows_a_stewards_decision_and_merge_to_an_admin(
    page: Page, browser: Browser, hub: HubServer
) -> None:
    # sam decides a pair and merges two customers in his own browser session ...
    steward = browser.new_context(base_url=hub.url)
    try:
        sam = login(steward.new_page(), "sam")
        sam.goto("/review")
        sam.locator("a.item-link").first.click()
        sam.wait_for_url(re.compile(r"/review/\d+"))
        item = re.search(r"/review/(\d+)", sam.url).group(1)  # type: ignore[union-attr]
        sam.keyboard.press("n")
        expect(sam.locator("p.flash")).to_contain_text(f"review item {item}: not a match")
        david = open_customer(sam, "David Cohen", "David Cohen")
        open_customer(sam, "Emily Johnson", "Emily Johnson")
        sam.get_by_label("Merge with golden id").fill(david)
        sam.locator("#merge").click()
        expect(sam.locator("p.flash")).to_contain_text("merged G")
        merge_summary = sam.locator("p.flash").inner_text()
    finally:
        steward.close()

    # ... and alice, an admin, reads both in the audit log.
    login(page, "alice")
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url(re.compile(r"/audit$"))
    rows = page.locator("table.audit tbody tr")
    decision = rows.filter(has_text="steward.decision")
    expect(decision).to_have_count(1)
    expect(decision).to_contain_text("sam")
    expect(decision).to_contain_text(f"review item {item}: not a match")
    merge = rows.filter(has_text="steward.merge")
    expect(merge).to_have_count(1)
    expect(merge).to_contain_text("sam")
    expect(merge).to_contain_text(merge_summary)

    page.get_by_label("Action starts with").fill("steward.merge")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"action=steward.merge"))
    expect(rows).to_have_count(1)

    export = page.request.get(page.locator("a", has_text="Export CSV").get_attribute("href") or "")
    assert export.status == 200
    assert "steward.merge" in export.text()
    assert "steward.decision" in export.text()


def test_a_steward_is_refused_the_audit_log(page: Page) -> None:
    login(page, "sam")
    expect(page.locator("header nav")).not_to_contain_text("Audit log")
    response = page.goto("/audit")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.locator("#error-message")).to_have_text("this needs the admin role; sam is steward")


def test_a_form_post_without_the_csrf_token_is_refused(page: Page) -> None:
    login(page, "sam")
    golden = open_customer(page, "Anna Kovács", "Anna Kovács")
    email = page.locator("#field-email td.value").inner_text()
    version = page.locator("#field-email input[name=version]").input_value()

    post = """async ([url, fields]) => {
        const response = await fetch(url, {method: "POST", body: new URLSearchParams(fields)});
        return [response.status, await response.text()];
    }"""
    url = f"/customers/{golden}/fields"
    change = {"field": "email", "value": "forged@example.org", "version": version}
    for fields in (change, {**change, "csrf_token": "not-the-token"}):
        status, body = page.evaluate(post, [url, fields])
        assert status == 403
        assert "missing or wrong CSRF token" in body
    page.reload()
    expect(page.locator("#field-email td.value")).to_have_text(email)

    # The same request with the page's token goes through: the token was what was missing.
    token = page.locator("form.whoami input[name=csrf_token]").input_value()
    status, _ = page.evaluate(post, [url, {**change, "csrf_token": token}])
    assert status == 200  # after the redirect back to the customer page
    page.reload()
    expect(page.locator("#field-email td.value")).to_have_text("forged@example.org")
