"""People with far more MyInfo data than MockPass's log in through the local API and the MyInfo v4 emulator, up to
the gateway's 1 MiB person limit; beyond it, or when even the compressed session would not fit DynamoDB's 400 KB
item, the login ends with a stable code and stores nothing. The same people log in, or are refused, through
MockPass's MyInfo v3 and the FAPI server's Singpass Myinfo app.

Each of these servers serves the large people of :mod:`infra.sandbox.personas` besides MockPass's; a test logs in
as one through the server's own login page. What the gateway gets is what the sandbox asks for (``MYINFO_V4_SCOPES``,
``MYINFO_V3_ATTRIBUTES``, ``SINGPASS_SCOPES``, whose one list is ``cpfemployers``): the people are sized by their
CPF employer history.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from singpass_gateway.person import normalise
from singpass_gateway.store import digest

from infra.sandbox.browser import Browser, items, persona_redirect, provider_redirect
from infra.sandbox.personas import INCOMPRESSIBLE, LONG_HISTORY, NEAR_LIMIT, OVERSIZED, LargeProfile, large_person
from infra.sandbox.stack import MYINFO_V4_ID, MYINFO_V4_SCOPES, SINGPASS_MYINFO_PROVIDER, Sandbox

SESSION = "__Host-sgw_session"
DYNAMODB_ITEM_LIMIT = 400 * 1024


def log_in_as(browser: Browser, sandbox: Sandbox, nric: str, return_to: str = "/me") -> requests.Response:
    """A MyInfo v4 login as ``nric``, picked on the emulator's picker as a person would; the callback's answer."""
    authorize = browser.start_login(return_to, MYINFO_V4_ID).headers["Location"]
    page = requests.get(authorize, headers={"X-Show-Login-Page": "true"}, timeout=30)
    page.raise_for_status()
    match = re.search(r'name="login_id" value="([^"]+)"', page.text)
    assert match, "the emulator showed no persona picker"
    chosen = requests.post(
        f"{sandbox.myinfo_v4_url}/com/v4/authorize/login",
        data={"login_id": match.group(1), "persona": nric, "decision": "allow"},
        allow_redirects=False,
        timeout=30,
    )
    assert chosen.status_code == 302, chosen.text
    return browser.get(chosen.headers["Location"])


def log_in_through_myinfo_v3(browser: Browser, sandbox: Sandbox, nric: str) -> requests.Response:
    """A MyInfo v3 login as ``nric``, picked on MockPass's Singpass login page, then consented to; the callback's."""
    authorize = browser.start_login("/me", "myinfo-v3").headers["Location"]
    picked = urljoin(sandbox.myinfo_v3_url, persona_redirect(authorize, nric))  # MockPass's links are relative
    return browser.get(provider_redirect(picked))


def log_in_through_singpass_myinfo(browser: Browser, sandbox: Sandbox, nric: str) -> requests.Response:
    """A login to the Singpass Myinfo app as ``nric``, typed on the FAPI server's sign-in form; the callback's."""
    authorize = browser.start_login("/me", SINGPASS_MYINFO_PROVIDER).headers["Location"]
    fapi = requests.Session()  # the server's interaction cookies
    interaction = fapi.get(authorize, allow_redirects=False, timeout=30).headers["Location"]
    page = fapi.get(urljoin(authorize, interaction), headers={"X-Show-Login-Page": "true"}, timeout=30)
    assert 'name="login"' in page.text, "the FAPI server showed no sign-in form"
    answer = fapi.post(f"{page.url}/login", data={"login": nric, "password": "any"}, allow_redirects=False, timeout=30)
    while (location := urljoin(authorize, answer.headers["Location"])).startswith(sandbox.fapi_url):
        answer = fapi.get(location, allow_redirects=False, timeout=30)  # back to the authorization, then the app
    return browser.get(location)


LOG_INS = {"myinfo-v3": log_in_through_myinfo_v3, SINGPASS_MYINFO_PROVIDER: log_in_through_singpass_myinfo}


def asked_for(profile: LargeProfile) -> dict[str, Any]:
    """What the emulator sends the sandbox's gateway of ``profile``: the attributes its MyInfo v4 app asks for."""
    return {name: value for name, value in large_person(profile).items() if name in MYINFO_V4_SCOPES.split()}


def item_size(item: dict[str, Any]) -> int:
    """A DynamoDB item's size as DynamoDB counts it (attribute names and values; a number counted generously)."""
    size = 0
    for name, value in item.items():
        [(kind, content)] = value.items()
        size += len(name.encode()) + (len(bytes(content)) if kind == "B" else len(str(content).encode()) + 1)
    return size


def session_items(sandbox: Sandbox) -> set[str]:
    return {item["pk"]["S"] for item in items(sandbox, "session#")}


@pytest.mark.parametrize("profile", [LONG_HISTORY, NEAR_LIMIT], ids=["long-history", "near-the-limit"])
def test_a_person_with_a_large_profile_logs_in_and_sees_all_of_it(
    sandbox: Sandbox, browser: Browser, profile: LargeProfile
) -> None:
    callback = log_in_as(browser, sandbox, profile.nric)

    assert callback.headers["Location"] == f"{sandbox.url}/me"
    me = browser.api("/api/me").json()
    person = me["person"]
    assert (person["uinfin"], person["name"], me["sub"]) == (profile.nric, profile.name, profile.uuid)
    assert person["cpfemployers"] == normalise(asked_for(profile))["cpfemployers"]
    assert len(person["cpfemployers"]["history"]) == profile.history_length
    item = next(
        item for item in items(sandbox, "session#") if item["pk"]["S"] == "session#" + digest(browser.cookies[SESSION])
    )
    assert item_size(item) < DYNAMODB_ITEM_LIMIT  # compressed: the whole history fits one item, with room to spare


def test_a_person_over_the_1_mib_limit_is_refused_as_an_oversized_answer(sandbox: Sandbox, browser: Browser) -> None:
    before = session_items(sandbox)

    callback = log_in_as(browser, sandbox, OVERSIZED.nric)

    # The HTTP client reads no provider answer over 1 MiB, the limit of the person JWE too (provider_unavailable).
    assert callback.headers["Location"] == f"{sandbox.url}/me?error=provider_unavailable"
    assert SESSION not in browser.cookies
    assert session_items(sandbox) == before


def test_a_person_whose_session_cannot_fit_an_item_is_refused_with_its_own_code(
    sandbox: Sandbox, browser: Browser, handler_log: Path
) -> None:
    before = session_items(sandbox)

    callback = log_in_as(browser, sandbox, INCOMPRESSIBLE.nric)

    assert callback.headers["Location"] == f"{sandbox.url}/me?error=person_data_too_large"
    assert SESSION not in browser.cookies
    assert session_items(sandbox) == before  # refused before DynamoDB was asked, not by DynamoDB
    assert "session too large to store" in handler_log.read_text()


@pytest.mark.parametrize("profile", [LONG_HISTORY, NEAR_LIMIT], ids=["long-history", "near-the-limit"])
@pytest.mark.parametrize("provider", list(LOG_INS))
def test_a_large_profile_logs_in_through_myinfo_v3_and_the_singpass_myinfo_app(
    sandbox: Sandbox, browser: Browser, provider: str, profile: LargeProfile
) -> None:
    callback = LOG_INS[provider](browser, sandbox, profile.nric)

    assert callback.headers["Location"] == f"{sandbox.url}/me"
    me = browser.api("/api/me").json()
    person = me["person"]
    assert (me["provider"], person["uinfin"], person["name"]) == (provider, profile.nric, profile.name)
    assert person["cpfemployers"] == normalise(asked_for(profile))["cpfemployers"]
    assert len(person["cpfemployers"]["history"]) == profile.history_length


@pytest.mark.parametrize(
    ("profile", "error"),
    [(OVERSIZED, "provider_unavailable"), (INCOMPRESSIBLE, "person_data_too_large")],
    ids=["over-1-mib", "incompressible"],
)
@pytest.mark.parametrize("provider", list(LOG_INS))
def test_people_too_large_are_refused_through_myinfo_v3_and_the_singpass_myinfo_app(
    sandbox: Sandbox, browser: Browser, provider: str, profile: LargeProfile, error: str
) -> None:
    before = session_items(sandbox)

    callback = LOG_INS[provider](browser, sandbox, profile.nric)

    assert callback.headers["Location"] == f"{sandbox.url}/me?error={error}"
    assert SESSION not in browser.cookies
    assert session_items(sandbox) == before
