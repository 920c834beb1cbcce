"""Signing in, and what each role may see and do."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.helpers import PASSWORD, login


def test_wrong_password_shows_an_error_and_the_right_one_lands_on_the_queue(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill("sam")
    page.get_by_label("Password").fill("not-the-password")
    with page.expect_response(
        lambda r: r.url.endswith("/login") and r.request.method == "POST"
    ) as sent:
        page.get_by_role("button", name="Sign in").click()
    assert sent.value.status == 401
    expect(page.locator("p.error")).to_have_text("Wrong user name or password.")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("header .whoami")).to_have_count(0)

    page.get_by_label("User name").fill("sam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))  # the home page: the hub at a glance
    expect(page.get_by_role("heading", level=1)).to_have_text("The hub today")
    expect(page.locator("header .whoami")).to_contain_text("sam (steward)")
    page.locator("#fig-review").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Review queue")
    # the demo's three uncertain pairs are one candidate against one golden record: one group
    expect(page.locator("a.item-link")).to_have_count(1)


def test_a_page_asked_for_before_signing_in_opens_after_signing_in(page: Page) -> None:
    page.goto("/customers?q=Anna")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.get_by_label("User name").fill("vera")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/customers$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Customers")


def test_signing_out_ends_the_session(page: Page) -> None:
    login(page, "sam")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto("/review")
    page.wait_for_url(re.compile(r"/login\?next=/review$"))


def test_a_viewer_sees_no_decision_buttons_and_a_post_is_forbidden(page: Page) -> None:
    login(page, "vera")
    expect(page).to_have_url(re.compile(r"/$"))  # everyone's home is the dashboard
    page.goto("/review")
    page.locator("a.item-link").first.click()
    page.wait_for_url(re.compile(r"/review/\d+"))
    item = re.search(r"/review/(\d+)", page.url).group(1)  # type: ignore[union-attr]
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Review item {item}")
    expect(page.locator("button[id^=decide-]")).to_have_count(0)
    page.keyboard.press("m")  # the shortcut has no button to press
    expect(page).to_have_url(re.compile(rf"/review/{item}(\?|$)"))

    # Even with the session's own CSRF token, the server refuses the decision: 403.
    status, body = page.evaluate(
        """async (item) => {
            const token = document.querySelector("form.whoami input[name=csrf_token]").value;
            const response = await fetch(`/review/${item}/decision`, {
                method: "POST",
                body: new URLSearchParams({csrf_token: token, decision: "match"}),
            });
            return [response.status, await response.text()];
        }""",
        item,
    )
    assert status == 403
    assert "this needs the steward role; vera is viewer" in body
    page.goto("/review")
    expect(page.locator("a.item-link", has_text=re.compile(rf"^{item}$"))).to_have_count(1)

    # The customer page offers her no edits either.
    page.goto("/customers?q=Anna+Kovacs")
    page.locator("a.hit").first.click()
    page.wait_for_url(re.compile(r"/customers/G"))
    expect(page.locator("table.golden")).to_be_visible()
    expect(page.get_by_role("button", name="Set")).to_have_count(0)
    expect(page.locator("#merge, #unmerge, input[name=member]")).to_have_count(0)
