"""Any standard OAuth 2.0 / OpenID Connect provider, up to the FAPI 2.0 security profile.

The base flow is the authorization code with PKCE S256, state and nonce. Endpoints come from discovery
(cached for an hour; its ``issuer`` must equal the configured one) or are configured explicitly for plain
OAuth 2.0 servers. On top, as configured or as discovery requires:

- client authentication by ``client_secret_basic``, ``client_secret_post`` or ``private_key_jwt`` (ES256
  through the key interface; ``aud`` the issuer, as FAPI 2.0 and Singpass want, or the token endpoint);
- pushed authorization requests (PAR): the browser only ever sees ``client_id`` and ``request_uri``;
- DPoP (RFC 9449): one key per login for PAR, token and userinfo, ``ath`` on userinfo, one retry when the
  server asks for a nonce, and a ``Bearer`` token refused when DPoP was asked for;
- encrypted ID tokens and userinfo (JWE with ECDH-ES through the key interface, wrapping a JWS), and userinfo
  required to be signed where the provider always signs it;
- the RFC 9207 ``iss`` parameter, checked before the code is spent (the mix-up defence);
- ``acr_values``, with the ID token's ``acr`` checked against them (a provider may answer with less than asked);
- retries of the answers a provider calls passing (:mod:`.retries`), where its profile asks for them.

Profiles (Singpass, Corppass) subclass :class:`OidcProvider` and override :meth:`OidcProvider.describe`, where the
person (and an organisation) comes from, :meth:`OidcProvider.assurance_met`, how assurance levels compare, and
:meth:`OidcProvider.userinfo_subject`, whom userinfo must name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..errors import ConfigurationError, InsufficientAssurance, InvalidToken, ProviderUnavailable, RefreshRejected
from ..http import HttpResponse
from ..observability import UpstreamCall
from ..person import normalise
from ..person import provenance as provenance_of
from ..settings import ProviderSettings
from . import Authorization, AuthorizationRequest, Callback, Identity, Options, Refreshed, Toolkit, client_auth, oauth
from .client_auth import ClientAuthConfig, ClientAuthenticator
from .retries import RetryPolicy
from .server_metadata import HourlyDocument, endpoint, optional_endpoint

RESERVED_PARAMETERS = frozenset(
    {"response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method"}
)
PROTOCOL_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "auth_time", "at_hash", "c_hash", "azp", "sid", "jti",
     "acr", "amr"}
)  # fmt: skip
"""ID-token claims about the token or the authentication, not the person; left out of ``person``."""
ENCRYPTION_ALGORITHMS = (
    "ECDH-ES+A256KW", "ECDH-ES+A192KW", "ECDH-ES+A128KW",
    "A256GCM", "A192GCM", "A128GCM", "A256CBC-HS512", "A192CBC-HS384", "A128CBC-HS256",
)  # fmt: skip
"""JWE algorithms accepted by default: ECDH-ES key agreement only (never RSA1_5, never PBES2, no ``dir``)."""
OPTIONS = client_auth.OPTIONS | {
    "issuer", "scopes", "id_token_algorithms", "discovery", "authorization_endpoint", "token_endpoint",
    "userinfo_endpoint", "jwks_uri", "pushed_authorization_request_endpoint", "pushed_authorization",
    "dpop", "decryption_key_arn", "encryption_algorithms", "person_claim", "authorization_params", "userinfo",
    "revocation_endpoint", "signed_userinfo", "additional_decryption_key_arns", "acr_values", "transient_retries",
}  # fmt: skip
MAX_TRANSIENT_RETRIES = 3
"""Singpass asks for up to three retries; more would only hold a failing login longer."""


@dataclass(frozen=True)
class Description:
    """Who logged in, as a profile reads the ID token and userinfo (see :meth:`OidcProvider.describe`)."""

    person: dict[str, Any]
    provenance: dict[str, dict[str, str]] = field(default_factory=dict)
    organisation: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    jwks: str
    userinfo: str | None
    par: str | None
    revocation: str | None
    requires_par: bool
    iss_parameter: bool
    """The provider promises the RFC 9207 ``iss`` parameter, so a callback without it is refused."""


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    """Compared exactly (no trailing-slash normalisation), as OIDC Discovery requires."""
    client: ClientAuthConfig
    scopes: tuple[str, ...]
    id_token_algorithms: tuple[str, ...]
    authorization_params: dict[str, str]
    fetch_userinfo: bool
    signed_userinfo: bool
    """Userinfo must be a signed JWT (Singpass's always is): plain JSON, unsigned person data, is refused."""
    endpoints: Endpoints | None
    pushed_authorization: bool | None
    """True or False forces PAR on or off; None follows discovery's ``require_pushed_authorization_requests``."""
    dpop: bool
    decryption_key_arn: str | None
    """When set, ID tokens must arrive encrypted to this key; userinfo may too."""
    additional_decryption_key_arns: tuple[str, ...]
    """Published and accepted too (the JWE's ``kid`` picks the key): the provider may encrypt to any key of the
    JWKS it last read, so the next and the previous key decrypt while one rotates."""
    encryption_algorithms: tuple[str, ...]
    person_claim: str | None
    """A claim holding MyInfo-shaped person data (Singpass: ``person_info``); None: the claims themselves."""
    acr_values: tuple[str, ...] = ()
    """Assurance levels asked for, most preferred first; the ID token's ``acr`` must meet one. Empty: none asked."""
    transient_retries: int = 0
    """How often PAR, token and userinfo answers that the provider calls passing are retried (none by default)."""

    @property
    def client_id(self) -> str:
        return self.client.client_id


def create(entry: ProviderSettings, toolkit: Toolkit) -> OidcProvider:
    return OidcProvider(entry, toolkit, parse_config(entry))


def parse_config(entry: ProviderSettings) -> OidcConfig:
    options = Options(entry, OPTIONS)
    scopes = options.strings("scopes", ("openid",))
    if "openid" not in scopes:
        raise ConfigurationError(f"provider {entry.id}: scopes must include 'openid'")
    extra = options.string_map("authorization_params")
    if RESERVED_PARAMETERS & set(extra):
        raise ConfigurationError(f"provider {entry.id}: authorization_params may not set protocol parameters")
    has_decryption_key = entry.options.get("decryption_key_arn") is not None
    additional_decryption = options.arns("additional_decryption_key_arns", required=False, current="decryption_key_arn")
    if additional_decryption and not has_decryption_key:
        raise ConfigurationError(f"provider {entry.id}: additional_decryption_key_arns need decryption_key_arn")
    par = entry.options.get("pushed_authorization")
    issuer = options.string("issuer")
    entry.url_policy.provider_url(issuer, f"provider {entry.id}: 'issuer'")  # the issuer itself is kept exactly
    return OidcConfig(
        issuer=issuer,
        client=client_auth.parse_client_auth(options, entry.id),
        scopes=scopes,
        id_token_algorithms=options.strings("id_token_algorithms", ("RS256", "ES256", "PS256")),
        authorization_params=extra,
        fetch_userinfo=options.boolean("userinfo", True),
        signed_userinfo=options.boolean("signed_userinfo", False),
        endpoints=None if options.boolean("discovery", True) else _explicit_endpoints(options),
        pushed_authorization=None if par is None else options.boolean("pushed_authorization", False),
        dpop=options.boolean("dpop", False),
        decryption_key_arn=options.arn("decryption_key_arn") if has_decryption_key else None,
        additional_decryption_key_arns=additional_decryption,
        encryption_algorithms=options.strings("encryption_algorithms", ENCRYPTION_ALGORITHMS),
        person_claim=options.string("person_claim") if entry.options.get("person_claim") is not None else None,
        acr_values=options.strings("acr_values", ()) if entry.options.get("acr_values") else (),
        transient_retries=options.integer("transient_retries", 0, minimum=0, maximum=MAX_TRANSIENT_RETRIES),
    )


def _explicit_endpoints(options: Options) -> Endpoints:
    par = options.optional_url("pushed_authorization_request_endpoint")
    return Endpoints(
        authorization=options.url("authorization_endpoint"),
        token=options.url("token_endpoint"),
        jwks=options.url("jwks_uri"),
        userinfo=options.optional_url("userinfo_endpoint"),
        par=par,
        revocation=options.optional_url("revocation_endpoint"),
        requires_par=False,
        iss_parameter=False,
    )


class OidcProvider:
    def __init__(self, entry: ProviderSettings, toolkit: Toolkit, config: OidcConfig) -> None:
        self.id = entry.id
        self.name = entry.name
        self._toolkit = toolkit
        self._config = config
        self._url_policy = entry.url_policy
        self._client = ClientAuthenticator(config.client, toolkit)
        # The configured key first, then those being introduced or retired (published and accepted).
        decryption_arns = [config.decryption_key_arn] if config.decryption_key_arn else []
        self._decryption_keys = [toolkit.key(arn) for arn in [*decryption_arns, *config.additional_decryption_key_arns]]
        self._discovered = HourlyDocument(self._discover)
        self._dpop_nonces: dict[str, str] = {}
        self._retry = RetryPolicy(config.transient_retries, sleep=toolkit.pause)

    # -- the provider interface ---------------------------------------------------------------------------

    def authorize(self, request: AuthorizationRequest) -> Authorization:
        from .. import jose

        endpoints = self._endpoints()
        params = {
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
        if self._config.acr_values:
            params["acr_values"] = " ".join(self._config.acr_values)
        dpop_key = jose.new_dpop_key() if self._config.dpop else None
        remember = {"dpop_key": jose.dpop_key_to_text(dpop_key)} if dpop_key else {}
        use_par = self._config.pushed_authorization
        if use_par is None:
            use_par = endpoints.requires_par
        if not use_par:
            if dpop_key:
                params["dpop_jkt"] = jose.jwk_thumbprint(dpop_key)  # binds the code to the key (RFC 9449 §10)
            return Authorization(f"{endpoints.authorization}?{urlencode(params)}", remember)
        request_uri = self._push(params, endpoints, dpop_key, request.now)
        query = urlencode({"client_id": self._config.client_id, "request_uri": request_uri})
        return Authorization(f"{endpoints.authorization}?{query}", remember)

    def complete(self, callback: Callback) -> Identity:
        from .. import jose

        endpoints = self._endpoints()
        oauth.check_issuer_parameter(callback.params, self._config.issuer, required=endpoints.iss_parameter)
        dpop_key = jose.dpop_key_from_text(callback.remembered["dpop_key"]) if self._config.dpop else None
        tokens = self._exchange_code(callback, endpoints, dpop_key)
        policy = self._policy(endpoints)
        id_token = self._signed_form(tokens["id_token"], required_encryption=bool(self._decryption_keys))
        claims = jose.verify_id_token(
            id_token, policy, self._toolkit.jwks, callback.nonce, callback.now, tokens["access_token"]
        )
        self._check_assurance(claims)
        userinfo = None
        if self._config.fetch_userinfo and endpoints.userinfo:
            userinfo = self._userinfo(
                endpoints.userinfo, tokens["access_token"], claims["sub"], policy, dpop_key, callback.now
            )
        described = self.describe(claims, userinfo)
        authentication: dict[str, Any] = {name: claims[name] for name in ("acr", "amr") if name in claims}
        grant = self._grant(tokens, claims["sub"], callback.remembered) if tokens.get("refresh_token") else None
        return Identity(
            sub=claims["sub"],
            person=described.person,
            authentication=authentication,
            grant=grant,
            provenance=described.provenance,
            organisation=described.organisation,
        )

    def refresh(self, grant: dict[str, str], now: int) -> Refreshed:
        """RFC 6749 §6 with the same client authentication (and DPoP key) as the login; a rotated refresh token
        replaces the old one, an unrotated one is kept. A new ID token must be for the same issuer and subject."""
        from .. import jose

        endpoints = self._endpoints()
        dpop_key = jose.dpop_key_from_text(grant["dpop_key"]) if "dpop_key" in grant else None
        form = {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
        response = self._authenticated_post("token", endpoints.token, form, endpoints, dpop_key, now)
        if response.status == 400 and oauth.oauth_error(response) == "invalid_grant":
            raise RefreshRejected("the provider no longer honours the refresh token")
        tokens = oauth.token_response(
            response, require_id_token=False, token_type="DPoP" if dpop_key is not None else "Bearer"
        )
        claims = self._check_refreshed_id_token(tokens, grant["sub"], endpoints, now) if "id_token" in tokens else {}
        userinfo = None
        if self._config.fetch_userinfo and endpoints.userinfo:
            policy = self._policy(endpoints)
            userinfo = self._userinfo(endpoints.userinfo, tokens["access_token"], grant["sub"], policy, dpop_key, now)
        person = self.describe(claims, userinfo).person if claims or userinfo is not None else {}
        next_grant = {**grant, "refresh_token": tokens.get("refresh_token") or grant["refresh_token"]}
        return Refreshed(person=person, grant=next_grant)

    def revoke(self, grant: dict[str, str]) -> None:
        endpoints = self._endpoints()
        if endpoints.revocation is None:
            return
        form, headers = self._client_authentication(endpoints, int(time.time()))
        token = {"token": grant["refresh_token"], "token_type_hint": "refresh_token"}
        response = self._toolkit.http.post_form(endpoints.revocation, {**token, **form}, headers, call="revocation")
        if response.status != 200:
            raise ProviderUnavailable(f"revocation answered HTTP {response.status}")

    def _grant(self, tokens: dict[str, Any], sub: str, remembered: Mapping[str, str]) -> dict[str, str]:
        """What a later refresh needs: the refresh token, the subject it must stay bound to, the DPoP key."""
        grant = {"refresh_token": str(tokens["refresh_token"]), "sub": sub}
        if "dpop_key" in remembered:
            grant["dpop_key"] = remembered["dpop_key"]
        return grant

    def _check_refreshed_id_token(
        self, tokens: dict[str, Any], sub: str, endpoints: Endpoints, now: int
    ) -> dict[str, Any]:
        from .. import jose

        id_token = self._signed_form(tokens["id_token"], required_encryption=bool(self._decryption_keys))
        claims = jose.verify_signed_jwt(id_token, self._policy(endpoints), self._toolkit.jwks)
        jose.check_id_token_claims(claims, self._policy(endpoints), nonce=None, now=now)
        if claims.get("sub") != sub:
            raise InvalidToken("a refreshed ID token names another subject")
        return claims

    # -- what a profile may change ----------------------------------------------------------------------

    def describe(self, claims: dict[str, Any], userinfo: dict[str, Any] | None) -> Description:
        """The person and their data's provenance: from userinfo when it was fetched, else from the ID token."""
        source = userinfo if userinfo is not None else claims
        if self._config.person_claim is None:
            return Description({name: value for name, value in source.items() if name not in PROTOCOL_CLAIMS})
        document = source.get(self._config.person_claim)
        return Description(normalise(document), provenance_of(document))

    def userinfo_subject(self, sub: str) -> str:
        """The ``sub`` userinfo must name: the ID token's (OIDC Core 5.3.2)."""
        return sub

    def assurance_met(self, achieved: str, asked: tuple[str, ...]) -> bool:
        """OIDC Core leaves levels unordered: the ``acr`` achieved must be one of those asked for."""
        return achieved in asked

    def _check_assurance(self, claims: dict[str, Any]) -> None:
        """A login that asked for an assurance level must get one: a provider may authenticate the person at a
        lower level than asked (``acr_values`` is a request, not a demand), so the ID token's ``acr`` decides."""
        if not self._config.acr_values:
            return
        acr = claims.get("acr")
        if not isinstance(acr, str) or not self.assurance_met(acr, self._config.acr_values):
            raise InsufficientAssurance(f"acr {str(acr)[:64]!r} does not meet {' '.join(self._config.acr_values)}")

    def _policy(self, endpoints: Endpoints) -> Any:
        from .. import jose

        return jose.IdTokenPolicy(
            issuer=self._config.issuer,
            client_id=self._config.client_id,
            jwks_url=endpoints.jwks,
            algorithms=self._config.id_token_algorithms,
        )

    def client_jwks(self) -> list[dict[str, Any]]:
        """The public keys this client signs and decrypts with, as registered with the provider: the signing key
        and the encryption key, each followed by the keys being introduced or retired."""
        from .. import jose

        encryption = [jose.published_jwk(key, "enc", "ECDH-ES+A256KW") for key in self._decryption_keys]
        return self._client.published_jwks() + encryption

    # -- the steps --------------------------------------------------------------------------------------

    def _push(self, params: dict[str, str], endpoints: Endpoints, dpop_key: Any, now: int) -> str:
        """A pushed authorization request; its ``request_uri``."""
        if not endpoints.par:
            raise ProviderUnavailable("the provider has no pushed authorization request endpoint")
        response = self._authenticated_post("par", endpoints.par, params, endpoints, dpop_key, now)
        if response.status == 201:  # RFC 9126 answers 201 Created
            response = HttpResponse(200, response.headers, response.body)
        body = oauth.json_object(response, "pushed authorization request")
        request_uri = body.get("request_uri")
        if not isinstance(request_uri, str) or not request_uri:
            raise ProviderUnavailable("pushed authorization response lacks request_uri")
        return request_uri

    def _exchange_code(self, callback: Callback, endpoints: Endpoints, dpop_key: Any) -> dict[str, Any]:
        code_form = {
            "grant_type": "authorization_code",
            "code": callback.code,
            "redirect_uri": callback.redirect_uri,
            "code_verifier": callback.code_verifier,
        }
        response = self._authenticated_post("token", endpoints.token, code_form, endpoints, dpop_key, callback.now)
        token_type = "DPoP" if dpop_key is not None else "Bearer"
        return oauth.token_response(response, require_id_token=True, token_type=token_type)

    def _authenticated_post(
        self, call: UpstreamCall, url: str, form: dict[str, str], endpoints: Endpoints, dpop_key: Any, now: int
    ) -> HttpResponse:
        """POST ``form`` as this client (PAR, code exchange, refresh): client authentication and, with a DPoP
        key, a proof for ``url``, both made afresh for the nonce retry (a spent assertion ``jti`` is refused)."""
        from .. import jose

        def send(nonce: str | None) -> HttpResponse:
            auth_form, headers = self._client_authentication(endpoints, now)
            if dpop_key is not None:
                headers["DPoP"] = jose.dpop_proof(dpop_key, "POST", url, now, nonce)
            return self._toolkit.http.post_form(url, {**form, **auth_form}, headers, call=call)

        return self._retry.run(lambda: self._send(send, url, dpop_key is not None))

    def _client_authentication(self, endpoints: Endpoints, now: int) -> tuple[dict[str, str], dict[str, str]]:
        """The form members and headers that authenticate this client; a fresh assertion every time."""
        return self._client.credentials(self._config.issuer, endpoints.token, now)

    def _userinfo(self, url: str, access_token: str, sub: str, policy: Any, dpop_key: Any, now: int) -> dict[str, Any]:
        from .. import jose

        def send(nonce: str | None) -> HttpResponse:
            if dpop_key is None:
                return self._toolkit.http.get(url, headers={"Authorization": f"Bearer {access_token}"}, call="userinfo")
            proof = jose.dpop_proof(dpop_key, "GET", url, now, nonce, access_token)
            headers = {"Authorization": f"DPoP {access_token}", "DPoP": proof}
            return self._toolkit.http.get(url, headers, call="userinfo", single_use=True)  # a replayed jti is refused

        response = self._retry.run(lambda: self._send(send, url, dpop_key is not None))
        if response.headers.get("Content-Type", "").split(";")[0].strip().lower() == "application/jwt":
            if response.status != 200:
                oauth.json_object(response, "userinfo")  # raises the status's error
            claims = self._verified_userinfo_jwt(response.body.decode("ascii", errors="replace").strip(), policy, now)
        else:
            claims = oauth.json_object(response, "userinfo")
            if self._config.signed_userinfo:
                raise InvalidToken("userinfo is plain JSON where a signed JWT is required")
        if claims.get("sub") != self.userinfo_subject(sub):
            raise InvalidToken("userinfo sub differs from the ID token's sub")
        return claims

    def _verified_userinfo_jwt(self, token: str, policy: Any, now: int) -> dict[str, Any]:
        """A signed (and possibly encrypted) userinfo response: its signature, issuer, audience and whatever time
        claims it carries (Singpass's has ``iat``) checked."""
        from .. import jose

        limit = jose.MAX_DOCUMENT_BYTES  # userinfo carries the person data (Myinfo v5): larger than a token
        signed = self._signed_form(token, required_encryption=False, max_bytes=limit)
        claims = jose.verify_signed_jwt(signed, policy, self._toolkit.jwks, max_bytes=limit)
        if claims.get("iss") != self._config.issuer:
            raise InvalidToken("userinfo iss is not the provider's issuer")
        audience = claims.get("aud")
        if (audience if isinstance(audience, list) else [audience]) != [self._config.client_id]:
            raise InvalidToken("userinfo aud is not exactly this client")
        jose.check_times(claims, now)
        return claims

    def _signed_form(self, token: str, *, required_encryption: bool, max_bytes: int | None = None) -> str:
        """The JWS inside an encrypted token (decrypting through the key interface), or the JWS itself."""
        from .. import jose

        if not isinstance(token, str):
            raise InvalidToken("token is not a string")
        if token.count(".") == 4:
            if not self._decryption_keys:
                raise InvalidToken("an encrypted token arrived but no decryption key is configured")
            key = jose.decryption_key_for(token, self._decryption_keys)
            limit = max_bytes or 4 * jose.MAX_TOKEN_BYTES
            return jose.decrypt_nested_jws(token, key, self._config.encryption_algorithms, limit)
        if required_encryption:
            raise InvalidToken("the ID token must be encrypted")
        return token

    def _send(self, send: Callable[[str | None], HttpResponse], url: str, dpop: bool) -> HttpResponse:
        """Send once with the server's last DPoP nonce; if it asks for a (new) nonce, once more with it."""
        if not dpop:
            return send(None)
        server = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        nonce = self._dpop_nonces.get(server)
        response = send(nonce)
        fresh = response.headers.get("DPoP-Nonce")
        if fresh:
            self._dpop_nonces[server] = fresh
        if fresh and fresh != nonce and _asks_for_dpop_nonce(response):
            response = send(fresh)
            if response.headers.get("DPoP-Nonce"):
                self._dpop_nonces[server] = response.headers["DPoP-Nonce"]
        return response

    def _endpoints(self) -> Endpoints:
        if self._config.endpoints is not None:
            return self._config.endpoints
        return self._discovered.get()

    def _discover(self) -> Endpoints:
        url = f"{self._config.issuer.rstrip('/')}/.well-known/openid-configuration"
        response = self._toolkit.http.get(url, call="discovery")
        if response.status != 200:
            raise ProviderUnavailable(f"discovery answered HTTP {response.status}")
        document = response.json()
        if not isinstance(document, dict) or document.get("issuer") != self._config.issuer:
            raise ProviderUnavailable("discovery issuer differs from the configured issuer")
        policy = self._url_policy
        try:
            return Endpoints(
                authorization=endpoint(document, "authorization_endpoint", policy),
                token=endpoint(document, "token_endpoint", policy),
                jwks=endpoint(document, "jwks_uri", policy),
                userinfo=optional_endpoint(document, "userinfo_endpoint", policy),
                par=optional_endpoint(document, "pushed_authorization_request_endpoint", policy),
                revocation=optional_endpoint(document, "revocation_endpoint", policy),
                requires_par=document.get("require_pushed_authorization_requests") is True,
                iss_parameter=document.get("authorization_response_iss_parameter_supported") is True,
            )
        except ConfigurationError as error:
            raise ProviderUnavailable(f"discovery document unusable: {error}") from None


def _asks_for_dpop_nonce(response: HttpResponse) -> bool:
    if response.status == 400:
        return oauth.oauth_error(response) == "use_dpop_nonce"
    return response.status == 401 and "use_dpop_nonce" in response.headers.get("WWW-Authenticate", "")
