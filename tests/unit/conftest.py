"""Unit-test fixtures: a fake HTTP upstream and RSA keys made once per test session."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.unit.fakes import FakeHttp


@pytest.fixture
def fake_http() -> FakeHttp:
    return FakeHttp()


@pytest.fixture(scope="session")
def provider_key() -> rsa.RSAPrivateKey:
    """The provider's signing key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    """A valid-looking key that is not in the provider's JWKS."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def client_key() -> rsa.RSAPrivateKey:
    """The gateway's own decryption key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
