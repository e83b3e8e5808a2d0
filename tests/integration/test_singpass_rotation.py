"""Singpass's decryption key mid-rotation, through the sandbox: the FAPI server encrypts to the additional key."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from infra.sandbox.browser import Browser
from infra.sandbox.fapi import fapi_calls
from infra.sandbox.stack import SANDBOX_PERSONA, Sandbox, SandboxOptions, run_sandbox


@pytest.fixture(scope="module")
def rotating_sandbox() -> Iterator[Sandbox]:
    with run_sandbox(SandboxOptions(show_login_page=False, singpass_rotating=True)) as stack:
        yield stack


@pytest.mark.parametrize("provider", ["sp", "sp-data"])  # the Login and the Myinfo app share the Singpass keys
def test_a_login_decrypts_tokens_encrypted_to_the_additional_key(rotating_sandbox: Sandbox, provider: str) -> None:
    browser = Browser(rotating_sandbox.url)
    [callback] = [spec for spec in rotating_sandbox.functions if spec.logical_id == "CallbackFunction"]
    [entry] = [e for e in json.loads(callback.environment["GATEWAY_PROVIDERS"]) if e and e["id"] == provider]
    [additional] = entry["additional_decryption_key_arns"]
    current = rotating_sandbox.resources["SingpassDecryptionKey"]["KeyId"]

    published = browser.get(f"/.well-known/jwks/{provider}").json()["keys"]
    login = browser.login(return_to="/me", provider=provider)

    enc_kids = [key["kid"] for key in published if key["use"] == "enc"]
    assert enc_kids == [current, additional.rsplit("/", 1)[-1]]  # both published; the server holds only the next
    assert login.headers["Location"] == f"{rotating_sandbox.url}/me"
    assert browser.api("/api/me").json()["person"]["uinfin"] == SANDBOX_PERSONA
    id_token = fapi_calls(rotating_sandbox.fapi_url)["id_tokens"][-1]
    assert id_token["kid"] == enc_kids[1]  # encrypted to the next key
