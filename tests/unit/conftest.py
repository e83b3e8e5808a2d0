"""Unit-test fixtures: a fake HTTP upstream, the harness's RSA keys (made once per test session), and moto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from singpass_gateway import aws

from tests.unit.fakes import FakeHttp
from tests.unit.upstream import KEYS


@pytest.fixture
def fake_http() -> FakeHttp:
    return FakeHttp()


@pytest.fixture(scope="session")
def provider_key() -> rsa.RSAPrivateKey:
    """The provider's signing key."""
    return KEYS.provider_rsa


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    """A valid-looking key that is not in the provider's JWKS."""
    return KEYS.foreign_rsa


@pytest.fixture(scope="session")
def client_key() -> rsa.RSAPrivateKey:
    """The gateway's own decryption key."""
    return KEYS.client_rsa


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """KMS and Secrets Manager in memory (moto, with the sandbox's KMS emulation of what moto lacks), reached
    through the gateway's own cached clients."""
    from moto import mock_aws

    from infra.sandbox import kms_emulation

    for name, value in {
        "AWS_DEFAULT_REGION": "ap-southeast-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }.items():
        monkeypatch.setenv(name, value)
    kms_emulation.install()
    aws._client.cache_clear()
    with mock_aws():
        yield
    aws._client.cache_clear()
