"""Unit-test fixtures: a fake HTTP upstream, and the harness's RSA keys (made once per test session)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

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
