"""JWT access tokens (RFC 9068) as the proof of who logged in, where a plain OAuth 2.0 server issues no ID token.

An access token is meant for a resource server, and here the gateway is that resource server: it verifies the
token as RFC 9068 §4 asks before trusting a single claim. The ``typ`` header keeps an ID token, a logout token or
any other JWT the server signs from passing as an access token (RFC 8725 §3.11); ``aud`` keeps a token the server
minted for another API or client from being replayed here; ``client_id``, where present, must be this client's.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from ._errors import reject
from .claims import check_times
from .jwks import JwksCache
from .jws import verify_with_jwks


@dataclass(frozen=True)
class AccessTokenPolicy:
    issuer: str
    audience: str
    """This gateway's identifier at the server: a configured resource/API identifier, or the client id."""
    client_id: str
    jwks_url: str
    algorithms: tuple[str, ...]
    types: tuple[str, ...]
    """``typ`` header values accepted, compared case-insensitively; a token without ``typ`` counts as ``JWT``."""


def verify_access_token(token: str, policy: AccessTokenPolicy, jwks: JwksCache, now: float) -> dict[str, Any]:
    """The token's claims once its signature (a key of the server's JWKS, an allowed ``alg``), ``typ``, ``iss``,
    ``aud``, ``client_id`` and times (``exp`` and ``iat`` required, ``nbf`` where present) all check out."""
    header, claims = verify_with_jwks(token, policy.algorithms, policy.jwks_url, jwks)
    token_type = header.get("typ", "JWT")
    if not isinstance(token_type, str) or token_type.lower() not in {name.lower() for name in policy.types}:
        reject(f"typ {str(token_type)[:32]!r} is not an access token type accepted here")
    if claims.get("iss") != policy.issuer:
        reject("iss does not match the server's issuer")
    if policy.audience not in _audiences(claims.get("aud")):
        reject("aud does not name this client or API")
    if "client_id" in claims and claims["client_id"] != policy.client_id:
        reject("the access token was issued to another client")
    check_times(claims, now, required=("exp", "iat"))
    return claims


def _audiences(audience: object) -> Collection[object]:
    """RFC 7519 §4.1.3: one string or an array of them."""
    return audience if isinstance(audience, list) else [audience]
