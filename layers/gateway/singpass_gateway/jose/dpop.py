"""DPoP (RFC 9449): the per-login software key, its text form for the login transaction, and the proofs."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey


def new_dpop_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 key for one login's DPoP proofs (RFC 9449): software, short-lived, never in KMS."""
    return ec.generate_private_key(ec.SECP256R1())


def dpop_key_to_text(key: ec.EllipticCurvePrivateKey) -> str:
    return str(jwt.algorithms.ECAlgorithm.to_jwk(key))


def dpop_key_from_text(text: str) -> ec.EllipticCurvePrivateKey:
    key = jwt.algorithms.ECAlgorithm.from_jwk(text)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("not a private EC key")
    return key


def jwk_thumbprint(key: ec.EllipticCurvePrivateKey) -> str:
    """RFC 7638 thumbprint of the key's public half (``dpop_jkt``, ``cnf.jkt``)."""
    return ECKey.import_key(key.public_key()).thumbprint()


def dpop_proof(
    key: ec.EllipticCurvePrivateKey,
    method: str,
    url: str,
    now: int,
    nonce: str | None = None,
    access_token: str | None = None,
) -> str:
    """An RFC 9449 proof: ``typ dpop+jwt``, the public JWK, a fresh 128-bit ``jti``, ``htu`` without query or
    fragment, ``ath`` on resource requests, and the server's ``nonce`` when it asked for one."""
    claims: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": method,
        "htu": url.split("?", 1)[0].split("#", 1)[0],
        "iat": now,
        "exp": now + 60,
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if access_token is not None:
        digest = hashlib.sha256(access_token.encode("ascii")).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    public_jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return jwt.encode(claims, key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": public_jwk})
