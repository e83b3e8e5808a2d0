"""MyInfo v3 against MockPass in strict mode: it checks every PKI_SIGN signature and encrypts the person data.

What MockPass does not check (state reuse, code reuse, timestamps, nonces, tampering, certificates, sub) is
proven in tests/unit/test_myinfo_v3.py; here the gateway's signed calls meet MockPass's own verifier.
"""

from __future__ import annotations

import base64

import requests
from singpass_gateway.store import digest

from infra.sandbox.browser import Browser, items, provider_redirect, query
from infra.sandbox.stack import SANDBOX_PERSONA, SANDBOX_SECRETS, Sandbox

SESSION = "__Host-sgw_session"


def test_a_myinfo_v3_login_shows_the_decrypted_verified_person(sandbox: Sandbox, browser: Browser) -> None:
    callback = browser.login(return_to="/me", provider="myinfo-v3")

    assert callback.headers["Location"] == f"{sandbox.url}/me"
    me = browser.api("/api/me").json()
    assert (me["provider"], me["sub"]) == ("myinfo-v3", SANDBOX_PERSONA)
    person = me["person"]
    assert person["uinfin"] == SANDBOX_PERSONA
    assert person["name"] == "TAN HENG HUAT"
    assert person["mobileno"] == "+65 97399245"
    assert person["regadd"] == {
        "type": "SG",
        "block": "102",
        "building": "PEARL GARDEN",
        "floor": "09",
        "unit": "128",
        "street": "BEDOK NORTH AVENUE 4",
        "postal": "460102",
        "country": "SINGAPORE",
    }
    assert person["cpfemployers"]["history"][0] == {"month": "2017-10", "employer": "CRYSTAL HORSE INVEST PTE LTD"}
    assert me["provenance"]["name"] == {"source": "1", "classification": "C", "lastupdated": "2020-02-04"}


def test_mockpass_refuses_a_bad_signature_on_the_code_the_gateway_then_redeems(
    sandbox: Sandbox, browser: Browser
) -> None:
    callback_url = provider_redirect(browser.start_login("/", "myinfo-v3").headers["Location"])
    form = {
        "grant_type": "authorization_code",
        "code": query(callback_url)["code"],
        "redirect_uri": f"{sandbox.url}/auth/myinfo-v3/callback",
        "client_id": "STG-SANDBOX-MYINFO",
        "client_secret": SANDBOX_SECRETS["MyInfoV3ClientSecret"],
    }
    forged = base64.b64encode(b"x" * 256).decode()
    header = (
        f'PKI_SIGN timestamp="1",nonce="n",app_id="STG-SANDBOX-MYINFO",signature_method="RS256",signature="{forged}"'
    )
    token_url = f"{sandbox.myinfo_v3_url}/myinfo/v3/token"
    refused = requests.post(token_url, data=form, headers={"Authorization": header}, timeout=10)

    assert refused.status_code == 403  # MockPass verified the signature and it did not hold
    assert browser.get(callback_url).headers["Location"] == f"{sandbox.url}/"  # the gateway's own signature holds


def test_a_person_who_refuses_consent_returns_with_access_denied(sandbox: Sandbox, browser: Browser) -> None:
    authorize = browser.start_login("/here", "myinfo-v3").headers["Location"]
    denied = browser.get(provider_redirect(authorize, decision="deny"))

    assert denied.headers["Location"] == f"{sandbox.url}/here?error=access_denied"
    assert SESSION not in browser.cookies


def test_a_replayed_callback_is_refused_although_mockpass_would_accept_the_code_again(browser: Browser) -> None:
    authorize = browser.start_login("/", "myinfo-v3").headers["Location"]
    callback_url = provider_redirect(authorize)
    assert browser.get(callback_url).headers["Location"].endswith("/")

    replay = Browser(browser.base_url)
    replay.cookies = dict(browser.cookies)
    assert replay.get(callback_url).headers["Location"].endswith("?error=invalid_state")


def test_myinfo_callback_errors_each_have_their_own_code(sandbox: Sandbox, browser: Browser) -> None:
    states = []
    for error, code in (("500", "provider_error"), ("503", "provider_maintenance"), ("access_denied", "access_denied")):
        state = query(browser.start_login("/", "myinfo-v3").headers["Location"])["state"]
        failed = browser.get(f"/auth/myinfo-v3/callback?state={state}&error={error}&error_description=down")
        assert failed.headers["Location"] == f"{sandbox.url}/?error={code}"
        states.append(state)
    stored = {item["pk"]["S"] for item in items(sandbox, "txn#")}
    assert not stored & {"txn#" + digest(state) for state in states}  # each login is spent
