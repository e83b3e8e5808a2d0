"""The gateway's own keys as an OAuth client: ``private_key_jwt`` assertions signed with them, and their public
halves as client JWKS entries (which is where providers find the keys to check assertions and encrypt to)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from ..keys import KeyUnavailable, PrivateKey, SigningAlgorithm
from .delegated import DelegatedEcKey, DelegatedRsaKey


def sign_client_assertion(key: PrivateKey, claims: Mapping[str, Any], alg: SigningAlgorithm = "ES256") -> str:
    """A ``private_key_jwt`` client assertion (ES256 or RS256), signed through the key interface (KMS or PEM)."""
    signer = DelegatedEcKey(key) if alg == "ES256" else DelegatedRsaKey(key)
    return jwt.encode(dict(claims), signer, algorithm=alg, headers={"kid": key.key_id, "typ": "JWT"})


def public_jwk(key: PublicKeyTypes) -> dict[str, Any]:
    """An EC or RSA public key as a JWK, for the client JWKS."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return jwt.algorithms.ECAlgorithm.to_jwk(key, as_dict=True)
    if isinstance(key, rsa.RSAPublicKey):
        return jwt.algorithms.RSAAlgorithm.to_jwk(key, as_dict=True)
    raise KeyUnavailable("only EC and RSA keys are published in the client JWKS")


def published_jwk(key: PrivateKey, use: str, alg: str) -> dict[str, Any]:
    """A key's public half as a client JWKS entry, with its ``kid``, ``use`` and ``alg``."""
    return {**public_jwk(key.public_key()), "kid": key.key_id, "use": use, "alg": alg}
