"""ID-token claim checks (OIDC Core 3.1.3.7), done by the gateway's own code with a clock passed in.

PyJWT only verifies signatures (see :mod:`.jws`); every time claim is checked here, against one clock skew.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import reject

CLOCK_SKEW_SECONDS = 60
"""The one tolerance for clocks that disagree, used for every time claim the gateway checks."""
MAX_ID_TOKEN_AGE_SECONDS = 600
"""An ID token issued longer ago than a whole login transaction may live is stale."""


def numeric_date(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    """A time claim as RFC 7519 §2 defines NumericDate: any JSON number of seconds, fractions included (OIDC Core
    calls ``iat`` "a JSON number", Singpass types it "Number", and MockPass 4.6 sends ``1796264102.649``). A
    boolean, string, ``null``, NaN or infinity (Python's JSON parser reads ``NaN`` and ``Infinity``) is refused,
    as is a claim that is required and absent."""
    if name not in claims:
        if required:
            reject(f"{name} missing")
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        reject(f"{name} is not a NumericDate")
    try:
        seconds = float(value)
    except OverflowError:  # an integer too large for a float: no date
        reject(f"{name} is not a NumericDate")
    if not math.isfinite(seconds):
        reject(f"{name} is not a NumericDate")
    return seconds


def check_times(
    claims: Mapping[str, Any], now: float, *, required: tuple[str, ...] = (), max_age: float | None = None
) -> None:
    """``exp``, ``nbf`` and ``iat`` wherever a token carries them (and those ``required``), each within the one clock
    skew: not expired, not yet valid, not issued in the future, and (``max_age``) not issued too long ago."""
    exp = numeric_date(claims, "exp", required="exp" in required)
    nbf = numeric_date(claims, "nbf", required="nbf" in required)
    iat = numeric_date(claims, "iat", required="iat" in required)
    if exp is not None and now >= exp + CLOCK_SKEW_SECONDS:
        reject("token expired (exp)")
    if nbf is not None and nbf > now + CLOCK_SKEW_SECONDS:
        reject("token not yet valid (nbf)")
    if iat is not None and iat > now + CLOCK_SKEW_SECONDS:
        reject("iat is in the future")
    if iat is not None and max_age is not None and iat < now - max_age - CLOCK_SKEW_SECONDS:
        reject("iat is stale")


@dataclass(frozen=True)
class IdTokenPolicy:
    """What a provider's ID tokens must satisfy."""

    issuer: str
    client_id: str
    jwks_url: str
    algorithms: tuple[str, ...]


def check_id_token_claims(claims: Mapping[str, Any], policy: IdTokenPolicy, nonce: str | None, now: int) -> None:
    """OIDC Core 3.1.3.7 checks, with the clock passed in so tests can fix it.

    ``nonce`` is None only for ID tokens from a refresh (OIDC Core 12.2), which carry no new nonce.
    """
    if claims.get("iss") != policy.issuer:
        reject("iss does not match the provider's issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if audiences != [policy.client_id]:
        reject("aud is not exactly this client")
    if "azp" in claims and claims["azp"] != policy.client_id:
        reject("azp is not this client")
    check_times(claims, now, required=("exp", "iat"), max_age=MAX_ID_TOKEN_AGE_SECONDS)
    token_nonce = claims.get("nonce")
    if nonce is not None and (
        not isinstance(token_nonce, str)
        or not token_nonce.isascii()  # the gateway's nonces are; a lone surrogate would not even encode
        or not hmac.compare_digest(token_nonce.encode(), nonce.encode())
    ):
        reject("nonce missing or does not match")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        reject("sub missing")
