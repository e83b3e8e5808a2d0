"""What a copy of the table reveals: digests, provider ids and timestamps, never a person's data or a secret."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from singpass_gateway.sealing import open_for
from singpass_gateway.store import digest

from infra.sandbox.browser import Browser, items, provider_redirect, query
from infra.sandbox.stack import Sandbox
from tests.integration.test_refresh import unsealed_grant

SESSION = "__Host-sgw_session"
LOGIN = "__Host-sgw_login"
PROVIDERS = ["sgid", "oidc", "oauth2", "sp", "sp-data", "cp", "cp-data", "myinfo-v3", "mi-v4"]


def dump(item: dict[str, Any]) -> str:
    """An item as a database reader sees it: every value, binary ones as raw bytes and as base64."""
    parts = []
    for value in item.values():
        if "B" in value:
            raw = bytes(value["B"])
            parts += [raw.decode("latin-1"), base64.b64encode(raw).decode()]
        else:
            parts.append(str(next(iter(value.values()))))
    return "\n".join(parts)


def kms_decrypted(sandbox: Sandbox, item: dict[str, Any]) -> str:
    """What a database reader who may also call kms:Decrypt sees of a session's grant: its KMS layer opened with
    the encryption context the item's own key gives (the session id's digest), raw and as base64."""
    if "grant" not in item:
        return ""
    context = {"session": item["pk"]["S"].removeprefix("session#")}
    raw = bytes(
        sandbox.aws_client("kms").decrypt(CiphertextBlob=item["grant"]["B"], EncryptionContext=context)["Plaintext"]
    )
    return raw.decode("latin-1") + "\n" + base64.b64encode(raw).decode()


def stored(sandbox: Sandbox, pk: str) -> dict[str, Any]:
    [item] = [item for item in items(sandbox, pk.split("#")[0] + "#") if item["pk"]["S"] == pk]
    return item


def personal_strings(value: Any) -> list[str]:
    """Every string of six or more characters in a person's data, however deeply nested (a shorter one, "102",
    turns up by chance in a dump's hex digests and ciphertext)."""
    if isinstance(value, dict):
        return [found for nested in value.values() for found in personal_strings(nested)]
    if isinstance(value, list):
        return [found for nested in value for found in personal_strings(nested)]
    return [value] if isinstance(value, str) and len(value) >= 6 else []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stored_login_transaction_shows_no_secret(sandbox: Sandbox, provider: str) -> None:
    browser = Browser(sandbox.url)
    before = {item["pk"]["S"] for item in items(sandbox, "txn#")}
    browser.start_login("/account/private-path", provider)  # with PAR the state is not in the URL
    [pk] = {item["pk"]["S"] for item in items(sandbox, "txn#")} - before
    text = dump(stored(sandbox, pk))

    secret = open_for(browser.cookies[LOGIN], "login", pk, stored(sandbox, pk)["sealed"]["B"])
    assert secret["return_to"] == "/account/private-path"  # the seal holds what the callback needs
    for value in (secret["nonce"], secret["code_verifier"], "private-path", browser.cookies[LOGIN]):
        assert value not in text
    for remembered in secret["provider_data"].values():
        assert remembered not in text  # e.g. the DPoP private key of a FAPI login


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stored_session_shows_no_personal_data(sandbox: Sandbox, provider: str) -> None:
    browser = Browser(sandbox.url)
    browser.login(provider=provider)
    me = browser.api("/api/me").json()
    session_id = browser.cookies[SESSION]
    item = stored(sandbox, "session#" + digest(session_id))
    text = dump(item) + "\n" + kms_decrypted(sandbox, item)  # kms:Decrypt opens no more than the table does

    # Readable: only what conditions and TTL need; everything else is in the sealed value (or the sealed grant).
    assert set(item) <= {"pk", "provider", "expires_at", "refreshed_at", "seen_at", "sealed", "grant"}
    # A Corppass login's entity (UEN, name), acting user and e-service roles are kept as the person's data is.
    organisation = personal_strings({name: me.get(name) for name in ("entity", "act", "authorisations")})
    if provider in ("cp", "cp-data"):
        assert {me["entity"]["name"], me["act"]["sub"]} <= set(organisation)  # the login read real entity data
    granted = personal_strings(me.get("access"))  # a plain OAuth 2.0 login's scopes and permissions
    if provider == "oauth2":
        assert "orders:refund" in granted
    grant = list(unsealed_grant(sandbox, session_id).values()) if "grant" in item else []  # with the cookie
    if provider in ("oidc", "oauth2"):
        assert grant  # their logins keep a refresh token
    values = [me["sub"], session_id, *personal_strings(me["person"]), *organisation, *granted, *grant]
    leaks = [value for value in values if value in text]
    assert personal_strings(me["person"])  # the login read real data
    assert leaks == []


def test_a_session_sealed_for_one_browser_does_not_open_for_another(sandbox: Sandbox) -> None:
    victim, attacker = Browser(sandbox.url), Browser(sandbox.url)
    victim.login()
    attacker.login()
    victim_item = stored(sandbox, "session#" + digest(victim.cookies[SESSION]))
    attacker_pk = "session#" + digest(attacker.cookies[SESSION])

    # A database writer copies the victim's sealed data into their own session: it does not open there.
    sandbox.aws_client("dynamodb").update_item(
        TableName=sandbox.table_name,
        Key={"pk": {"S": attacker_pk}},
        UpdateExpression="SET sealed = :sealed",
        ExpressionAttributeValues={":sealed": victim_item["sealed"]},
    )

    refused = attacker.api("/api/me")
    assert refused.status_code == 401
    assert refused.json() == {"error": "not_authenticated"}
    assert victim.api("/api/me").status_code == 200


def test_a_tampered_login_transaction_ends_the_login_cleanly(sandbox: Sandbox) -> None:
    browser = Browser(sandbox.url)
    callback_url = provider_redirect(browser.start_login().headers["Location"])
    pk = "txn#" + digest(query(callback_url)["state"])
    sealed = bytearray(stored(sandbox, pk)["sealed"]["B"])
    sealed[-1] ^= 1
    sandbox.aws_client("dynamodb").update_item(
        TableName=sandbox.table_name,
        Key={"pk": {"S": pk}},
        UpdateExpression="SET sealed = :sealed",
        ExpressionAttributeValues={":sealed": {"B": bytes(sealed)}},
    )

    assert browser.get(callback_url).headers["Location"].endswith("?error=invalid_state")
    assert SESSION not in browser.cookies
    assert not [item for item in items(sandbox, "txn#") if item["pk"]["S"] == pk]  # spent, not reusable
