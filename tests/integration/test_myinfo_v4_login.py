"""MyInfo v4 through the local API against the emulator, which enforces PKCE, the client assertion (read from
the gateway's own published JWKS), DPoP binding and single-use codes, and encrypts to the gateway's key."""

from __future__ import annotations

from infra.sandbox.browser import Browser, provider_redirect, query
from infra.sandbox.stack import SANDBOX_PERSONA, Sandbox

SESSION = "__Host-sgw_session"


def test_a_myinfo_v4_login_shows_the_decrypted_verified_person(sandbox: Sandbox, browser: Browser) -> None:
    callback = browser.login(return_to="/me", provider="mi-v4")

    assert callback.headers["Location"] == f"{sandbox.url}/me"
    me = browser.api("/api/me").json()
    person = me["person"]
    assert me["provider"] == "mi-v4"
    assert me["sub"] == person["uuid"] != SANDBOX_PERSONA  # v4's subject is the person's UUID, not the NRIC
    assert person["uinfin"] == SANDBOX_PERSONA
    assert person["name"] == "TAN HENG HUAT"
    assert person["regadd"]["postal"] == "460102"
    assert me["provenance"]["name"]["source"] == "1"


def test_myinfo_v4_reads_a_jwks_with_only_its_own_keys(sandbox: Sandbox, browser: Browser) -> None:
    own = browser.get("/.well-known/jwks/mi-v4")
    every = browser.get("/.well-known/jwks.json").json()["keys"]

    assert own.headers["Cache-Control"] == "public, max-age=300"
    keys = own.json()["keys"]
    assert sorted((key["use"], key["alg"]) for key in keys) == [("enc", "ECDH-ES+A256KW"), ("sig", "ES256")]
    assert all("d" not in key for key in keys)
    assert not {key["kid"] for key in keys} & {key["kid"] for key in own_of(browser, "sp")}
    # The shared JWKS lists both providers' signing keys, and no encryption key: a server taking its first one
    # would encrypt to another provider's key.
    assert {key["kid"] for key in keys if key["use"] == "sig"} < {key["kid"] for key in every}
    assert [key for key in every if key["use"] == "enc"] == []
    assert browser.get("/.well-known/jwks/nobody").status_code == 404


def own_of(browser: Browser, provider: str) -> list[dict[str, str]]:
    keys: list[dict[str, str]] = browser.get(f"/.well-known/jwks/{provider}").json()["keys"]
    return keys


def test_a_code_the_gateway_already_spent_is_refused_by_the_emulator(sandbox: Sandbox, browser: Browser) -> None:
    first = provider_redirect(browser.start_login("/", "mi-v4").headers["Location"])
    assert browser.get(first).headers["Location"] == f"{sandbox.url}/"

    state = query(browser.start_login("/", "mi-v4").headers["Location"])["state"]
    replayed = browser.get(f"/auth/mi-v4/callback?state={state}&code={query(first)['code']}")
    assert replayed.headers["Location"] == f"{sandbox.url}/?error=token_rejected"


def test_a_replayed_callback_is_refused_before_the_code_is_tried(browser: Browser) -> None:
    callback_url = provider_redirect(browser.start_login("/", "mi-v4").headers["Location"])
    assert browser.get(callback_url).headers["Location"].endswith("/")

    assert browser.get(callback_url).headers["Location"].endswith("?error=invalid_state")
