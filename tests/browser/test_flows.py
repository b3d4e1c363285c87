"""End to end in headless Chromium: open the mailed link, use the page, check the result by API."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Live, Opener, screenshot
from tests.pages.flows import (
    NEW_PASSWORD,
    ORG_ROLES,
    domain_token,
    invite,
    log_in,
    me,
    reset_token,
    transfer_token,
    verify_token,
)
from tests.support.api import PASSWORD, add_member, create_org, ok, sign_up
from tests.support.mailbox import Mailbox


def link(live: Live, path: str, token: str) -> str:
    return f"{live.base_url}{path}?token={token}"


async def assert_styled(page: Page) -> None:
    """The stylesheet loaded under the page's CSP."""
    await expect(page.locator("header.masthead")).to_have_css("background-color", "rgb(8, 58, 102)")


async def mailed_link(mailbox: Mailbox, email: str, live: Live, path: str, token: str) -> str:
    """The link as mailed: it points at this server, since PUBLIC_URL is its address."""
    mail_texts = [m.text for m in mailbox.to(email)]
    expected = link(live, path, token)
    assert any(expected in text for text in mail_texts), mail_texts
    return expected


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
async def test_invited_person_signs_up_on_the_page_and_lands_in_the_organization(
    live: Live, open_page: Opener, mailbox: Mailbox, javascript: bool
):
    client = live.client
    org = await create_org(client, name="Acme Robotics")
    token = await invite(
        client, mailbox, org, "nora@example.com", role="ADMIN", message="Welcome aboard!"
    )
    url = await mailed_link(mailbox, "nora@example.com", live, "/invitations/accept", token)

    page = await open_page(url, javascript)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Join Acme Robotics on Roster")
    await expect(page.locator("dl.facts")).to_contain_text("Olive Owner")
    if javascript:
        await assert_styled(page)
        # keyboard users start at the first field of the first form
        await page.keyboard.press("Tab")
        await expect(page.get_by_label("Your name")).to_be_focused()
        await screenshot(page, "invitation-accept")

    signup = page.locator("form", has=page.get_by_role("heading", name="New to Roster?"))
    await signup.get_by_label("Your name").fill("Nora Newcomer")
    await signup.get_by_label("Choose a password").fill("1234567890")
    await signup.get_by_role("button", name="Sign up and join Acme Robotics").click()
    await expect(page.get_by_role("alert")).to_have_text("This password is too common.")
    await expect(signup.get_by_label("Choose a password")).to_have_attribute("aria-invalid", "true")
    if javascript:
        await screenshot(page, "invitation-accept-weak-password")
    signup = page.locator("form", has=page.get_by_role("heading", name="New to Roster?"))
    await expect(signup.get_by_label("Your name")).to_have_value("Nora Newcomer")
    await signup.get_by_label("Choose a password").fill(NEW_PASSWORD)
    await signup.get_by_role("button", name="Sign up and join Acme Robotics").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("You joined Acme Robotics")
    if javascript:
        await screenshot(page, "invitation-joined")
    session = await log_in(client, "nora@example.com", NEW_PASSWORD)
    viewer = await me(client, session)
    assert viewer["emailVerified"] is True
    assert viewer["memberships"] == [
        {
            "role": "ADMIN",
            "status": "ACTIVE",
            "organization": {"id": org.id, "name": "Acme Robotics"},
        }
    ]


async def test_existing_user_logs_in_and_accepts_without_javascript(
    live: Live, open_page: Opener, mailbox: Mailbox
):
    client = live.client
    org = await create_org(client, name="Acme")
    person = await sign_up(client, email="lou@example.com", name="Lou")
    token = await invite(client, mailbox, org, "lou@example.com")
    page = await open_page(link(live, "/invitations/accept", token), javascript=False)
    login = page.locator("form", has=page.get_by_role("heading", name="Already have an account?"))
    await expect(login.get_by_label("Email")).to_have_value("lou@example.com")
    await login.get_by_label("Password").fill(PASSWORD)
    await login.get_by_role("button", name="Log in and accept").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You joined Acme")
    assert [m["organization"]["name"] for m in (await me(client, person.token))["memberships"]] == [
        "Acme"
    ]


async def test_declining_in_the_browser(live: Live, open_page: Opener, mailbox: Mailbox):
    client = live.client
    org = await create_org(client, name="Acme")
    token = await invite(client, mailbox, org, "dan@example.com")
    page = await open_page(link(live, "/invitations/accept", token))
    await page.get_by_role("button", name="Decline the invitation").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Invitation declined")
    await page.goto(link(live, "/invitations/accept", token))
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "This invitation link is not valid"
    )
    await screenshot(page, "invitation-link-not-valid")


async def test_password_reset_from_the_mailed_link(live: Live, open_page: Opener, mailbox: Mailbox):
    client = live.client
    await sign_up(client, email="rae@example.com", name="Rae")
    token = await reset_token(client, mailbox, "rae@example.com")
    url = await mailed_link(mailbox, "rae@example.com", live, "/password/reset", token)
    page = await open_page(url)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    await assert_styled(page)
    await screenshot(page, "password-reset")

    await page.get_by_label("New password", exact=True).fill("rae@example.com")
    await page.get_by_label("Repeat the new password").fill("rae@example.com")
    await page.get_by_role("button", name="Set the new password").click()
    await expect(page.get_by_role("alert")).to_have_text("The password cannot be your email.")
    await screenshot(page, "password-reset-weak-password")

    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set the new password").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your password was changed")
    await screenshot(page, "password-reset-done")
    assert await log_in(client, "rae@example.com", NEW_PASSWORD)
    assert await log_in(client, "rae@example.com", PASSWORD) is None


async def test_owner_confirms_an_ownership_transfer(
    live: Live, open_page: Opener, mailbox: Mailbox
):
    client = live.client
    org = await create_org(client, name="Acme")
    target, target_id = await add_member(client, mailbox, org, role="ADMIN", name="Tess Target")
    token = await transfer_token(client, mailbox, org, target_id)
    url = await mailed_link(mailbox, org.owner.email, live, "/ownership/confirm", token)
    page = await open_page(url)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Transfer ownership of Acme")
    await expect(page.locator("dl.facts")).to_contain_text("Tess Target")
    await screenshot(page, "ownership-confirm")

    await page.get_by_label("Email").fill(org.owner.email)
    await page.get_by_label("Password").fill("not my password")
    await page.get_by_role("button", name="Log in and transfer ownership").click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    await expect(page.get_by_label("Email")).to_have_value(org.owner.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in and transfer ownership").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tess Target now owns Acme")
    await screenshot(page, "ownership-confirmed")

    data = await ok(client, ORG_ROLES, {"id": org.id}, target.token)
    assert data["organization"]["viewerRole"] == "OWNER"


async def test_email_and_domain_verification_need_the_button(
    live: Live, open_page: Opener, mailbox: Mailbox
):
    client = live.client
    person, token = await verify_token(client, mailbox, "vic@example.com")
    page = await open_page(link(live, "/email/verify", token))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Verify your email address")
    await screenshot(page, "email-verify")
    assert (await me(client, person.token))["emailVerified"] is False
    await page.get_by_role("button", name="Verify my email address").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your email address is verified"
    )
    await screenshot(page, "email-verified")
    assert (await me(client, person.token))["emailVerified"] is True

    org = await create_org(client, name="Acme")
    token = await domain_token(client, mailbox, org, "acme-labs.example", auto_join=True)
    page = await open_page(link(live, "/domains/verify", token))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Verify acme-labs.example")
    await screenshot(page, "domain-verify")
    await page.get_by_role("button", name="Verify acme-labs.example").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("acme-labs.example is verified")
    await screenshot(page, "domain-verified")
    data = await ok(client, ORG_ROLES, {"id": org.id}, org.owner.token)
    assert data["organization"]["domains"] == [{"domain": "acme-labs.example", "verified": True}]
