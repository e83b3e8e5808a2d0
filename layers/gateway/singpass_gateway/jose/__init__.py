"""The only package that parses tokens: JWS/JWT through PyJWT, JWE through joserfc.

Every entry point takes an exact algorithm allow-list from its caller (the provider) and caps the input size
before parsing. Verification keys come only from the provider's JWKS, never from token headers (``jwk``,
``jku``, ``x5u``, ``x5c`` are ignored). Heavy imports (PyJWT, joserfc, cryptography) happen here, and this
package is only imported by the callback path, so the login and session handlers do not pay for them at cold
start.

One concern per module: :mod:`.jwks` (provider keys), :mod:`.jws` (signature verification), :mod:`.claims`
(ID-token claim checks), :mod:`.access_tokens` (RFC 9068 access tokens), :mod:`.jwe` (decryption), :mod:`.dpop`
(DPoP keys and proofs), :mod:`.client_keys` (client assertions and the client JWKS), :mod:`.delegated` (the
gateway's keys as PyJWT/joserfc keys), and :mod:`.limits` (size caps). Callers import from here,
``singpass_gateway.jose``, not from the modules.
"""

from __future__ import annotations

from .access_tokens import AccessTokenPolicy, verify_access_token
from .claims import (
    CLOCK_SKEW_SECONDS,
    MAX_ID_TOKEN_AGE_SECONDS,
    IdTokenPolicy,
    check_id_token_claims,
    check_times,
    numeric_date,
)
from .client_keys import public_jwk, published_jwk, sign_client_assertion
from .dpop import dpop_key_from_text, dpop_key_to_text, dpop_proof, jwk_thumbprint, new_dpop_key
from .jwe import (
    REPLICATED_CLAIMS,
    decrypt_nested_jws,
    decrypt_with_private_key,
    decrypt_with_symmetric_jwk,
    decryption_key_for,
    jwe_key_id,
    parse_json_object,
)
from .jwks import JwksCache, JwksKey
from .jws import verify_id_token, verify_signed_jwt, verify_with_jwks, verify_with_public_keys
from .limits import MAX_DOCUMENT_BYTES, MAX_ENCRYPTED_TOKEN_BYTES, MAX_JWKS_KEYS, MAX_TOKEN_BYTES

__all__ = [
    "CLOCK_SKEW_SECONDS",
    "MAX_DOCUMENT_BYTES",
    "MAX_ENCRYPTED_TOKEN_BYTES",
    "MAX_ID_TOKEN_AGE_SECONDS",
    "MAX_JWKS_KEYS",
    "MAX_TOKEN_BYTES",
    "REPLICATED_CLAIMS",
    "AccessTokenPolicy",
    "IdTokenPolicy",
    "JwksCache",
    "JwksKey",
    "check_id_token_claims",
    "check_times",
    "decrypt_nested_jws",
    "decrypt_with_private_key",
    "decrypt_with_symmetric_jwk",
    "decryption_key_for",
    "dpop_key_from_text",
    "dpop_key_to_text",
    "dpop_proof",
    "jwe_key_id",
    "jwk_thumbprint",
    "new_dpop_key",
    "numeric_date",
    "parse_json_object",
    "public_jwk",
    "published_jwk",
    "sign_client_assertion",
    "verify_access_token",
    "verify_id_token",
    "verify_signed_jwt",
    "verify_with_jwks",
    "verify_with_public_keys",
]
