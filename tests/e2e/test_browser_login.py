"""A person's view: click "Log in with sgID", pick a MockPass persona, see their data, log out."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from infra.sandbox.stack import SANDBOX_PERSONA, Sandbox


def log_in(page: Page, sandbox: Sandbox) -> None:
    page.goto(sandbox.url)
    page.get_by_role("button", name="Log in with Singpass app (sgID)").click()
    page.wait_for_url(re.compile(re.escape(sandbox.mockpass_url) + r"/v2/oauth/authorize"))
    page.get_by_text("Login", exact=True).locator("visible=true").first.click()  # opens MockPass's login form
    page.locator("#id-input").fill(f"{SANDBOX_PERSONA} [MyInfo]")  # picking a persona submits it
    page.wait_for_url(sandbox.url + "/")


def test_a_person_logs_in_and_sees_their_data(page: Page, sandbox: Sandbox) -> None:
    log_in(page, sandbox)

    profile = page.locator("#profile")
    expect(profile).to_be_visible()
    expect(page.locator("#person")).to_contain_text("TAN HENG HUAT")
    expect(page.locator("#person")).to_contain_text("SINGAPORE 460102")
    expect(page.locator("#sub")).to_contain_text("u=")
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    session = cookies["__Host-sgw_session"]
    assert session["httpOnly"] is True
    assert session["secure"] is True
    assert session["sameSite"] == "Strict"  # set on a cross-site redirect (MockPass is 127.0.0.1), used same-site
    assert "__Host-sgw_login" not in cookies
    assert page.evaluate("document.cookie") == ""  # nothing readable by page scripts


def test_logout_returns_to_the_provider_buttons_and_ends_the_session(page: Page, sandbox: Sandbox) -> None:
    log_in(page, sandbox)
    expect(page.locator("#profile")).to_be_visible()

    page.locator("#logout").click()

    expect(page.get_by_role("button", name="Log in with Singpass app (sgID)")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Log in with Singpass app (sgID)")).to_be_visible()
    expect(page.locator("#profile")).to_be_hidden()


def test_a_failed_login_shows_a_clear_message(page: Page, sandbox: Sandbox) -> None:
    page.goto(sandbox.url + "/auth/sgid/callback?state=forged&code=forged")

    alert = page.locator("#error")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("invalid_state")
    assert "error=" not in page.url  # the page cleaned its address bar


def test_a_person_logs_in_with_a_standard_oidc_provider(page: Page, sandbox: Sandbox) -> None:
    page.goto(sandbox.url)
    page.get_by_role("button", name="Log in with OIDC").click()
    page.wait_for_url(re.compile(re.escape(sandbox.oidc_url) + r"/interaction/"))
    page.locator("input[name=login]").fill("alice")  # oidc-provider's own sign-in form
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    page.wait_for_url(sandbox.url + "/")

    expect(page.locator("#sub")).to_contain_text("alice")
    expect(page.locator("#person")).to_contain_text("TAN HENG HUAT")
    expect(page.locator("#provider")).to_contain_text("OIDC")


def test_a_person_logs_in_with_singpass_fapi(page: Page, sandbox: Sandbox) -> None:
    page.goto(sandbox.url)
    page.get_by_role("button", name="Log in with Singpass", exact=True).click()
    page.wait_for_url(re.compile(re.escape(sandbox.fapi_url) + r"/interaction/"))
    page.locator("input[name=login]").fill(SANDBOX_PERSONA)  # the persona's NRIC
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    page.wait_for_url(sandbox.url + "/")

    person = page.locator("#person")
    expect(person).to_contain_text("TAN HENG HUAT")
    expect(person).to_contain_text("BEDOK NORTH AVENUE 4")
    expect(page.locator("#provider")).to_contain_text("Singpass")


def test_a_person_logs_in_with_myinfo_v3_and_consents(page: Page, sandbox: Sandbox) -> None:
    page.goto(sandbox.url)
    page.get_by_role("button", name="Log in with MyInfo", exact=True).click()
    page.wait_for_url(re.compile(re.escape(sandbox.myinfo_v3_url) + r"/singpass/authorize"))
    page.get_by_text("Login", exact=True).locator("visible=true").first.click()
    page.locator("#id-input").fill(f"{SANDBOX_PERSONA} [MyInfo]")
    page.wait_for_url(re.compile(re.escape(sandbox.myinfo_v3_url) + r"/consent/oauth2/authorize"))
    page.get_by_role("button", name="Submit").click()  # MyInfo's consent page, "Allow" chosen
    page.wait_for_url(sandbox.url + "/")

    person = page.locator("#person")
    expect(person).to_contain_text("TAN HENG HUAT")
    expect(person).to_contain_text("BEDOK NORTH AVENUE 4")
    expect(person).to_contain_text("CRYSTAL HORSE INVEST PTE LTD")  # a list: CPF employers
    expect(page.locator("#sub")).to_contain_text(SANDBOX_PERSONA)
    expect(page.locator("#provider")).to_contain_text("MyInfo")


def test_a_person_logs_in_with_myinfo_v4(page: Page, sandbox: Sandbox) -> None:
    page.goto(sandbox.url)
    page.get_by_role("button", name="Log in with MyInfo v4").click()
    page.wait_for_url(re.compile(re.escape(sandbox.myinfo_v4_url) + r"/com/v4/authorize"))
    page.get_by_label("Persona").select_option(SANDBOX_PERSONA)  # the emulator's persona picker
    page.get_by_role("button", name="Log in and allow").click()
    page.wait_for_url(sandbox.url + "/")

    person = page.locator("#person")
    expect(person).to_contain_text("TAN HENG HUAT")
    expect(person).to_contain_text(SANDBOX_PERSONA)
    expect(page.locator("#provider")).to_contain_text("MyInfo v4")
