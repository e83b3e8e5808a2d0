"""Refresh tokens (seed 004) with a provider that rotates them: sealed at rest, single-flight, revoked at logout."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from singpass_gateway.store import digest

from infra.sandbox.browser import Browser
from infra.sandbox.stack import SANDBOX_SECRETS, Sandbox

SESSION = "__Host-sgw_session"


def stored_session(sandbox: Sandbox, session_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        sandbox.aws_client("dynamodb")
        .get_item(TableName=sandbox.table_name, Key={"pk": {"S": "session#" + digest(session_id)}}, ConsistentRead=True)
        .get("Item")
    )
    return item


def unsealed_grant(sandbox: Sandbox, session_id: str) -> dict[str, str]:
    """What only the gateway can read: the sealed grant, opened with the session's encryption context."""
    item = stored_session(sandbox, session_id)
    assert item is not None
    plaintext = sandbox.aws_client("kms").decrypt(
        CiphertextBlob=item["grant"]["B"], EncryptionContext={"session": digest(session_id)}
    )["Plaintext"]
    grant: dict[str, str] = json.loads(plaintext)
    return grant


def token_request(sandbox: Sandbox, form: dict[str, str], path: str = "/token") -> requests.Response:
    return requests.post(
        sandbox.oidc_url + path,
        data=form,
        auth=("sandbox-oidc-client", SANDBOX_SECRETS["OidcClientSecret"]),
        timeout=10,
    )


def logged_in(sandbox: Sandbox) -> tuple[Browser, str]:
    browser = Browser(sandbox.url)
    browser.login(provider="oidc")
    return browser, browser.cookies[SESSION]


def test_the_refresh_token_is_kept_sealed_and_bound_to_its_session(sandbox: Sandbox) -> None:
    _, session_id = logged_in(sandbox)
    item = stored_session(sandbox, session_id)
    assert item is not None

    grant = unsealed_grant(sandbox, session_id)
    assert grant["sub"] == "tan-heng-huat"
    assert grant["refresh_token"].encode() not in bytes(item["grant"]["B"])
    other_context = {"session": digest("another-session")}
    kms = sandbox.aws_client("kms")
    try:
        kms.decrypt(CiphertextBlob=item["grant"]["B"], EncryptionContext=other_context)
        raise AssertionError("a sealed grant opened for another session")
    except kms.exceptions.InvalidCiphertextException:
        pass


def test_a_refresh_rotates_the_token_and_rereads_the_person(sandbox: Sandbox) -> None:
    browser, session_id = logged_in(sandbox)
    first = unsealed_grant(sandbox, session_id)["refresh_token"]

    response = browser.api("/api/me?refresh=true")

    assert response.status_code == 200
    assert response.json()["person"]["name"] == "TAN HENG HUAT"
    second = unsealed_grant(sandbox, session_id)["refresh_token"]
    assert second != first  # the provider rotated it and the session keeps the new one
    assert token_request(sandbox, {"grant_type": "refresh_token", "refresh_token": first}).status_code == 400


def test_parallel_refreshes_spend_a_rotating_token_once(sandbox: Sandbox) -> None:
    browser, session_id = logged_in(sandbox)
    headers = {"Cookie": f"{SESSION}={session_id}", "X-CSRF": "1"}

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(
            pool.map(
                lambda _: requests.get(f"{sandbox.url}/api/me?refresh=true", headers=headers, timeout=30), range(6)
            )
        )

    assert [answer.status_code for answer in answers] == [200] * 6
    # Had two requests spent the same rotating token, the provider would have revoked the grant:
    assert browser.api("/api/me?refresh=true").status_code == 200
    assert stored_session(sandbox, session_id) is not None


def test_a_refused_refresh_token_ends_the_session(sandbox: Sandbox) -> None:
    browser, session_id = logged_in(sandbox)
    refresh_token = unsealed_grant(sandbox, session_id)["refresh_token"]
    assert token_request(sandbox, {"token": refresh_token}, "/token/revocation").status_code == 200

    response = browser.api("/api/me?refresh=true")

    assert response.status_code == 401
    assert response.json() == {"error": "not_authenticated"}
    assert stored_session(sandbox, session_id) is None
    assert SESSION not in browser.cookies


def test_logout_revokes_the_refresh_token_at_the_provider(sandbox: Sandbox) -> None:
    browser, session_id = logged_in(sandbox)
    refresh_token = unsealed_grant(sandbox, session_id)["refresh_token"]

    assert browser.api("/auth/logout", method="POST").status_code == 204

    refused = token_request(sandbox, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
