"""A standard OIDC provider (the OpenID-certified oidc-provider) behind the same contract."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from infra.sandbox.browser import Browser, provider_redirect, query
from infra.sandbox.stack import OIDC_ACCOUNT, Sandbox


def test_an_oidc_login_shows_the_persons_claims(sandbox: Sandbox, browser: Browser) -> None:
    callback = browser.login(return_to="/profile", provider="oidc")

    assert callback.headers["Location"] == f"{sandbox.url}/profile"
    me = browser.api("/api/me").json()
    assert me["provider"] == "oidc"
    assert me["sub"] == OIDC_ACCOUNT
    assert me["person"]["name"] == "TAN HENG HUAT"
    assert me["person"]["address"]["country"] == "SG"
    assert "nonce" not in me["person"]


def test_the_provider_is_asked_for_pkce_s256_and_its_issuer_comes_back(sandbox: Sandbox, browser: Browser) -> None:
    authorize = browser.start_login(provider="oidc").headers["Location"]
    assert query(authorize)["code_challenge_method"] == "S256"
    assert urlsplit(authorize).netloc == urlsplit(sandbox.oidc_url).netloc  # from discovery

    callback_url = provider_redirect(authorize)

    assert query(callback_url)["iss"] == sandbox.oidc_url  # RFC 9207, which the gateway then checks
    assert browser.get(callback_url).headers["Location"] == f"{sandbox.url}/"


def test_a_callback_naming_another_issuer_is_refused(sandbox: Sandbox, browser: Browser) -> None:
    callback_url = provider_redirect(browser.start_login(provider="oidc").headers["Location"])
    params = {**query(callback_url), "iss": "https://attacker.example"}
    forged = callback_url.split("?")[0] + "?" + urlencode(params)

    assert browser.get(forged).headers["Location"] == f"{sandbox.url}/?error=invalid_callback"
    assert "__Host-sgw_session" not in browser.cookies


def test_a_transaction_for_one_provider_cannot_finish_at_another(sandbox: Sandbox, browser: Browser) -> None:
    sgid_callback = provider_redirect(browser.start_login(provider="sgid").headers["Location"])
    at_oidc = sgid_callback.replace("/auth/sgid/callback", "/auth/oidc/callback")

    assert browser.get(at_oidc).headers["Location"].endswith("?error=invalid_state")
    assert browser.get(sgid_callback).headers["Location"] == f"{sandbox.url}/"  # still usable by its owner
