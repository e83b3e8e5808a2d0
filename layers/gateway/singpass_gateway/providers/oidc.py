"""Any standard OAuth 2.0 / OpenID Connect provider: authorization code with PKCE S256, state and nonce.

Endpoints come from discovery (cached for an hour; its ``issuer`` must equal the configured one) or are
configured explicitly for plain OAuth 2.0 servers without discovery. Clients authenticate with
``client_secret_basic`` or ``client_secret_post``. When the provider sends the RFC 9207 ``iss`` parameter (or
advertises it), it must equal the issuer before the code is spent: the mix-up defence for a gateway that
serves several providers.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ..errors import ConfigurationError, InvalidCallback, InvalidToken, ProviderUnavailable
from ..settings import ProviderSettings, base_url
from . import Authorization, AuthorizationRequest, Callback, Identity, Options, Toolkit, oauth

DISCOVERY_MAX_AGE_SECONDS = 3600
RESERVED_PARAMETERS = frozenset(
    {"response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method"}
)
PROTOCOL_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "auth_time", "at_hash", "c_hash", "azp", "sid", "jti"}
)
"""ID-token claims about the token itself, not the person; left out of ``person``."""


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    jwks: str
    userinfo: str | None
    iss_parameter: bool
    """The provider promises the RFC 9207 ``iss`` parameter, so a callback without it is refused."""


def create(entry: ProviderSettings, toolkit: Toolkit) -> OidcProvider:
    options = Options(
        entry,
        {
            "issuer", "client_id", "client_secret_arn", "client_auth", "scopes", "id_token_algorithms",
            "discovery", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
            "authorization_params", "userinfo",
        },
    )  # fmt: skip
    scopes = options.strings("scopes", ("openid",))
    if "openid" not in scopes:
        raise ConfigurationError(f"provider {entry.id}: scopes must include 'openid'")
    extra = options.string_map("authorization_params")
    if RESERVED_PARAMETERS & set(extra):
        raise ConfigurationError(f"provider {entry.id}: authorization_params may not set protocol parameters")
    explicit = None
    if not options.boolean("discovery", True):
        explicit = Endpoints(
            authorization=options.url("authorization_endpoint"),
            token=options.url("token_endpoint"),
            jwks=options.url("jwks_uri"),
            userinfo=options.optional_url("userinfo_endpoint"),
            iss_parameter=False,
        )
    return OidcProvider(
        entry,
        toolkit,
        OidcConfig(
            issuer=options.string("issuer"),
            client_id=options.string("client_id"),
            client_secret_arn=options.arn("client_secret_arn"),
            client_auth=options.choice(
                "client_auth", ("client_secret_basic", "client_secret_post"), "client_secret_basic"
            ),
            scopes=scopes,
            id_token_algorithms=options.strings("id_token_algorithms", ("RS256", "ES256", "PS256")),
            authorization_params=extra,
            fetch_userinfo=options.boolean("userinfo", True),
            endpoints=explicit,
        ),
    )


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    """Compared exactly (no trailing-slash normalisation), as OIDC Discovery requires."""
    client_id: str
    client_secret_arn: str
    client_auth: str
    scopes: tuple[str, ...]
    id_token_algorithms: tuple[str, ...]
    authorization_params: dict[str, str]
    fetch_userinfo: bool
    endpoints: Endpoints | None


class OidcProvider:
    def __init__(self, entry: ProviderSettings, toolkit: Toolkit, config: OidcConfig) -> None:
        base_url(config.issuer, f"provider {entry.id}: 'issuer'")
        self.id = entry.id
        self.name = entry.name
        self._toolkit = toolkit
        self._config = config
        self._discovered: tuple[Endpoints, float] | None = None
        self._lock = threading.Lock()

    def authorize(self, request: AuthorizationRequest) -> Authorization:
        query = {
            **self._config.authorization_params,
            "response_type": "code",
            "client_id": self._config.client_id,
            "redirect_uri": request.redirect_uri,
            "scope": " ".join(self._config.scopes),
            "state": request.state,
            "nonce": request.nonce,
            "code_challenge": request.code_challenge,
            "code_challenge_method": "S256",
        }
        return Authorization(f"{self._endpoints().authorization}?{urlencode(query)}")

    def complete(self, callback: Callback) -> Identity:
        from .. import jose

        endpoints = self._endpoints()
        self._check_issuer_parameter(callback, endpoints)
        tokens = self._exchange_code(callback, endpoints)
        policy = jose.IdTokenPolicy(
            issuer=self._config.issuer,
            client_id=self._config.client_id,
            jwks_url=endpoints.jwks,
            algorithms=self._config.id_token_algorithms,
        )
        claims = jose.verify_id_token(
            tokens["id_token"], policy, self._toolkit.jwks, callback.nonce, callback.now, tokens["access_token"]
        )
        if self._config.fetch_userinfo and endpoints.userinfo:
            person = self._userinfo(endpoints.userinfo, tokens["access_token"], claims["sub"])
        else:
            person = {name: value for name, value in claims.items() if name not in PROTOCOL_CLAIMS}
        return Identity(sub=claims["sub"], person=person)

    def _check_issuer_parameter(self, callback: Callback, endpoints: Endpoints) -> None:
        issuer = callback.params.get("iss")
        if issuer is None and endpoints.iss_parameter:
            raise InvalidCallback("the provider promises an iss parameter and the callback has none")
        if issuer is not None and issuer != self._config.issuer:
            raise InvalidCallback("the callback's iss parameter names another issuer (mix-up)")

    def _exchange_code(self, callback: Callback, endpoints: Endpoints) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": callback.code,
            "redirect_uri": callback.redirect_uri,
            "code_verifier": callback.code_verifier,
        }
        secret = self._toolkit.secrets.get(self._config.client_secret_arn)
        headers = {}
        if self._config.client_auth == "client_secret_basic":
            headers["Authorization"] = oauth.basic_authorization(self._config.client_id, secret)
        else:
            form.update(client_id=self._config.client_id, client_secret=secret)
        response = self._toolkit.http.post_form(endpoints.token, form, headers)
        return oauth.token_response(response, require_id_token=True)

    def _userinfo(self, url: str, access_token: str, sub: str) -> dict[str, Any]:
        response = self._toolkit.http.get(url, headers={"Authorization": f"Bearer {access_token}"})
        claims = oauth.json_object(response, "userinfo")
        if claims.get("sub") != sub:
            raise InvalidToken("userinfo sub differs from the ID token's sub")
        return {name: value for name, value in claims.items() if name != "sub"}

    def _endpoints(self) -> Endpoints:
        if self._config.endpoints is not None:
            return self._config.endpoints
        with self._lock:
            if self._discovered and time.monotonic() - self._discovered[1] < DISCOVERY_MAX_AGE_SECONDS:
                return self._discovered[0]
        endpoints = self._discover()
        with self._lock:
            self._discovered = (endpoints, time.monotonic())
        return endpoints

    def _discover(self) -> Endpoints:
        url = f"{self._config.issuer.rstrip('/')}/.well-known/openid-configuration"
        response = self._toolkit.http.get(url)
        if response.status != 200:
            raise ProviderUnavailable(f"discovery answered HTTP {response.status}")
        document = response.json()
        if not isinstance(document, dict) or document.get("issuer") != self._config.issuer:
            raise ProviderUnavailable("discovery issuer differs from the configured issuer")
        try:
            return Endpoints(
                authorization=_endpoint(document, "authorization_endpoint"),
                token=_endpoint(document, "token_endpoint"),
                jwks=_endpoint(document, "jwks_uri"),
                userinfo=_endpoint(document, "userinfo_endpoint") if document.get("userinfo_endpoint") else None,
                iss_parameter=document.get("authorization_response_iss_parameter_supported") is True,
            )
        except ConfigurationError as error:
            raise ProviderUnavailable(f"discovery document unusable: {error}") from None


def _endpoint(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} missing")
    return base_url(value, name)
