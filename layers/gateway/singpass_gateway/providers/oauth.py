"""OAuth 2.0 / OIDC machinery shared by providers: token responses, client authentication, error mapping, and
the RFC 9207 ``iss`` check of a callback.

Statuses map to the frontend's codes the same way for every provider: 5xx and malformed bodies mean the
provider is unavailable; other non-200 answers mean it refused us (``token_rejected``). Only the OAuth ``error``
code is kept for the log line, never ``error_description``, which may echo request data.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ..errors import InvalidCallback, InvalidToken, ProviderMaintenance, ProviderUnavailable, TokenRejected
from ..http import HttpResponse

TRANSIENT_ERRORS = frozenset({"server_error", "temporarily_unavailable", "upstream_depedency_error"})
"""OAuth ``error`` codes that say "try again later" rather than "you asked wrongly": RFC 6749's two, and the
upstream-dependency error Singpass documents (spelt so, sic)."""


def json_object(response: HttpResponse, endpoint: str) -> dict[str, Any]:
    """A 200 JSON object from ``endpoint``. A provider that says it is down for now (``temporarily_unavailable``,
    in any status) is in maintenance; one that answers 5xx or another passing error is unavailable: both are codes
    the frontend can offer "try again" for, unlike a refusal."""
    error = oauth_error(response) if response.status != 200 else ""
    if error == "temporarily_unavailable":
        raise ProviderMaintenance(f"{endpoint} endpoint answered HTTP {response.status}: {error}")
    if response.status >= 500 or error in TRANSIENT_ERRORS:
        raise ProviderUnavailable(f"{endpoint} endpoint answered HTTP {response.status}: {error}")
    if response.status != 200:
        raise TokenRejected(f"{endpoint} endpoint answered HTTP {response.status}: {oauth_error(response)}")
    body = response.json()
    if not isinstance(body, dict):
        raise ProviderUnavailable(f"{endpoint} endpoint answered a non-object body")
    return body


def token_response(
    response: HttpResponse,
    *,
    require_id_token: bool,
    token_type: str = "Bearer",  # noqa: S107 - a token type, not a secret
) -> dict[str, Any]:
    """The token endpoint's answer, with the members every flow relies on checked.

    ``token_type`` is compared case-insensitively (FAPI conformance tests both cases); a ``Bearer`` token where
    DPoP was asked for is refused. ``expires_in`` is optional.
    """
    body = json_object(response, "token")
    required = ("access_token", "id_token") if require_id_token else ("access_token",)
    if not all(isinstance(body.get(name), str) and body[name] for name in required):
        raise InvalidToken(f"token response lacks {' or '.join(required)}")
    if not all(" " <= char <= "~" for char in body["access_token"]):  # RFC 6749 A.12: 1*VSCHAR
        raise InvalidToken("token response has an access_token that is not printable ASCII")
    if not isinstance(body.get("refresh_token", ""), str):  # e.g. null or true: no refresh token, not "True"
        del body["refresh_token"]
    answered = body.get("token_type", "Bearer")
    if not isinstance(answered, str) or answered.lower() != token_type.lower():
        raise InvalidToken(f"token response is not a {token_type} token")
    return body


def check_issuer_parameter(params: Mapping[str, str], issuer: str, *, required: bool) -> None:
    """RFC 9207, before the code is spent: a callback's ``iss`` must name exactly the issuer the login went to
    (the mix-up defence), and a provider that promises the parameter (``required``) must send it."""
    answered = params.get("iss")
    if answered is None and required:
        raise InvalidCallback("the provider promises an iss parameter and the callback has none")
    if answered is not None and answered != issuer:
        raise InvalidCallback("the callback's iss parameter names another issuer (mix-up)")


def basic_authorization(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: both parts form-urlencoded before base64, so ':' or '%' in a secret survive."""
    credentials = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def oauth_error(response: HttpResponse) -> str:
    """The OAuth ``error`` code from a JSON body or a ``WWW-Authenticate`` header."""
    try:
        error = json.loads(response.body).get("error")
    except (ValueError, AttributeError, RecursionError):  # RecursionError: nested deeper than the parser's limit
        error = None
    if not isinstance(error, str):
        header = response.headers.get("WWW-Authenticate", "")
        error = header.split('error="', 1)[1].split('"', 1)[0] if 'error="' in header else "unknown"
    return error[:64]
