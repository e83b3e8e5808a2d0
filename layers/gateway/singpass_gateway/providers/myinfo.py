"""What MyInfo v3 and v4 share: their documented error statuses, and reading the person document.

MyInfo answers errors as ``{code, message, fields}``; ``message`` can echo the signed base string (client
secret included, in MockPass) or the person's UIN/FIN, so only the numeric ``code`` reaches a log line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from ..errors import (
    GatewayError,
    InvalidToken,
    NoMyinfoProfile,
    ProviderMaintenance,
    ProviderUnavailable,
    RequestForbidden,
    RequestUnauthorized,
    TokenRejected,
)
from ..http import HttpResponse
from ..person import normalise, provenance
from . import Identity

Step = Literal["token", "person"]

_STATUS_ERRORS: Mapping[tuple[Step, int], type[GatewayError]] = {
    ("token", 400): TokenRejected,  # the code was reused, expired, revoked or never issued
    ("token", 401): RequestUnauthorized,
    ("token", 403): RequestForbidden,
    ("token", 404): RequestForbidden,
    ("person", 401): RequestUnauthorized,
    ("person", 403): RequestForbidden,
    ("person", 404): NoMyinfoProfile,
}


def access_token_subject(claims: Mapping[str, Any], now: int, max_length: int) -> str:
    """The ``sub`` of a verified MyInfo access token, once it is current: ``exp`` required, ``nbf`` and ``iat``
    honoured where present, each a NumericDate within the gateway's clock skew."""
    from ..jose import check_times

    check_times(claims, now, required=("exp",))
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > max_length or not sub.isascii():
        raise InvalidToken("access token without a usable sub")  # a UIN/FIN or a UUID, in the person URL
    return sub


def compact_jwe(response: HttpResponse) -> str:
    """The person response's body, which must be a compact JWE (ASCII)."""
    try:
        return response.body.decode("ascii").strip()
    except UnicodeDecodeError:
        raise InvalidToken("person response is not a compact JWE") from None


def raise_for_status(response: HttpResponse, step: Step) -> None:
    """Nothing for a 200; otherwise the error the frontend shows for MyInfo's documented status."""
    if response.status == 200:
        return
    detail = f"MyInfo {step} answered HTTP {response.status} (code {error_code(response)})"
    error = _STATUS_ERRORS.get((step, response.status))
    if error is None:
        if response.status == 503:
            error = ProviderMaintenance
        elif response.status >= 500:
            error = ProviderUnavailable
        else:
            error = TokenRejected if step == "token" else RequestForbidden
    raise error(detail)


def error_code(response: HttpResponse) -> str:
    """MyInfo's own ``code`` (or an OAuth ``error``) from an error body: short, and never personal data."""
    try:
        body = json.loads(response.body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser's limit
        return "none"
    value = body.get("code", body.get("error")) if isinstance(body, dict) else None
    return str(value)[:32] if isinstance(value, (str, int)) else "none"


def identity(sub: str, document: object, identifying: tuple[str, ...]) -> Identity:
    """The person a verified person document describes, once it is certain it is the one asked for.

    ``identifying`` names the attributes that hold what ``sub`` is: v3's ``sub`` is the UIN/FIN (or a UUID),
    v4's is the person's UUID, never the NRIC.
    """
    if not isinstance(document, dict):
        raise InvalidToken("person data is not a JSON object")
    check_subject(document, sub, identifying)
    return Identity(sub=sub, person=normalise(document), provenance=provenance(document))


def check_subject(document: Mapping[str, Any], sub: str, identifying: tuple[str, ...]) -> None:
    """Refuse data that names someone else, by a ``sub`` claim or an identifying attribute.

    Data naming nobody (no such attribute requested) is accepted: MyInfo signed it for this ``sub``'s URL.
    """
    names = [document.get("sub")] + [_value(document.get(name)) for name in identifying]
    present = [name for name in names if isinstance(name, str) and name]
    if present and sub not in present:
        raise InvalidToken("person data names someone other than the token's subject")


def _value(attribute: object) -> object:
    return attribute.get("value") if isinstance(attribute, dict) else None
