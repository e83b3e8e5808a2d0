"""How a confidential client proves itself to a token, PAR, introspection or revocation endpoint (RFC 6749 §2.3).

Shared by every provider type that speaks OAuth 2.0 to its server (OpenID Connect and its FAPI profiles, and plain
OAuth 2.0): ``client_secret_basic``, ``client_secret_post`` (the secret read from Secrets Manager, never from
configuration) and ``private_key_jwt`` (an assertion signed through the key interface, so a KMS key never leaves
KMS). Every call gets a fresh assertion: servers refuse a spent ``jti``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ..errors import ConfigurationError
from . import Options, Toolkit, oauth

if TYPE_CHECKING:
    from ..keys import PrivateKey, SigningAlgorithm

METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
OPTIONS = frozenset(
    {"client_id", "client_auth", "client_secret_arn", "signing_key_arn", "additional_signing_key_arns",
     "assertion_audience", "assertion_algorithm"}
)  # fmt: skip
"""The provider options this module reads; a provider type adds them to its own."""
ASSERTION_LIFETIME_SECONDS = 60
"""Singpass accepts at most 2 minutes between a client assertion's ``iat`` and ``exp``."""
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class ClientAuthConfig:
    client_id: str
    method: str
    secret_arn: str | None
    signing_key_arn: str | None
    additional_signing_key_arns: tuple[str, ...]
    """Published in the client JWKS but never used to sign: the next key before the switch to it, or the previous
    one until the provider's JWKS cache forgets it (rotation without downtime)."""
    assertion_audience: str
    """``issuer`` (FAPI 2.0, Singpass) or ``token_endpoint`` (RFC 7523's usual reading)."""
    assertion_algorithm: SigningAlgorithm


def parse_client_auth(options: Options, provider_id: str) -> ClientAuthConfig:
    """The client options, each checked; a secret-based method needs a secret ARN, ``private_key_jwt`` a key ARN."""
    method = options.choice("client_auth", METHODS, "client_secret_basic")
    private_key_jwt = method == "private_key_jwt"
    additional = options.arns("additional_signing_key_arns", required=False, current="signing_key_arn")
    if additional and not private_key_jwt:
        raise ConfigurationError(f"provider {provider_id}: additional_signing_key_arns need private_key_jwt")
    return ClientAuthConfig(
        client_id=options.string("client_id"),
        method=method,
        secret_arn=None if private_key_jwt else options.arn("client_secret_arn"),
        signing_key_arn=options.arn("signing_key_arn") if private_key_jwt else None,
        additional_signing_key_arns=additional,
        assertion_audience=options.choice("assertion_audience", ("issuer", "token_endpoint"), "token_endpoint"),
        assertion_algorithm=cast(
            "SigningAlgorithm", options.choice("assertion_algorithm", ("ES256", "RS256"), "ES256")
        ),
    )


class ClientAuthenticator:
    """The credentials of one client, made afresh for every request."""

    def __init__(self, config: ClientAuthConfig, toolkit: Toolkit) -> None:
        self.config = config
        self._toolkit = toolkit
        self.signing_key: PrivateKey | None = toolkit.key(config.signing_key_arn) if config.signing_key_arn else None
        self.published_signing_keys: list[PrivateKey] = (
            [self.signing_key, *map(toolkit.key, config.additional_signing_key_arns)] if self.signing_key else []
        )
        """The key in use first, then those being introduced or retired: what the client JWKS lists."""

    def credentials(self, issuer: str, token_endpoint: str, now: int) -> tuple[dict[str, str], dict[str, str]]:
        """The form members and headers that authenticate this client to any of the server's endpoints."""
        if self.signing_key is not None:
            return self._assertion_form(issuer, token_endpoint, now), {}
        assert self.config.secret_arn is not None
        secret = self._toolkit.secrets.get(self.config.secret_arn)
        if self.config.method == "client_secret_basic":
            return {}, {"Authorization": oauth.basic_authorization(self.config.client_id, secret)}
        return {"client_id": self.config.client_id, "client_secret": secret}, {}

    def published_jwks(self) -> list[dict[str, Any]]:
        """The public halves of the signing keys, as registered with the server (empty for secret-based methods)."""
        from .. import jose

        alg = self.config.assertion_algorithm
        return [jose.published_jwk(key, "sig", alg) for key in self.published_signing_keys]

    def _assertion_form(self, issuer: str, token_endpoint: str, now: int) -> dict[str, str]:
        from .. import jose

        assert self.signing_key is not None
        client_id = self.config.client_id
        assertion = jose.sign_client_assertion(
            self.signing_key,
            {
                "iss": client_id,
                "sub": client_id,
                "aud": issuer if self.config.assertion_audience == "issuer" else token_endpoint,
                "iat": now,
                "exp": now + ASSERTION_LIFETIME_SECONDS,
                "jti": secrets.token_urlsafe(32),
            },
            self.config.assertion_algorithm,
        )
        return {"client_id": client_id, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
