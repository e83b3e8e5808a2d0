"""Any plain OAuth 2.0 authorization server (RFC 6749) with no OpenID Connect: seed 004's provider, company SSO
built on an OAuth 2.0 server, API platforms, GitHub-style APIs.

The authorization request carries ``response_type=code``, ``client_id``, ``redirect_uri``, ``state`` always,
``scope`` only when configured, and PKCE S256 unless switched off (``pkce: false``, for the rare server that refuses
parameters it does not know; RFC 6749 §3.1 says to ignore them). No ``nonce``: there is no ID token to carry it.
The callback's RFC 9207 ``iss`` is checked when present, and required when the server promises it.

Endpoints are configured (``authorization_endpoint``, ``token_endpoint``, …), or read from RFC 8414 authorization
server metadata (``metadata: true``; cached for an hour; its ``issuer`` must equal the configured one), never both.
The client authenticates as :mod:`.client_auth` does for every type. Who logged in comes from the access token, as
:mod:`.oauth2_identity` verifies it. Refresh tokens rotate where the server rotates them, and a refreshed token
must name the same user; logout revokes the refresh token (RFC 7009) where the server has the endpoint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from ..errors import ConfigurationError, InvalidToken, ProviderUnavailable, RefreshRejected
from ..http import HttpResponse
from ..settings import ProviderSettings
from . import Authorization, AuthorizationRequest, Callback, Identity, Options, Refreshed, Toolkit, client_auth, oauth
from .client_auth import ClientAuthConfig, ClientAuthenticator
from .oauth2_identity import ACCESS_TOKEN_TYPES, SOURCES, Credentials, IdentityConfig, IdentityReader, ServerView
from .server_metadata import HourlyDocument, endpoint, optional_endpoint

ENDPOINT_OPTIONS = (
    "authorization_endpoint", "token_endpoint", "jwks_uri", "introspection_endpoint", "revocation_endpoint"
)  # fmt: skip
OPTIONS = client_auth.OPTIONS | {
    "issuer", "metadata", *ENDPOINT_OPTIONS, "user_endpoint", "scopes", "pkce", "iss_parameter", "identity",
    "subject_claim", "person_claims", "permissions_claim", "access_token_algorithms", "access_token_audience",
    "access_token_types", "authorization_params",
}  # fmt: skip
ACCESS_TOKEN_ALGORITHMS = ("RS256", "PS256", "ES256", "ES384", "ES512")
"""Asymmetric only: a server's JWKS holds public keys, and an HMAC ``alg`` keyed with one is the classic forgery."""
RESERVED_PARAMETERS = frozenset(
    {"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"}
)


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    jwks: str | None
    introspection: str | None
    revocation: str | None
    iss_parameter: bool
    """The server promises the RFC 9207 ``iss`` parameter, so a callback without it is refused."""


@dataclass(frozen=True)
class OAuth2Config:
    issuer: str | None
    """Needed to verify JWT access tokens, for metadata, and for the ``iss`` parameter; compared exactly."""
    client: ClientAuthConfig
    scopes: tuple[str, ...]
    """Empty: no ``scope`` parameter (the server's default)."""
    pkce: bool
    authorization_params: dict[str, str]
    endpoints: Endpoints | None
    """None: read from RFC 8414 metadata."""
    user_endpoint: str | None
    identity: IdentityConfig


def create(entry: ProviderSettings, toolkit: Toolkit) -> OAuth2Provider:
    return OAuth2Provider(entry, toolkit, parse_config(entry))


def parse_config(entry: ProviderSettings) -> OAuth2Config:
    """Every option checked at start-up, each refusal naming what to set."""
    options = Options(entry, OPTIONS)
    issuer = options.optional_string("issuer")
    if issuer is not None:
        entry.url_policy.provider_url(issuer, f"provider {entry.id}: 'issuer'")  # the issuer itself is kept exactly
    client = client_auth.parse_client_auth(options, entry.id)
    identity = _identity_config(options, entry.id, client.client_id)
    metadata = options.boolean("metadata", False)
    endpoints = None if metadata else _explicit_endpoints(options)
    user_endpoint = options.optional_url("user_endpoint")
    extra = options.string_map("authorization_params")

    def refuse(reason: str) -> ConfigurationError:
        return ConfigurationError(f"provider {entry.id}: {reason}")

    if RESERVED_PARAMETERS & set(extra):
        raise refuse("authorization_params may not set protocol parameters")
    if metadata and any(options.present(name) for name in (*ENDPOINT_OPTIONS, "iss_parameter")):
        raise refuse("configure the endpoints or metadata: true, not both")
    needs_issuer = metadata or identity.source == "access_token" or entry.options.get("iss_parameter") is True
    if needs_issuer and issuer is None:
        raise refuse("'issuer' is required for metadata, JWT access tokens and the iss parameter")
    if endpoints is not None and identity.source == "access_token" and endpoints.jwks is None:
        raise refuse("JWT access tokens need 'jwks_uri' (the server's signing keys)")
    if endpoints is not None and identity.source == "introspection" and endpoints.introspection is None:
        raise refuse("identity 'introspection' needs 'introspection_endpoint'")
    if identity.source == "user_endpoint" and user_endpoint is None:
        raise refuse("identity 'user_endpoint' needs 'user_endpoint' (the URL that answers who the user is)")
    return OAuth2Config(
        issuer=issuer,
        client=client,
        scopes=options.strings("scopes", ()) if entry.options.get("scopes") else (),  # absent, null or []: none
        pkce=options.boolean("pkce", True),
        authorization_params=extra,
        endpoints=endpoints,
        user_endpoint=user_endpoint,
        identity=identity,
    )


def _identity_config(options: Options, provider_id: str, client_id: str) -> IdentityConfig:
    algorithms = options.strings("access_token_algorithms", ("RS256", "PS256", "ES256"))
    if not set(algorithms) <= set(ACCESS_TOKEN_ALGORITHMS):
        raise ConfigurationError(
            f"provider {provider_id}: 'access_token_algorithms' may list only {', '.join(ACCESS_TOKEN_ALGORITHMS)}"
        )
    return IdentityConfig(
        source=options.choice("identity", SOURCES, "access_token"),
        subject_claim=options.string("subject_claim", "sub"),
        person_claims=options.strings("person_claims", ()) if options.present("person_claims") else None,
        permissions_claim=options.string("permissions_claim", "permissions"),
        algorithms=algorithms,
        audience=options.string("access_token_audience", client_id),
        token_types=options.strings("access_token_types", ACCESS_TOKEN_TYPES),
    )


def _explicit_endpoints(options: Options) -> Endpoints:
    return Endpoints(
        authorization=options.url("authorization_endpoint"),
        token=options.url("token_endpoint"),
        jwks=options.optional_url("jwks_uri"),
        introspection=options.optional_url("introspection_endpoint"),
        revocation=options.optional_url("revocation_endpoint"),
        iss_parameter=options.boolean("iss_parameter", False),
    )


def metadata_url(issuer: str) -> str:
    """RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, f"/.well-known/oauth-authorization-server{path}", "", ""))


class OAuth2Provider:
    def __init__(self, entry: ProviderSettings, toolkit: Toolkit, config: OAuth2Config) -> None:
        self.id = entry.id
        self.name = entry.name
        self._toolkit = toolkit
        self._config = config
        self._url_policy = entry.url_policy
        self._client = ClientAuthenticator(config.client, toolkit)
        self._identity = IdentityReader(config.identity, config.client.client_id, toolkit)
        self._metadata = HourlyDocument(self._read_metadata)

    # -- the provider interface ---------------------------------------------------------------------------

    def authorize(self, request: AuthorizationRequest) -> Authorization:
        params = {
            **self._config.authorization_params,
            "response_type": "code",
            "client_id": self._config.client.client_id,
            "redirect_uri": request.redirect_uri,
            "state": request.state,
        }
        if self._config.scopes:
            params["scope"] = " ".join(self._config.scopes)
        if self._config.pkce:
            params |= {"code_challenge": request.code_challenge, "code_challenge_method": "S256"}
        return Authorization(f"{self._endpoints().authorization}?{urlencode(params)}")

    def complete(self, callback: Callback) -> Identity:
        endpoints = self._endpoints()
        if self._config.issuer is not None:
            oauth.check_issuer_parameter(callback.params, self._config.issuer, required=endpoints.iss_parameter)
        form = {"grant_type": "authorization_code", "code": callback.code, "redirect_uri": callback.redirect_uri}
        if self._config.pkce:
            form["code_verifier"] = callback.code_verifier
        tokens = oauth.token_response(self._post_token(form, endpoints, callback.now), require_id_token=False)
        who = self._identity.identify(
            tokens,
            self._server(endpoints),
            self._config.scopes,
            callback.now,
            self._credentials(endpoints, callback.now),
        )
        grant = {"refresh_token": str(tokens["refresh_token"]), "sub": who.sub} if tokens.get("refresh_token") else None
        return Identity(sub=who.sub, person=who.person, grant=grant, access=who.access)

    def refresh(self, grant: dict[str, str], now: int) -> Refreshed:
        """RFC 6749 §6 with the login's client authentication; a rotated refresh token replaces the old one. The
        new access token must stand for the same user: a server that answers for someone else ends nothing here
        but is refused (``invalid_token``), and the session keeps its data."""
        endpoints = self._endpoints()
        form = {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
        response = self._post_token(form, endpoints, now)
        if response.status == 400 and oauth.oauth_error(response) == "invalid_grant":
            raise RefreshRejected("the server no longer honours the refresh token")
        tokens = oauth.token_response(response, require_id_token=False)
        who = self._identity.identify(
            tokens, self._server(endpoints), self._config.scopes, now, self._credentials(endpoints, now)
        )
        if who.sub != grant["sub"]:
            raise InvalidToken("a refreshed access token names another user")
        next_grant = {**grant, "refresh_token": tokens.get("refresh_token") or grant["refresh_token"]}
        return Refreshed(person=who.person, grant=next_grant, access=who.access)

    def revoke(self, grant: dict[str, str]) -> None:
        endpoints = self._endpoints()
        if endpoints.revocation is None:
            return
        form, headers = self._credentials(endpoints, int(time.time()))()
        token = {"token": grant["refresh_token"], "token_type_hint": "refresh_token"}
        response = self._toolkit.http.post_form(endpoints.revocation, {**token, **form}, headers, call="revocation")
        if response.status != 200:
            raise ProviderUnavailable(f"revocation answered HTTP {response.status}")

    def client_jwks(self) -> list[dict[str, Any]]:
        """The signing keys of ``private_key_jwt``, to register with the server (none with a client secret)."""
        return self._client.published_jwks()

    # -- the steps --------------------------------------------------------------------------------------

    def _post_token(self, form: dict[str, str], endpoints: Endpoints, now: int) -> HttpResponse:
        auth_form, headers = self._credentials(endpoints, now)()
        headers["Accept"] = "application/json"  # GitHub, for one, answers form-encoded without it
        return self._toolkit.http.post_form(endpoints.token, {**form, **auth_form}, headers, call="token")

    def _credentials(self, endpoints: Endpoints, now: int) -> Credentials:
        """This client's credentials for any of the server's endpoints, made when used (a fresh assertion each
        time). An assertion's audience is the issuer, or without one the token endpoint (RFC 7523 §3)."""
        issuer = self._config.issuer or endpoints.token
        return lambda: self._client.credentials(issuer, endpoints.token, now)

    def _server(self, endpoints: Endpoints) -> ServerView:
        return ServerView(self._config.issuer, endpoints.jwks, endpoints.introspection, self._config.user_endpoint)

    def _endpoints(self) -> Endpoints:
        if self._config.endpoints is not None:
            return self._config.endpoints
        return self._metadata.get()

    def _read_metadata(self) -> Endpoints:
        """RFC 8414 metadata: its ``issuer`` exactly the configured one (§3.3), the endpoints this login needs."""
        assert self._config.issuer is not None
        response = self._toolkit.http.get(metadata_url(self._config.issuer), call="discovery")
        if response.status != 200:
            raise ProviderUnavailable(f"authorization server metadata answered HTTP {response.status}")
        document = response.json()
        if not isinstance(document, dict) or document.get("issuer") != self._config.issuer:
            raise ProviderUnavailable("authorization server metadata names another issuer")
        policy = self._url_policy
        try:
            endpoints = Endpoints(
                authorization=endpoint(document, "authorization_endpoint", policy),
                token=endpoint(document, "token_endpoint", policy),
                jwks=optional_endpoint(document, "jwks_uri", policy),
                introspection=optional_endpoint(document, "introspection_endpoint", policy),
                revocation=optional_endpoint(document, "revocation_endpoint", policy),
                iss_parameter=document.get("authorization_response_iss_parameter_supported") is True,
            )
        except ConfigurationError as error:
            raise ProviderUnavailable(f"authorization server metadata unusable: {error}") from None
        if self._config.identity.source == "access_token" and endpoints.jwks is None:
            raise ProviderUnavailable("authorization server metadata lists no jwks_uri for JWT access tokens")
        return endpoints
