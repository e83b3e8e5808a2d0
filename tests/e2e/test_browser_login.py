"""A person's view of the demo page: log in with each provider by keyboard, read the data card, reveal the NRIC,
see a clear message for every error, log out."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import quote

import pytest
from playwright.sync_api import Locator, Page, Response, expect

from infra.sandbox.oauth2 import OAUTH2_ACCOUNT, OAUTH2_SCOPES
from infra.sandbox.stack import SANDBOX_PERSONA, Sandbox
from tests.error_codes import KIT_FALLBACK_CODES, gateway_error_codes

MASKED_PERSONA = "*****381D"
"""SANDBOX_PERSONA as the card shows it: at most the last three digits and the checksum letter (PDPC)."""


def sgid(page: Page, sandbox: Sandbox) -> None:
    page.wait_for_url(re.compile(re.escape(sandbox.mockpass_url) + r"/v2/oauth/authorize"))
    page.get_by_text("Login", exact=True).locator("visible=true").first.click()  # opens MockPass's login form
    page.locator("#id-input").fill(f"{SANDBOX_PERSONA} [MyInfo]")  # picking a persona submits it


def oidc(page: Page, sandbox: Sandbox) -> None:
    page.wait_for_url(re.compile(re.escape(sandbox.oidc_url) + r"/interaction/"))
    page.locator("input[name=login]").fill("alice")  # oidc-provider's own sign-in form
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()


def oauth2(page: Page, sandbox: Sandbox, login: str = OAUTH2_ACCOUNT) -> None:
    """The plain OAuth 2.0 server's own sign-in form (any login name: the sandbox's account for the persona by
    default, a made-up account otherwise), then its consent page for the API's scopes."""
    page.wait_for_url(re.compile(re.escape(sandbox.oauth2_url) + r"/interaction/"))
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    expect(page.get_by_role("heading", name="Authorize", exact=True)).to_be_visible()  # oidc-provider's consent page
    page.get_by_role("button", name="Continue").click()


def singpass(page: Page, sandbox: Sandbox) -> None:
    """The Singpass-like FAPI server's sign-in form, the same for its Login and its Myinfo app."""
    page.wait_for_url(re.compile(re.escape(sandbox.fapi_url) + r"/interaction/"))
    page.locator("input[name=login]").fill(SANDBOX_PERSONA)  # the persona's NRIC
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()


def corppass(page: Page, sandbox: Sandbox) -> None:
    """The Corppass-like FAPI server's sign-in form, the same for its Login and its Myinfo Business app: the acting
    user's NRIC @ the entity's UEN (ACME PTE. LTD.)."""
    page.wait_for_url(re.compile(re.escape(sandbox.corppass_url) + r"/interaction/"))
    page.locator("input[name=login]").fill(f"{SANDBOX_PERSONA}@201912345K")
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()


def myinfo_v3(page: Page, sandbox: Sandbox) -> None:
    page.wait_for_url(re.compile(re.escape(sandbox.myinfo_v3_url) + r"/singpass/authorize"))
    page.get_by_text("Login", exact=True).locator("visible=true").first.click()
    page.locator("#id-input").fill(f"{SANDBOX_PERSONA} [MyInfo]")
    page.wait_for_url(re.compile(re.escape(sandbox.myinfo_v3_url) + r"/consent/oauth2/authorize"))
    page.get_by_role("button", name="Submit").click()  # MyInfo's consent page, "Allow" chosen


def myinfo_v4(page: Page, sandbox: Sandbox) -> None:
    page.wait_for_url(re.compile(re.escape(sandbox.myinfo_v4_url) + r"/com/v4/authorize"))
    page.get_by_label("Persona").select_option(SANDBOX_PERSONA)  # the emulator's persona picker
    page.get_by_role("button", name="Log in and allow").click()


AtProvider = Callable[[Page, Sandbox], None]


class Provider(NamedTuple):
    id: str
    at_provider: AtProvider
    """What the person does at the provider."""
    shown: list[str]
    """What the card then shows besides the name and the NRIC."""
    sub: str | None = None
    """The `sub` of a provider that knows no NRIC, whose card has no NRIC row; None: the card shows the persona's
    NRIC, masked."""
    permissions: list[str] | None = None
    """The permissions the card's access section lists (a plain OAuth 2.0 login); None: the card has no such
    section."""


PROVIDERS: dict[str, Provider] = {  # by button name
    "Singpass app (sgID)": Provider("sgid", sgid, ["6 Jun 1998", "#09-128", "SINGAPORE 460102"]),
    "OIDC": Provider("oidc", oidc, ["6 Jun 1998", "SINGAPORE 460102", "+65 97399245"], sub="alice"),
    # A plain OAuth 2.0 server: the person is the JWT access token's name and email, their permissions its own.
    "OAuth 2.0": Provider(
        "oauth2", oauth2, ["myinfotesting@gmail.com"], sub=OAUTH2_ACCOUNT, permissions=["orders:read", "orders:refund"]
    ),
    # Singpass's Login app: the person is the ID token's sub_attributes (scopes "openid user.identity name").
    "Singpass": Provider("sp", singpass, ["SG", "standard"]),  # identity_coi, account_type
    "Singpass Myinfo": Provider(
        "sp-data", singpass, ["6 Jun 1998", "102 BEDOK NORTH AVENUE 4", "#09-128 PEARL GARDEN"]
    ),
    # Corppass: a login on behalf of ACME PTE. LTD.; the card shows the acting user (the ID token's act), and the
    # entity and the user's authorisations for it.
    "Corppass": Provider("cp", corppass, ["SG", "standard"]),  # identity_coi, account_type
    "Myinfo Business": Provider("cp-data", corppass, ["6 Jun 1998", "FEMALE"]),  # person_info
    "MyInfo": Provider(
        "myinfo-v3", myinfo_v3, ["SINGAPORE 460102", "CRYSTAL HORSE INVEST PTE LTD, Oct 2017 to Dec 2018"]
    ),
    "MyInfo v4": Provider("mi-v4", myinfo_v4, ["6 Jun 1998", "Provided by you", "MARRIED"]),
}
ERROR_CODES = sorted(gateway_error_codes() | KIT_FALLBACK_CODES)


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user would."""
    for _ in range(12):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    expect(target).to_be_focused()


def log_in(page: Page, sandbox: Sandbox, button: str) -> None:
    """Start the login with the keyboard alone (Tab to the button, Enter) and complete it at the provider."""
    page.goto(sandbox.url)
    tab_to(page, page.get_by_role("button", name=f"Log in with {button}", exact=True))
    page.keyboard.press("Enter")
    PROVIDERS[button].at_provider(page, sandbox)
    page.wait_for_url(sandbox.url + "/")


def kit_message(page: Page, code: str) -> str:
    message: str = page.evaluate("async (code) => (await import('/gateway.js')).errorMessage(code)", code)
    return message


def test_the_tests_cover_every_provider_the_sandbox_offers(page: Page, sandbox: Sandbox) -> None:
    page.goto(sandbox.url)
    expect(page.locator("#providers button").first).to_be_visible()

    offered = page.evaluate("async () => (await import('/gateway.js')).providers()")

    assert {(provider["name"], provider["id"]) for provider in offered} == {
        (name, provider.id) for name, provider in PROVIDERS.items()
    }
    assert page.locator("#providers button").all_inner_texts() == [f"Log in with {p['name']}" for p in offered]


@pytest.mark.parametrize("button", PROVIDERS)
def test_a_person_logs_in_by_keyboard_and_sees_their_data_card(page: Page, sandbox: Sandbox, button: str) -> None:
    provider = PROVIDERS[button]

    log_in(page, sandbox, button)

    expect(page.get_by_role("heading", name="TAN HENG HUAT")).to_be_focused()  # the card is read first
    expect(page.locator("#provider")).to_have_text(button)
    expect(page.locator("#provider-id")).to_have_text(provider.id)
    for text in provider.shown:
        expect(page.locator("#details")).to_contain_text(text)
    if provider.sub is None:
        expect(page.locator("#nric")).to_have_text(MASKED_PERSONA)
        assert SANDBOX_PERSONA not in page.content()  # nowhere on the page, hidden parts included, until revealed
    else:  # a provider with no NRIC to show (standard OIDC, plain OAuth 2.0)
        expect(page.locator("#nric-row")).to_be_hidden()
        expect(page.locator("#sub")).to_have_text(provider.sub)
    if provider.permissions is None:
        expect(page.locator("#access")).to_be_hidden()
    else:  # what the login's access token grants
        expect(page.locator("#access-permissions li")).to_have_text(provider.permissions)
    if provider.id.startswith("cp"):  # logged in on behalf of an entity: who for, and what they may do there
        expect(page.locator("#entity-name")).to_have_text("ACME PTE. LTD.")
        expect(page.locator("#entity-details")).to_contain_text("201912345K")
        expect(page.locator("#act")).to_be_attached()
    else:
        expect(page.locator("#entity")).to_be_hidden()
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    session = cookies["__Host-sgw_session"]
    assert (session["httpOnly"], session["secure"], session["sameSite"]) == (True, True, "Strict")
    assert "__Host-sgw_login" not in cookies
    assert page.evaluate("document.cookie") == ""  # nothing readable by page scripts


def test_a_corppass_user_sees_their_authorisations_for_the_entity(page: Page, sandbox: Sandbox) -> None:
    log_in(page, sandbox, "Corppass")

    authorisations = page.locator("#authorisations li")
    expect(authorisations.first).to_be_visible()
    expect(page.locator("#authorisations")).to_contain_text("no end date")
    expect(page.locator("#authorisations-empty")).to_be_hidden()


def test_an_oauth2_user_sees_the_scopes_and_the_permissions_their_token_grants(page: Page, sandbox: Sandbox) -> None:
    """A made-up login name gets an account of its own with fewer permissions than the scopes granted: the card
    lists each as the token has it."""
    page.goto(sandbox.url)
    page.get_by_role("button", name="Log in with OAuth 2.0", exact=True).click()
    oauth2(page, sandbox, "ong-bee-lian")
    page.wait_for_url(sandbox.url + "/")

    expect(page.get_by_role("heading", name="ONG-BEE-LIAN")).to_be_focused()
    access = page.locator("#access")
    expect(access.get_by_role("heading", name="Access granted")).to_be_visible()
    expect(access.locator("#access-scopes li")).to_have_text(OAUTH2_SCOPES.split())
    expect(access.locator("#access-permissions li")).to_have_text(["orders:read"])
    expect(page.locator("#details")).not_to_contain_text("orders:")  # kept apart from the person's details


def test_the_nric_is_revealed_and_hidden_again_with_the_keyboard(page: Page, sandbox: Sandbox) -> None:
    log_in(page, sandbox, "MyInfo")  # MyInfo v3, whose `sub` is the NRIC too
    reveal = page.get_by_role("button", name="Reveal NRIC")
    expect(reveal).to_have_attribute("aria-pressed", "false")

    page.keyboard.press("Tab")  # from the card's heading
    expect(reveal).to_be_focused()
    page.keyboard.press("Enter")

    expect(reveal).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#nric")).to_have_text(SANDBOX_PERSONA)
    expect(page.locator("#sub")).to_have_text(SANDBOX_PERSONA)

    page.keyboard.press("Space")

    expect(reveal).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#nric")).to_have_text(MASKED_PERSONA)
    expect(page.locator("#sub")).to_have_text(MASKED_PERSONA)
    expect(reveal).to_be_focused()


def test_logout_by_keyboard_returns_to_the_provider_buttons_and_ends_the_session(page: Page, sandbox: Sandbox) -> None:
    log_in(page, sandbox, "Singpass app (sgID)")
    expect(page.locator("#profile")).to_be_visible()

    tab_to(page, page.get_by_role("button", name="Log out"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Log in")).to_be_focused()
    expect(page.get_by_role("status").filter(has_text="You have logged out.")).to_be_visible()
    expect(page.get_by_role("button", name="Log in with Singpass app (sgID)")).to_be_visible()
    assert SANDBOX_PERSONA not in page.content()
    assert page.evaluate("async () => (await import('/gateway.js')).me()") is None
    page.reload()
    expect(page.get_by_role("button", name="Log in with Singpass app (sgID)")).to_be_visible()
    expect(page.locator("#profile")).to_be_hidden()


@pytest.mark.parametrize("code", ERROR_CODES)
def test_every_error_code_gets_its_message(page: Page, sandbox: Sandbox, code: str) -> None:
    page.goto(f"{sandbox.url}/?error={code}")

    alert = page.get_by_role("alert")
    expect(alert).to_be_focused()
    expect(page.locator("#error-message")).to_have_text(kit_message(page, code))
    expect(page.locator("#error-code")).to_have_text(code)
    expect(page.get_by_role("button", name="Log in with Singpass app (sgID)")).to_be_visible()
    assert page.url == sandbox.url + "/"  # the page cleaned its address bar


def test_an_unknown_error_code_gets_the_general_message_and_stays_text(page: Page, sandbox: Sandbox) -> None:
    code = "<img src=x id=injected>"
    page.goto(f"{sandbox.url}/?error={quote(code)}")

    expect(page.locator("#error-message")).to_have_text(kit_message(page, "unknown_error"))
    expect(page.locator("#error-code")).to_have_text(code)
    expect(page.locator("#injected")).to_have_count(0)


def test_a_forged_callback_shows_the_invalid_state_message(page: Page, sandbox: Sandbox) -> None:
    page.goto(sandbox.url + "/auth/sgid/callback?state=forged&code=forged")

    expect(page.locator("#error-message")).to_have_text(kit_message(page, "invalid_state"))
    expect(page.get_by_role("alert")).to_be_focused()
    assert page.url == sandbox.url + "/"


def test_a_session_ended_elsewhere_shows_the_not_authenticated_message(page: Page, sandbox: Sandbox) -> None:
    log_in(page, sandbox, "MyInfo v4")
    other_tab = page.context.new_page()
    other_tab.goto(sandbox.url)
    other_tab.evaluate("async () => (await import('/gateway.js')).logout()")

    tab_to(page, page.get_by_role("button", name="Refresh details"))
    page.keyboard.press("Enter")  # the API answers 401 not_authenticated

    expect(page.get_by_role("alert")).to_be_focused()
    expect(page.locator("#error-message")).to_have_text(kit_message(page, "not_authenticated"))
    expect(page.get_by_role("button", name="Log in with MyInfo v4")).to_be_visible()
    expect(page.locator("#profile")).to_be_hidden()


def test_a_person_who_refuses_consent_sees_the_access_denied_message(page: Page, sandbox: Sandbox) -> None:
    page.goto(sandbox.url)
    page.get_by_role("button", name="Log in with MyInfo v4", exact=True).click()
    page.wait_for_url(re.compile(re.escape(sandbox.myinfo_v4_url) + r"/com/v4/authorize"))
    page.get_by_label("Persona").select_option(SANDBOX_PERSONA)
    page.get_by_role("button", name="Deny").click()  # the provider redirects back with error=access_denied
    page.wait_for_url(sandbox.url + "/")

    expect(page.get_by_role("alert")).to_be_focused()
    expect(page.locator("#error-message")).to_have_text(kit_message(page, "access_denied"))
    expect(page.get_by_role("button", name="Log in with MyInfo v4")).to_be_visible()
    expect(page.locator("#profile")).to_be_hidden()


def test_an_image_pointing_at_a_login_url_does_not_log_the_person_out(page: Page, sandbox: Sandbox) -> None:
    """A login ends the session the browser holds, so a page (this site's own, or a sibling's, whose requests
    carry the SameSite=Strict cookie) must not be able to start one with an <img>: Chromium marks the request
    (Sec-Fetch-Dest: image) and the gateway refuses it."""
    log_in(page, sandbox, "Singpass app (sgID)")
    expect(page.locator("#profile")).to_be_visible()

    answers: list[Response] = []
    page.on("response", lambda response: answers.append(response) if "/auth/sgid/login" in response.url else None)

    page.evaluate(
        """() => new Promise((done) => {
            const image = new Image();
            image.onload = image.onerror = () => done(null);
            image.src = '/auth/sgid/login?return_to=%2F';
            document.body.append(image);
        })"""
    )

    assert page.evaluate("async () => (await import('/gateway.js')).me()") is not None  # still logged in
    [refused] = answers
    assert refused.request.all_headers().get("sec-fetch-dest") == "image"
    assert (refused.status, refused.json()) == (403, {"error": "navigation_required"})
    page.reload()
    expect(page.locator("#profile")).to_be_visible()
