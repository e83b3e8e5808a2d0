"""The bring-your-own-PEM key backend: sgID's key in a Secrets Manager secret instead of KMS."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from infra.sandbox.browser import Browser
from infra.sandbox.stack import SANDBOX_PERSONA, Sandbox, SandboxOptions, run_sandbox


@pytest.fixture(scope="module")
def pem_sandbox() -> Iterator[Sandbox]:
    with run_sandbox(SandboxOptions(show_login_page=False, key_backend="pem")) as stack:
        yield stack


def test_a_login_decrypts_with_a_pem_from_secrets_manager(pem_sandbox: Sandbox) -> None:
    browser = Browser(pem_sandbox.url)

    callback = browser.login()

    assert callback.headers["Location"] == f"{pem_sandbox.url}/"
    assert browser.api("/api/me").json()["person"]["myinfo.nric_number"] == SANDBOX_PERSONA
    [callback] = [spec for spec in pem_sandbox.functions if spec.logical_id == "CallbackFunction"]
    [sgid] = [entry for entry in json.loads(callback.environment["GATEWAY_PROVIDERS"]) if entry["id"] == "sgid"]
    assert sgid["decryption_key_arn"].startswith("arn:aws:secretsmanager:")
    assert "SgidDecryptionKey" not in pem_sandbox.resources  # template.yaml created no KMS key


def test_a_myinfo_v3_login_signs_and_decrypts_with_one_pem(pem_sandbox: Sandbox) -> None:
    browser = Browser(pem_sandbox.url)

    assert browser.login(provider="myinfo-v3").headers["Location"] == f"{pem_sandbox.url}/"
    assert browser.api("/api/me").json()["person"]["uinfin"] == SANDBOX_PERSONA
    [callback] = [spec for spec in pem_sandbox.functions if spec.logical_id == "CallbackFunction"]
    [myinfo] = [entry for entry in json.loads(callback.environment["GATEWAY_PROVIDERS"]) if entry["id"] == "myinfo-v3"]
    assert myinfo["signing_key_arn"] == myinfo["decryption_key_arn"]
    assert myinfo["signing_key_arn"].startswith("arn:aws:secretsmanager:")
