"""The HTTP contract, end to end through the local API: real handlers, DynamoDB Local, moto KMS, MockPass sgID."""

from __future__ import annotations

import hashlib

import pytest
import requests
from singpass_gateway.flows import pkce_challenge
from singpass_gateway.sealing import open_for
from singpass_gateway.store import digest

from infra.sandbox.browser import Browser, cookie_attributes, items, provider_redirect, query, set_cookie_lines
from infra.sandbox.stack import SANDBOX_OTHER_FRONTEND, SANDBOX_PERSONA, Sandbox

SESSION = "__Host-sgw_session"
LOGIN = "__Host-sgw_login"


def test_a_login_ends_on_the_frontend_with_a_session_and_the_persons_data(sandbox: Sandbox, browser: Browser) -> None:
    callback = browser.login(return_to="/account?tab=1")

    assert callback.status_code == 302
    assert callback.headers["Location"] == f"{sandbox.url}/account?tab=1"
    assert callback.headers["Referrer-Policy"] == "no-referrer"
    assert callback.headers["Cache-Control"] == "no-store"
    me = browser.api("/api/me")
    assert me.status_code == 200
    assert me.headers["Cache-Control"] == "no-store"
    body = me.json()
    assert body["provider"] == "sgid"
    assert body["sub"].startswith("u=")
    assert body["person"]["myinfo.name"] == "TAN HENG HUAT"
    assert body["person"]["myinfo.nric_number"] == SANDBOX_PERSONA
    assert body["person"]["myinfo.registered_address"].splitlines()[-1] == "SINGAPORE 460102"


def test_the_session_cookie_is_opaque_httponly_secure_and_bounded(browser: Browser) -> None:
    callback = browser.login()
    [session_line] = [line for line in set_cookie_lines(callback) if line.startswith(SESSION + "=")]
    [spent_login] = [line for line in set_cookie_lines(callback) if line.startswith(LOGIN + "=")]

    assert {"HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=3600"} <= cookie_attributes(session_line)
    assert not any(attribute.lower().startswith("domain") for attribute in cookie_attributes(session_line))
    assert len(browser.cookies[SESSION]) >= 43  # 256 random bits, base64url
    assert "Max-Age=0" in cookie_attributes(spent_login)


def test_the_authorization_request_carries_pkce_s256_state_and_nonce(sandbox: Sandbox, browser: Browser) -> None:
    login = browser.start_login()
    params = query(login.headers["Location"])
    [login_cookie] = [line for line in set_cookie_lines(login) if line.startswith(LOGIN + "=")]

    assert login.status_code == 302
    assert params["code_challenge_method"] == "S256"
    assert params["redirect_uri"] == f"{sandbox.url}/auth/sgid/callback"
    assert params["scope"].split()[0] == "openid"
    assert len(params["state"]) >= 43
    assert len(params["nonce"]) >= 43
    assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=600"} <= cookie_attributes(login_cookie)
    # The stored verifier is the one behind the challenge, sealed under the login cookie; nothing is stored
    # under the raw state.
    pk = "txn#" + digest(params["state"])
    [txn] = [item for item in items(sandbox, "txn#") if item["pk"]["S"] == pk]
    verifier = open_for(browser.cookies[LOGIN], "login", pk, txn["sealed"]["B"])["code_verifier"]
    assert pkce_challenge(verifier) == params["code_challenge"]
    assert 43 <= len(verifier) <= 128
    assert txn["binding"]["S"] == hashlib.sha256(browser.cookies[LOGIN].encode()).hexdigest()
    assert params["state"] not in str(items(sandbox, ""))


def test_a_replayed_callback_is_refused_and_creates_no_session(sandbox: Sandbox, browser: Browser) -> None:
    callback_url = provider_redirect(browser.start_login().headers["Location"])
    binding = browser.cookies[LOGIN]
    assert browser.get(callback_url).headers["Location"].endswith("/")
    sessions = len(items(sandbox, "session#"))

    browser.cookies[LOGIN] = binding  # even with the original login cookie put back
    replay = browser.get(callback_url)

    assert replay.headers["Location"] == f"{sandbox.url}/?error=invalid_state"
    assert len(items(sandbox, "session#")) == sessions


def test_a_forged_callback_leaves_the_victims_login_cookie_alone(sandbox: Sandbox, browser: Browser) -> None:
    callback_url = provider_redirect(browser.start_login().headers["Location"])

    forged = browser.get("/auth/sgid/callback?state=attacker-state&code=attacker-code")

    assert forged.headers["Location"].endswith("?error=invalid_state")
    assert not [line for line in set_cookie_lines(forged) if line.startswith(LOGIN)]
    assert browser.get(callback_url).headers["Location"] == f"{sandbox.url}/"


def test_a_callback_from_another_browser_is_refused_and_leaves_the_login_to_its_owner(
    sandbox: Sandbox, browser: Browser
) -> None:
    callback_url = provider_redirect(browser.start_login().headers["Location"])
    attacker = Browser(sandbox.url)
    attacker.start_login()  # the attacker has a login cookie of their own

    assert attacker.get(callback_url).headers["Location"].endswith("?error=invalid_state")
    assert Browser(sandbox.url).get(callback_url).headers["Location"].endswith("?error=invalid_state")
    owner = browser.get(callback_url)
    assert owner.headers["Location"] == f"{sandbox.url}/"
    assert SESSION in browser.cookies


def test_an_expired_login_is_refused_even_before_ttl_reaps_it(sandbox: Sandbox, browser: Browser) -> None:
    callback_url = provider_redirect(browser.start_login().headers["Location"])
    state = query(callback_url)["state"]
    sandbox.aws_client("dynamodb").update_item(
        TableName=sandbox.table_name,
        Key={"pk": {"S": "txn#" + digest(state)}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": "1000"}},
    )

    assert browser.get(callback_url).headers["Location"].endswith("?error=login_expired")
    assert SESSION not in browser.cookies


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("access_denied", "access_denied"),
        ("server_error", "provider_unavailable"),  # a passing failure at the provider: the person may try again
        ("invalid_scope", "provider_error"),
    ],
)
def test_a_provider_error_ends_the_login_cleanly(sandbox: Sandbox, browser: Browser, error: str, code: str) -> None:
    state = query(browser.start_login("/here").headers["Location"])["state"]
    failed = browser.get(f"/auth/sgid/callback?state={state}&error={error}&error_description=<script>x</script>")

    assert failed.headers["Location"] == f"{sandbox.url}/here?error={code}"
    assert "script" not in failed.text
    assert SESSION not in browser.cookies
    # The transaction is spent: a later code for the same state is refused.
    assert browser.get(f"/auth/sgid/callback?state={state}&code=x").headers["Location"].endswith("error=invalid_state")


def test_a_callback_without_state_or_code_is_refused(browser: Browser) -> None:
    assert browser.get("/auth/sgid/callback?code=abc").headers["Location"].endswith("?error=invalid_state")
    state = query(browser.start_login().headers["Location"])["state"]
    assert browser.get(f"/auth/sgid/callback?state={state}").headers["Location"].endswith("?error=invalid_callback")


@pytest.mark.parametrize(
    "return_to", ["//evil.example", "https:evil.example", "\\\\evil.example", "https://evil.example"]
)
def test_open_redirects_are_refused_before_anything_is_stored(
    sandbox: Sandbox, browser: Browser, return_to: str
) -> None:
    before = len(items(sandbox, "txn#"))
    response = browser.start_login(return_to)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_return_to"}
    assert "Location" not in response.headers
    assert len(items(sandbox, "txn#")) == before


def test_an_unknown_provider_is_a_404_json_error(browser: Browser) -> None:
    for path in ("/auth/nosuch/login", "/auth/nosuch/callback?state=x&code=y"):
        response = browser.get(path)
        assert response.status_code == 404
        assert response.json() == {"error": "unknown_provider"}


def test_providers_are_listed_for_the_frontend(browser: Browser) -> None:
    response = browser.api("/api/providers")
    assert response.status_code == 200
    assert response.json() == [
        {"id": "sgid", "name": "Singpass app (sgID)"},
        {"id": "oidc", "name": "OIDC"},
        {"id": "sp", "name": "Singpass"},
        {"id": "sp-data", "name": "Singpass Myinfo"},
        {"id": "cp", "name": "Corppass"},
        {"id": "cp-data", "name": "Myinfo Business"},
        {"id": "myinfo-v3", "name": "MyInfo"},
        {"id": "mi-v4", "name": "MyInfo v4"},
        {"id": "oauth2", "name": "OAuth 2.0"},
    ]


def test_without_a_session_me_answers_401_json_never_a_redirect(browser: Browser) -> None:
    response = browser.api("/api/me")
    assert response.status_code == 401
    assert response.json() == {"error": "not_authenticated"}

    browser.cookies[SESSION] = "guessed-or-stale-session-id"
    stale = browser.api("/api/me")
    assert stale.status_code == 401
    assert SESSION not in browser.cookies  # the stale cookie was expired


def test_data_and_logout_routes_require_the_csrf_header(browser: Browser) -> None:
    browser.login()
    for method, path in (("GET", "/api/me"), ("GET", "/api/providers"), ("POST", "/auth/logout")):
        response = browser._send(method, path, None)
        assert response.status_code == 403, path
        assert response.json() == {"error": "csrf_rejected"}
    assert browser.api("/api/me").status_code == 200  # the session survived the forged logout


def test_a_frontend_on_a_configured_origin_uses_the_api_through_cors(sandbox: Sandbox, browser: Browser) -> None:
    browser.login()
    preflight = browser._send(
        "OPTIONS",
        "/api/me",
        {
            "Origin": SANDBOX_OTHER_FRONTEND,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-csrf",
        },
    )
    me = browser._send("GET", "/api/me", {"Origin": SANDBOX_OTHER_FRONTEND, "X-CSRF": "1"})

    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == SANDBOX_OTHER_FRONTEND
    assert me.status_code == 200
    assert me.headers["Access-Control-Allow-Origin"] == SANDBOX_OTHER_FRONTEND
    assert me.headers["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize("origin", ["https://evil.example", "null", SANDBOX_OTHER_FRONTEND + ".evil.example"])
def test_other_origins_are_refused_on_every_data_route(sandbox: Sandbox, browser: Browser, origin: str) -> None:
    browser.login()
    for method, path in (("GET", "/api/me"), ("GET", "/api/providers"), ("POST", "/auth/logout")):
        for attempt in (method, "OPTIONS"):
            response = browser._send(
                attempt, path, {"Origin": origin, "X-CSRF": "1", "Access-Control-Request-Method": method}
            )
            assert response.status_code == 403, (attempt, path)
            assert "Access-Control-Allow-Origin" not in response.headers
    assert browser.api("/api/me").status_code == 200  # the forged logout did nothing


def test_logout_deletes_the_session_server_side(sandbox: Sandbox, browser: Browser) -> None:
    browser.login()
    session_id = browser.cookies[SESSION]

    response = browser.api("/auth/logout", method="POST")

    assert response.status_code == 204
    assert SESSION not in browser.cookies
    assert not [item for item in items(sandbox, "session#") if item["pk"]["S"] == "session#" + digest(session_id)]
    replayed = requests.get(
        sandbox.url + "/api/me", headers={"Cookie": f"{SESSION}={session_id}", "X-CSRF": "1"}, timeout=10
    )
    assert replayed.status_code == 401


def test_a_new_login_replaces_an_existing_session(sandbox: Sandbox, browser: Browser) -> None:
    browser.login()
    old_session = browser.cookies[SESSION]

    browser.login()

    assert browser.cookies[SESSION] != old_session
    stored = {item["pk"]["S"] for item in items(sandbox, "session#")}
    assert "session#" + digest(old_session) not in stored
