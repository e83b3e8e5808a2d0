"""JWE decryption through joserfc: to the gateway's own keys (KMS or PEM), or to a symmetric JWK.

The gateway's keys are chosen by the ``kid`` a JWE names and reached through the :mod:`.delegated` adapters;
the caller's algorithm list goes to joserfc as an exact allow-list, and unknown header members are refused
except the payload claims providers replicate into the header.

Size: each entry point takes the caller's limit on the whole compact JWE (:mod:`.limits`: 1 MiB for a person
document, 64 KiB for an ID token), checked before anything is parsed, and the only limit on what grows with the
data. joserfc's own caps on the parts (1 KiB of protected header, 64 KiB of ciphertext: about 48 KB of person
JSON) would otherwise refuse a person with a long CPF history as an ``ExceededSizeError`` (:data:`SIZED_PARTS`).

At the limit: a JWE over the caller's limit is refused as ``invalid_token``, as is any token that fails one of the
gateway's checks; the reason, for the log, gives its size and the limit. A person document over 1 MiB never gets
this far in practice: the HTTP client reads no answer over that and refuses it as ``provider_unavailable``.
Compressed JWEs (``zip``) are refused: no caller allows ``DEF``, so nothing is ever decompressed.
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
from .limits import MAX_ENCRYPTED_TOKEN_BYTES

SIZED_PARTS = ("max_protected_header_length", "max_ciphertext_length")
"""joserfc's caps on the parts of a compact JWE that grow with what a provider sends, each raised to the caller's
limit on the whole: the ciphertext (the person data) and the protected header (replicated claims, the ECDH-ES
``epk``). The parts whose size the algorithms fix keep joserfc's caps, which no valid JWE comes near: the
encrypted key (1 KiB: an RSA-4096-wrapped key is 683 characters, and nothing larger must reach KMS's Decrypt),
the initialization vector and the tag (64 characters). joserfc's cap on the whole is the sum of the parts' caps,
so it cannot bind first either."""


def decrypt_with_private_key(
    token: str, key: PrivateKey, algorithms: Collection[str], max_bytes: int = MAX_ENCRYPTED_TOKEN_BYTES
) -> bytes:
    """Decrypt a compact JWE whose content key is wrapped to one of the gateway's RSA keys (KMS or PEM)."""
    delegated = DelegatedRsaKey(key)
    return _decrypt(token, DelegatedRsaJwk(delegated, delegated), algorithms, max_bytes)


def decrypt_nested_jws(
    token: str, key: PrivateKey, algorithms: Collection[str], max_bytes: int = MAX_ENCRYPTED_TOKEN_BYTES
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


def decrypt_with_symmetric_jwk(
    token: str, jwk: Mapping[str, Any], algorithms: Collection[str], max_bytes: int = MAX_ENCRYPTED_TOKEN_BYTES
) -> bytes:
    """Decrypt a compact JWE with a symmetric JWK that an earlier decryption revealed (sgID's block key)."""
    try:
        key = OctKey.import_key(dict(jwk))
    except (JoseError, ValueError, TypeError):
        reject("symmetric key is not a valid JWK")
    return _decrypt(token, key, algorithms, max_bytes)


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
    token: str, key: RSAKey | OctKey | ECKey, algorithms: Collection[str], max_bytes: int = MAX_ENCRYPTED_TOKEN_BYTES
) -> bytes:
    """The plaintext of a compact JWE of at most ``max_bytes`` characters, or InvalidToken."""
    if not isinstance(token, str):
        reject("not a compact JWE")
    if len(token) > max_bytes:
        reject(f"JWE over the acceptable size ({len(token)} > {max_bytes} bytes)")
    if token.count(".") != 4:
        reject("not a compact JWE")
    registry = _registry(algorithms, max_bytes)
    try:
        return jwe.decrypt_compact(token, key, registry=registry).plaintext or b""
    except DecryptionFailed:
        reject("content key did not decrypt")
    except (JoseError, ValueError, TypeError, KeyError, RecursionError) as error:  # Recursion: a deeply nested header
        reject(f"JWE rejected: {type(error).__name__}")


def _registry(algorithms: Collection[str], max_bytes: int) -> jwe.JWERegistry:
    """joserfc's registry for one JWE: the caller's algorithms as an exact allow-list, the replicated claims as
    the only extra header members, and the caller's size limit in place of joserfc's (see :data:`SIZED_PARTS`)."""
    registry = jwe.JWERegistry(header_registry=REPLICATED_CLAIMS, algorithms=list(algorithms))
    for part in SIZED_PARTS:
        setattr(registry, part, max_bytes)
    return registry
