"""Who logged in, for a plain OAuth 2.0 server: there is no ID token, so the access token has to say.

Three ways, chosen by configuration (``identity``), each verified before anything is trusted:

- ``access_token``: a JWT access token (RFC 9068) checked by :func:`singpass_gateway.jose.verify_access_token`;
- ``introspection``: an opaque token the server itself vouches for (RFC 7662), asked with this client's
  credentials; only ``active: true`` counts;
- ``user_endpoint``: an opaque token presented to a user API (``GET`` with ``Authorization: Bearer``, GitHub's
  ``/user`` style) whose JSON names the user in a field of its own (``id``, ``user_id``, ``sub``, …).

With the first two, a ``user_endpoint`` may add profile data; it must then name the same user. The subject must be
a non-empty string or an integer; anything else ends the login (``invalid_token``). What the token grants (scopes,
and a permissions claim such as ``permissions`` or ``roles``) is kept apart from the person, as ``access``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidToken, ProviderUnavailable
from . import Toolkit, oauth

SOURCES = ("access_token", "introspection", "user_endpoint")
PROTOCOL_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "scp", "azp", "sid", "cnf", "auth_time",
     "acr", "amr", "active", "token_type", "typ"}
)  # fmt: skip
"""Claims about the token (RFC 7519, RFC 9068, RFC 7662), not the person: left out of ``person``."""
ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")
"""The ``typ`` RFC 9068 §2.1 gives JWT access tokens, short and long; configurable for servers that predate it."""
MAX_SUBJECT_LENGTH = 255
MAX_DEPTH = 32
"""A user endpoint's JSON deeper than this is refused: no profile needs it, and each level costs every reader."""


@dataclass(frozen=True)
class IdentityConfig:
    source: str
    subject_claim: str
    """The claim (token, introspection) or field (user endpoint) that names the user."""
    person_claims: tuple[str, ...] | None
    """Copied into ``person``; None: every member that is not about the token, the subject or the grant."""
    permissions_claim: str
    algorithms: tuple[str, ...]
    audience: str
    token_types: tuple[str, ...]


@dataclass(frozen=True)
class ServerView:
    """What the identity step needs to know about the server, wherever its endpoints came from."""

    issuer: str | None
    jwks: str | None
    introspection: str | None
    user_endpoint: str | None


@dataclass(frozen=True)
class Identified:
    sub: str
    person: dict[str, Any]
    access: dict[str, list[str]] = field(default_factory=dict)
    """``scopes`` granted and ``permissions`` held, as the server says."""


Credentials = Callable[[], tuple[dict[str, str], dict[str, str]]]
"""This client's form members and headers for a call to the server (made afresh each time)."""


class IdentityReader:
    def __init__(self, config: IdentityConfig, client_id: str, toolkit: Toolkit) -> None:
        self._config = config
        self._client_id = client_id
        self._toolkit = toolkit

    def identify(
        self,
        tokens: Mapping[str, Any],
        server: ServerView,
        requested_scopes: tuple[str, ...],
        now: int,
        credentials: Credentials,
    ) -> Identified:
        """The user the token response's access token stands for, their data, and what the token grants."""
        access_token = str(tokens["access_token"])
        claims: dict[str, Any] | None = None
        if self._config.source == "access_token":
            claims = self._verified_jwt(access_token, server, now)
        elif self._config.source == "introspection":
            claims = self._introspected(access_token, server, now, credentials)
        user = self._user(access_token, server.user_endpoint) if server.user_endpoint else None
        described = claims if claims is not None else user
        assert described is not None  # a user_endpoint source always has its endpoint (checked at start-up)
        sub = subject(described, self._config.subject_claim)
        if claims is not None and user is not None and subject(user, self._config.subject_claim) != sub:
            raise InvalidToken("the user endpoint names another user than the access token")
        person = self._person(claims or {})
        if user is not None:
            person.update(self._person(user))
        return Identified(sub, person, self._access(claims or {}, tokens, requested_scopes))

    def _verified_jwt(self, access_token: str, server: ServerView, now: int) -> dict[str, Any]:
        from .. import jose

        assert server.issuer is not None  # checked at start-up
        assert server.jwks is not None  # checked at start-up, or when metadata is read
        policy = jose.AccessTokenPolicy(
            issuer=server.issuer,
            audience=self._config.audience,
            client_id=self._client_id,
            jwks_url=server.jwks,
            algorithms=self._config.algorithms,
            types=self._config.token_types,
        )
        return jose.verify_access_token(access_token, policy, self._toolkit.jwks, now)

    def _introspected(
        self, access_token: str, server: ServerView, now: int, credentials: Credentials
    ) -> dict[str, Any]:
        """RFC 7662: the server's own word on the token, asked as this client. Inactive (expired, revoked, never
        issued) or issued to another client or by another issuer: not a login."""
        from .. import jose

        if server.introspection is None:
            raise ProviderUnavailable("the server lists no introspection endpoint")
        form, headers = credentials()
        request = {"token": access_token, "token_type_hint": "access_token", **form}
        response = self._toolkit.http.post_form(server.introspection, request, headers, call="introspection")
        claims = oauth.json_object(response, "introspection")
        if claims.get("active") is not True:
            raise InvalidToken("the server says the access token is not active")
        if "client_id" in claims and claims["client_id"] != self._client_id:
            raise InvalidToken("the access token was issued to another client")
        if "iss" in claims and server.issuer is not None and claims["iss"] != server.issuer:
            raise InvalidToken("the introspected token names another issuer")
        jose.check_times(claims, now)
        return claims

    def _user(self, access_token: str, url: str) -> dict[str, Any]:
        """The user API's JSON object for the token's user (a 401 means the server no longer honours the token)."""
        response = self._toolkit.http.get(url, headers={"Authorization": f"Bearer {access_token}"}, call="userinfo")
        if response.status == 401:
            raise InvalidToken("the user endpoint refused the access token")
        body = oauth.json_object(response, "user")
        if _depth(body) > MAX_DEPTH:
            raise ProviderUnavailable(f"the user endpoint's JSON is nested deeper than {MAX_DEPTH}")
        return body

    def _person(self, source: Mapping[str, Any]) -> dict[str, Any]:
        if self._config.person_claims is not None:
            return {name: source[name] for name in self._config.person_claims if name in source}
        left_out = PROTOCOL_CLAIMS | {self._config.subject_claim, self._config.permissions_claim}
        return {name: value for name, value in source.items() if name not in left_out}

    def _access(
        self, claims: Mapping[str, Any], tokens: Mapping[str, Any], requested: tuple[str, ...]
    ) -> dict[str, list[str]]:
        """Scopes from the token (``scope``, or ``scp`` as some servers write it), else the token response, else
        those asked for (RFC 6749 §5.1: an omitted ``scope`` means the scopes requested); permissions from the
        configured claim."""
        for source, name in ((claims, "scope"), (claims, "scp"), (tokens, "scope")):
            if name in source:
                scopes = _strings(source[name], name)
                break
        else:
            scopes = list(requested)
        permissions = _strings(claims.get(self._config.permissions_claim, []), self._config.permissions_claim)
        return {"scopes": scopes, "permissions": permissions}


def subject(source: Mapping[str, Any], name: str) -> str:
    """The user's identifier: a non-empty string (printable, at most 255 characters) or an integer (GitHub's
    ``id``), as text. A boolean, float, null, object or blank is no identifier."""
    value = source.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # then held to the same length as any identifier (JSON integers run to 4300 digits)
    if not isinstance(value, str) or not value.strip():
        raise InvalidToken(f"the {name!r} naming the user is missing or not a string or integer")
    if len(value) > MAX_SUBJECT_LENGTH or not value.isprintable():
        raise InvalidToken(f"the {name!r} naming the user is too long or not printable")
    return value


def _strings(value: object, name: str) -> list[str]:
    """A space-separated string (RFC 6749 ``scope``) or an array of strings, as a list."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise InvalidToken(f"{name!r} is neither a space-separated string nor a list of strings")


def _depth(value: object) -> int:
    """How deeply ``value`` nests, counted without recursion (the JSON parser already bounded it)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            pending.extend((member, level + 1) for member in item.values())
        elif isinstance(item, list):
            pending.extend((member, level + 1) for member in item)
    return deepest
