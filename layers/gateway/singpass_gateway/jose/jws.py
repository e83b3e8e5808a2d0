"""JWS verification through PyJWT: ID tokens and signed JWTs with the provider's JWKS, or with pinned keys.

The header is read first only to check ``alg`` against the caller's exact allow-list and the size cap; PyJWT
then checks the signature alone (claims are checked by :mod:`.claims`, with the gateway's clock).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection, Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from ._errors import reject
from .claims import IdTokenPolicy, check_id_token_claims
from .jwks import KEY_TYPES, JwksCache, select_key
from .limits import MAX_TOKEN_BYTES

_SIGNATURE_ONLY: jwt.types.Options = {
    "verify_signature": True,
    "verify_aud": False,
    "verify_iss": False,
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
    "verify_sub": False,  # an access token's subject may be an integer (GitHub-style ids): the caller decides
    "verify_jti": False,
}
"""PyJWT checks the signature only; claims are checked by the gateway's own code, with its clock."""


def verify_id_token(
    token: str, policy: IdTokenPolicy, jwks: JwksCache, nonce: str, now: int, access_token: str | None = None
) -> dict[str, Any]:
    """Verify an ID token's signature and claims (and ``at_hash`` when present); the claims, or InvalidToken."""
    header = _jws_header(token, policy.algorithms)
    claims = _verified_payload(token, header, policy.jwks_url, jwks)
    check_id_token_claims(claims, policy, nonce, now)
    if access_token is not None and "at_hash" in claims:
        _check_at_hash(claims["at_hash"], access_token, header["alg"])
    return claims


def _check_at_hash(at_hash: object, access_token: str, alg: str) -> None:
    """OIDC Core 3.1.3.6: the left half of the access token's hash, with the hash size of the ID token's alg."""
    digest = hashlib.new("sha" + alg[-3:], access_token.encode()).digest()
    expected = base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
    if (
        not isinstance(at_hash, str)
        or not at_hash.isascii()  # a lone surrogate would not even encode
        or not hmac.compare_digest(at_hash.encode(), expected.encode())
    ):
        reject("at_hash does not match the access token")


def verify_signed_jwt(
    token: str, policy: IdTokenPolicy, jwks: JwksCache, max_bytes: int = MAX_TOKEN_BYTES
) -> dict[str, Any]:
    """A JWS's payload once its signature verifies with the provider's keys (claims are the caller's job)."""
    return _verified_payload(token, _jws_header(token, policy.algorithms, max_bytes), policy.jwks_url, jwks)


def verify_with_jwks(
    token: str, algorithms: Collection[str], jwks_url: str, jwks: JwksCache
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A JWS's header and payload once its signature verifies with a key from ``jwks_url`` (claims are the
    caller's job): for JWTs that are not ID tokens, such as RFC 9068 access tokens."""
    header = _jws_header(token, algorithms)
    return header, _verified_payload(token, header, jwks_url, jwks)


def verify_with_public_keys(
    token: str, keys: Collection[PublicKeyTypes], algorithms: Collection[str], max_bytes: int = MAX_TOKEN_BYTES
) -> dict[str, Any]:
    """A JWS's payload once it verifies with one of ``keys``: pinned keys (MyInfo v3's certificates), of which
    there are two while the provider rotates, and no kid to choose between them."""
    header = _jws_header(token, algorithms, max_bytes)
    key_type = rsa.RSAPublicKey if KEY_TYPES.get(header["alg"]) == "RSA" else ec.EllipticCurvePublicKey
    for key in keys:
        if not isinstance(key, key_type):
            continue
        try:
            payload: dict[str, Any] = jwt.decode(token, key, algorithms=[header["alg"]], options=_SIGNATURE_ONLY)
            return payload
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as error:
            reject(f"JWS rejected: {type(error).__name__}")
    reject("signature does not verify with the pinned certificates")


def _jws_header(token: str, algorithms: Collection[str], max_bytes: int = MAX_TOKEN_BYTES) -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > max_bytes or token.count(".") != 2 or not token.isascii():
        reject("not a compact JWS of acceptable size")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        reject("unreadable JWS header")
    if header.get("alg") not in algorithms:
        reject(f"alg {str(header.get('alg'))[:16]!r} not allowed")
    return header


def _verified_payload(token: str, header: Mapping[str, Any], jwks_url: str, jwks: JwksCache) -> dict[str, Any]:
    """Verify with the matching JWKS key; on an unknown kid or a failed kid-less signature, refetch once."""
    for refresh in (False, True):
        key = select_key(jwks.keys(jwks_url, refresh=refresh), header)
        if key is None:
            continue
        try:
            payload: dict[str, Any] = jwt.decode(token, key.key, algorithms=[header["alg"]], options=_SIGNATURE_ONLY)
            return payload
        except jwt.InvalidSignatureError:
            if header.get("kid"):
                break
        except jwt.PyJWTError as error:
            reject(f"JWS rejected: {type(error).__name__}")
    reject("signature does not verify with the provider's keys")
