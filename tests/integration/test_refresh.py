"""Refresh tokens (seed 004) with a provider that rotates them: sealed at rest under the session cookie and KMS,
single-flight, and revoked however the session ends (logout, a new login in the same browser, idle, expired)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from singpass_gateway.sealing import SealBroken, open_for
from singpass_gateway.store import digest, session_key

from infra.sandbox.browser import Browser
from infra.sandbox.oauth2 import OAUTH2_PROVIDER
from infra.sandbox.stack import SANDBOX_SECRETS, Sandbox

SESSION = "__Host-sgw_session"


def stored_session(sandbox: Sandbox, session_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        sandbox.aws_client("dynamodb")
        .get_item(TableName=sandbox.table_name, Key={"pk": {"S": "session#" + digest(session_id)}}, ConsistentRead=True)
        .get("Item")
    )
    return item


def kms_decrypted_grant(sandbox: Sandbox, session_id: str) -> bytes:
    """What a table export and kms:Decrypt give: the stored grant's KMS layer opened, with the encryption context
    a table reader computes from the item's key (the session id's digest)."""
    item = stored_session(sandbox, session_id)
    assert item is not None
    plaintext: bytes = sandbox.aws_client("kms").decrypt(
        CiphertextBlob=item["grant"]["B"], EncryptionContext={"session": digest(session_id)}
    )["Plaintext"]
    return plaintext


def unsealed_grant(sandbox: Sandbox, session_id: str) -> dict[str, str]:
    """What only the gateway can read, and only with the browser's session cookie: the grant, opened with KMS and
    then with the session id."""
    grant: dict[str, str] = open_for(
        session_id, "grant", session_key(session_id), kms_decrypted_grant(sandbox, session_id)
    )
    return grant


def token_request(sandbox: Sandbox, form: dict[str, str], path: str = "/token") -> requests.Response:
    return requests.post(
        sandbox.oidc_url + path,
        data=form,
        auth=("sandbox-oidc-client", SANDBOX_SECRETS["OidcClientSecret"]),
        timeout=10,
    )


def introspect(sandbox: Sandbox, token: str) -> dict[str, Any]:
    """The oauth2 server's word on a token, asked as the stack's client."""
    response = requests.post(
        f"{sandbox.oauth2_url}/token/introspection",
        data={"token": token},
        auth=("sandbox-oauth2-client", SANDBOX_SECRETS["OAuth2ClientSecret"]),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def still_honoured(sandbox: Sandbox, provider: str, refresh_token: str) -> bool:
    """Whether the provider still honours ``refresh_token``: for the oidc provider, a refresh with it (which spends
    it when it is honoured); for the oauth2 server, its introspection (which spends nothing)."""
    if provider == OAUTH2_PROVIDER:
        return bool(introspect(sandbox, refresh_token)["active"])
    answer = token_request(sandbox, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    if answer.status_code == 400:
        assert answer.json()["error"] == "invalid_grant"
        return False
    assert answer.status_code == 200, answer.text
    return True


def logged_in(sandbox: Sandbox, provider: str = "oidc", browser: Browser | None = None) -> tuple[Browser, str]:
    browser = browser or Browser(sandbox.url)
    browser.login(provider=provider)
    return browser, browser.cookies[SESSION]


def set_stored(sandbox: Sandbox, session_id: str, **numbers: int) -> None:
    """Age a stored session as time would: its ``seen_at`` (idle) or ``expires_at`` (lifetime)."""
    names = {f"#{name}": name for name in numbers}
    sandbox.aws_client("dynamodb").update_item(
        TableName=sandbox.table_name,
        Key={"pk": {"S": "session#" + digest(session_id)}},
        UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in numbers),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{name}": {"N": str(value)} for name, value in numbers.items()},
    )


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


@pytest.mark.parametrize("provider", ["oidc", OAUTH2_PROVIDER])
def test_the_table_and_kms_decrypt_alone_do_not_yield_the_refresh_token(sandbox: Sandbox, provider: str) -> None:
    """A table export and kms:Decrypt (the functions' role's, an operator's) no longer open a grant: what KMS gives
    back is sealed under the session id, which the table holds only as a digest."""
    _, session_id = logged_in(sandbox, provider)
    grant = unsealed_grant(sandbox, session_id)  # the session cookie opens it

    decrypted = kms_decrypted_grant(sandbox, session_id)

    for secret in grant.values():
        assert secret.encode() not in decrypted
    assert not decrypted.startswith(b"{")  # not the grant's JSON, as KMS alone once sealed it
    with pytest.raises(SealBroken):
        open_for(digest(session_id), "grant", session_key(session_id), decrypted)  # all the table offers


@pytest.mark.parametrize("provider", ["oidc", OAUTH2_PROVIDER])
def test_a_new_login_in_the_same_browser_revokes_the_old_sessions_refresh_token(
    sandbox: Sandbox, provider: str
) -> None:
    browser, old_session = logged_in(sandbox, provider)
    old_token = unsealed_grant(sandbox, old_session)["refresh_token"]

    _, new_session = logged_in(sandbox, provider, browser)  # the login route gets the old session's cookie

    assert new_session != old_session
    assert stored_session(sandbox, old_session) is None
    assert not still_honoured(sandbox, provider, old_token)
    assert browser.api("/api/me?refresh=true").status_code == 200  # the new session's token is its own


@pytest.mark.parametrize("provider", ["oidc", OAUTH2_PROVIDER])
@pytest.mark.parametrize("ending", ["idle", "expired"])
def test_a_session_that_ended_unused_revokes_its_refresh_token_when_next_seen(
    sandbox: Sandbox, provider: str, ending: str
) -> None:
    browser, session_id = logged_in(sandbox, provider)
    refresh_token = unsealed_grant(sandbox, session_id)["refresh_token"]
    long_ago = int(time.time()) - 3600
    set_stored(sandbox, session_id, **({"seen_at": long_ago} if ending == "idle" else {"expires_at": long_ago}))

    response = browser.api("/api/me")

    assert response.status_code == 401
    assert stored_session(sandbox, session_id) is None
    assert not still_honoured(sandbox, provider, refresh_token)


def test_a_grant_sealed_by_kms_alone_before_the_deploy_refreshes_and_is_sealed_anew(sandbox: Sandbox) -> None:
    """A session live when this release is deployed holds a grant its predecessor sealed with KMS alone: it
    still refreshes, and the refreshed grant is sealed under the session cookie too."""
    browser, session_id = logged_in(sandbox)
    grant = unsealed_grant(sandbox, session_id)
    kms = sandbox.aws_client("kms")
    legacy = kms.encrypt(
        KeyId=sandbox.resources["SessionKey"]["KeyId"],
        Plaintext=json.dumps(grant, separators=(",", ":")).encode(),
        EncryptionContext={"session": digest(session_id)},
    )["CiphertextBlob"]
    sandbox.aws_client("dynamodb").update_item(
        TableName=sandbox.table_name,
        Key={"pk": {"S": "session#" + digest(session_id)}},
        UpdateExpression="SET #grant = :grant",
        ExpressionAttributeNames={"#grant": "grant"},
        ExpressionAttributeValues={":grant": {"B": legacy}},
    )

    assert browser.api("/api/me?refresh=true").status_code == 200

    rotated = unsealed_grant(sandbox, session_id)  # opens the new way: KMS, then the session id
    assert rotated["refresh_token"] != grant["refresh_token"]
    assert rotated["refresh_token"].encode() not in kms_decrypted_grant(sandbox, session_id)
