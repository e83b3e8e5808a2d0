"""JWE decryption through joserfc: to the gateway's own keys (KMS or PEM), or to a symmetric JWK.

The gateway's keys are chosen by the ``kid`` a JWE names and reached through the :mod:`.delegated` adapters;
the caller's algorithm list goes to joserfc as an exact allow-list, and unknown header members are refused
except the payload claims providers replicate into the header.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey, RSAKey
from joserfc.registry import HeaderParameter

from ..keys import DecryptionFailed, PrivateKey
from ._errors import reject
from .delegated import DelegatedEcJwk, DelegatedEcKey, DelegatedRsaJwk, DelegatedRsaKey
from .limits import MAX_TOKEN_BYTES


def decrypt_with_private_key(
    token: str, key: PrivateKey, algorithms: Collection[str], max_bytes: int = 4 * MAX_TOKEN_BYTES
) -> bytes:
    """Decrypt a compact JWE whose content key is wrapped to one of the gateway's RSA keys (KMS or PEM)."""
    delegated = DelegatedRsaKey(key)
    return _decrypt(token, DelegatedRsaJwk(delegated, delegated), algorithms, max_bytes)


def decrypt_nested_jws(
    token: str, key: PrivateKey, algorithms: Collection[str], max_bytes: int = 4 * MAX_TOKEN_BYTES
) -> str:
    """Decrypt a compact JWE (ECDH-ES through the key interface) that must wrap a compact JWS; the JWS."""
    delegated = DelegatedEcKey(key)
    inner = _decrypt(token, DelegatedEcJwk(delegated, delegated), algorithms, max_bytes)
    text = inner.decode("ascii", errors="replace").strip().strip('"')
    if text.count(".") != 2:
        reject("the JWE does not wrap a signed JWT")
    return text


def jwe_key_id(token: str) -> str | None:
    """The ``kid`` a compact JWE's protected header names (to pick the key), or None; nothing is trusted yet."""
    if not isinstance(token, str) or token.count(".") != 4:
        reject("not a compact JWE")
    try:
        header = json.loads(base64.urlsafe_b64decode(token.split(".", 1)[0] + "=="))
    except (ValueError, TypeError, RecursionError):  # RecursionError: nested deeper than the parser's limit
        reject("unreadable JWE header")
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def decryption_key_for(token: str, keys: Sequence[PrivateKey]) -> PrivateKey:
    """The gateway key a compact JWE is encrypted to, by the ``kid`` its header names; without a kid, the only
    key there is. Several keys are configured while one rotates, and the provider may encrypt to any key it read
    in the client JWKS, so each is accepted; a kid none of them has is refused, and nothing is guessed."""
    kid = jwe_key_id(token)
    candidates = [key for key in keys if kid is None or key.key_id == kid]
    if len(candidates) != 1:
        reject("encrypted to a key this client does not have (or names none among several)")
    return candidates[0]


def decrypt_with_symmetric_jwk(token: str, jwk: Mapping[str, Any], algorithms: Collection[str]) -> bytes:
    """Decrypt a compact JWE with a symmetric JWK that an earlier decryption revealed (sgID's block key)."""
    try:
        key = OctKey.import_key(dict(jwk))
    except (JoseError, ValueError, TypeError):
        reject("symmetric key is not a valid JWK")
    return _decrypt(token, key, algorithms)


def parse_json_object(data: bytes | str, what: str) -> dict[str, Any]:
    """A decrypted payload that must be a JSON object."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser's limit
        reject(f"{what} is not JSON")
    if not isinstance(value, dict):
        reject(f"{what} is not a JSON object")
    return value


def _string_or_strings(value: object) -> None:
    if not isinstance(value, str) and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise ValueError("must be a string or a list of strings")


REPLICATED_CLAIMS = {
    "iss": HeaderParameter("Issuer, replicated from the payload (RFC 7519 §5.3)", "str"),
    "sub": HeaderParameter("Subject, replicated from the payload (RFC 7519 §5.3)", "str"),
    "aud": HeaderParameter("Audience, replicated from the payload (RFC 7519 §5.3)", _string_or_strings),
}
"""Header members providers may add to a JWE (oidc-provider does); anything else unknown is still refused."""


def _decrypt(
    token: str, key: RSAKey | OctKey | ECKey, algorithms: Collection[str], max_bytes: int = 4 * MAX_TOKEN_BYTES
) -> bytes:
    if not isinstance(token, str) or len(token) > max_bytes or token.count(".") != 4:
        reject("not a compact JWE of acceptable size")
    registry = jwe.JWERegistry(header_registry=REPLICATED_CLAIMS, algorithms=list(algorithms))
    try:
        return jwe.decrypt_compact(token, key, registry=registry).plaintext or b""
    except DecryptionFailed:
        reject("content key did not decrypt")
    except (JoseError, ValueError, TypeError, KeyError) as error:
        reject(f"JWE rejected: {type(error).__name__}")
