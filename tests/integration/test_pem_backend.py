"""The bring-your-own-PEM key backend: sgID's, MyInfo v3's and Singpass's signing key in Secrets Manager secrets
instead of KMS; the JWKS function publishes a PEM key from the public half in its secret's tags."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from singpass_gateway.keys.pem import thumbprint

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


def test_a_singpass_login_signs_with_a_pem_whose_tagged_public_half_the_jwks_publishes(pem_sandbox: Sandbox) -> None:
    """The FAPI server registered the client with the JWKS the JWKS function published from the secret's tags
    (GATEWAY_PUBLIC_KEYS_ONLY: it never reads the PEM); the login function signs its PAR assertion with the PEM
    itself. The login succeeds only if both are the same key under the same kid."""
    browser = Browser(pem_sandbox.url)

    assert browser.login(provider="sp").headers["Location"] == f"{pem_sandbox.url}/"
    [jwks] = [spec for spec in pem_sandbox.functions if spec.logical_id == "JwksFunction"]
    assert jwks.environment["GATEWAY_PUBLIC_KEYS_ONLY"] == "true"
    [singpass] = [entry for entry in json.loads(jwks.environment["GATEWAY_PROVIDERS"]) if entry["id"] == "sp"]
    secret = singpass["signing_key_arn"]
    assert secret.startswith("arn:aws:secretsmanager:")
    pem = pem_sandbox.aws_client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"]
    kid = thumbprint(serialization.load_pem_private_key(pem.encode(), password=None).public_key())
    published = requests.get(f"{pem_sandbox.url}/.well-known/jwks/sp", timeout=10).json()["keys"]
    assert [key["kid"] for key in published if key["use"] == "sig"] == [kid]
