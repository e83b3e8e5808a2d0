"""A plain OAuth 2.0 provider (seed 004) behind the same contract: the sandbox's real OAuth 2.0 server (npm
oidc-provider with no OpenID Connect: no openid scope, no ID token, no nonce), through the handlers for the stack's
JWT-access-token provider, and through the gateway's provider code for the opaque-token modes (user endpoint,
introspection), which a stack configures instead."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
import pytest
import requests
from singpass_gateway.http import HttpClient
from singpass_gateway.jose import JwksCache
from singpass_gateway.providers import AuthorizationRequest, Callback, Identity
from singpass_gateway.providers.oauth2 import OAuth2Provider, create
from singpass_gateway.settings import ProviderSettings
from singpass_gateway.urls import UrlPolicy

from infra.sandbox.browser import Browser, provider_redirect, query
from infra.sandbox.oauth2 import (
    OAUTH2_ACCOUNT,
    OAUTH2_API,
    OAUTH2_PROVIDER,
    OPAQUE_CLIENT_ID,
    OPAQUE_CLIENT_SECRET,
    OPAQUE_PROVIDER,
)
from infra.sandbox.stack import SANDBOX_SECRETS, Sandbox
from tests.integration.test_refresh import unsealed_grant

SESSION = "__Host-sgw_session"
SANDBOX = UrlPolicy(allow_local=True)
"""The sandbox's policy: its server is on http://127.0.0.1 (GATEWAY_ALLOW_LOCAL_PROVIDERS, as the handlers have it)."""
SECRET_ARN = "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:opaque-client"


def introspect(sandbox: Sandbox, token: str) -> dict[str, Any]:
    """Ask the server about a token, as the stack's client (the server answers only a token's own client)."""
    response = requests.post(
        f"{sandbox.oauth2_url}/token/introspection",
        data={"token": token},
        auth=("sandbox-oauth2-client", SANDBOX_SECRETS["OAuth2ClientSecret"]),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_plain_oauth2_login_shows_the_user_and_what_the_token_grants(sandbox: Sandbox, browser: Browser) -> None:
    callback = browser.login(return_to="/orders", provider=OAUTH2_PROVIDER)

    assert callback.headers["Location"] == f"{sandbox.url}/orders"
    me = browser.api("/api/me").json()
    assert (me["provider"], me["sub"]) == (OAUTH2_PROVIDER, OAUTH2_ACCOUNT)
    assert me["person"] == {"name": "TAN HENG HUAT", "email": "myinfotesting@gmail.com"}
    assert me["access"] == {"scopes": ["orders:read", "orders:refund"], "permissions": ["orders:read", "orders:refund"]}
    assert me["authentication"] == {}


def test_the_request_is_plain_oauth2_with_pkce_and_the_servers_metadata(sandbox: Sandbox, browser: Browser) -> None:
    authorize = browser.start_login(provider=OAUTH2_PROVIDER).headers["Location"]
    params = query(authorize)

    assert urlsplit(authorize).netloc == urlsplit(sandbox.oauth2_url).netloc  # from RFC 8414 metadata
    assert "nonce" not in params
    assert "openid" not in params["scope"].split()
    assert params["code_challenge_method"] == "S256"
    callback_url = provider_redirect(authorize)
    assert query(callback_url)["iss"] == sandbox.oauth2_url  # RFC 9207, which the metadata promises
    assert browser.get(callback_url).headers["Location"] == f"{sandbox.url}/"


def test_a_callback_naming_another_issuer_is_refused(sandbox: Sandbox, browser: Browser) -> None:
    callback_url = provider_redirect(browser.start_login(provider=OAUTH2_PROVIDER).headers["Location"])
    forged = callback_url.split("?")[0] + "?" + urlencode({**query(callback_url), "iss": "https://attacker.example"})

    assert browser.get(forged).headers["Location"] == f"{sandbox.url}/?error=invalid_callback"
    assert SESSION not in browser.cookies


def test_a_refresh_rotates_the_refresh_token_and_keeps_the_user(sandbox: Sandbox, browser: Browser) -> None:
    browser.login(provider=OAUTH2_PROVIDER)
    session_id = browser.cookies[SESSION]
    first = unsealed_grant(sandbox, session_id)

    me = browser.api("/api/me?refresh=true").json()

    second = unsealed_grant(sandbox, session_id)
    assert (first["sub"], second["sub"], me["sub"]) == (OAUTH2_ACCOUNT,) * 3
    assert second["refresh_token"] != first["refresh_token"]
    assert introspect(sandbox, first["refresh_token"]) == {"active": False}  # spent by the rotation
    assert me["access"]["permissions"] == ["orders:read", "orders:refund"]


def test_logout_revokes_the_refresh_token_at_the_server(sandbox: Sandbox, browser: Browser) -> None:
    browser.login(provider=OAUTH2_PROVIDER)
    refresh_token = unsealed_grant(sandbox, browser.cookies[SESSION])["refresh_token"]
    assert introspect(sandbox, refresh_token)["active"] is True

    assert browser.api("/auth/logout", method="POST").status_code == 204

    assert introspect(sandbox, refresh_token) == {"active": False}


def test_the_access_token_is_an_rfc_9068_jwt_for_the_api(sandbox: Sandbox, browser: Browser) -> None:
    """What the server issued, read back through its own introspection: a JWT for the API, not an ID token."""
    browser.login(provider=OAUTH2_PROVIDER)
    grant = unsealed_grant(sandbox, browser.cookies[SESSION])

    refreshed = requests.post(
        f"{sandbox.oauth2_url}/token",
        data={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"],
              "client_id": "sandbox-oauth2-client", "client_secret": SANDBOX_SECRETS["OAuth2ClientSecret"]},
        timeout=10,
    ).json()  # fmt: skip

    assert "id_token" not in refreshed
    header = refreshed["access_token"].split(".")[0]
    assert header.startswith("eyJ")  # a JWS
    assert jwt.get_unverified_header(refreshed["access_token"])["typ"] == "at+jwt"
    assert jwt.decode(refreshed["access_token"], options={"verify_signature": False})["aud"] == OAUTH2_API


# -- the opaque-token modes, through the provider code against the same server -------------------------------------


class _Secrets:
    def get(self, arn: str) -> str:
        assert arn == SECRET_ARN
        return OPAQUE_CLIENT_SECRET


class _Toolkit:
    """The provider's toolkit with real HTTP and JWKS, and the opaque client's secret."""

    def __init__(self) -> None:
        self.http = HttpClient(10, url_policy=SANDBOX)
        self.jwks = JwksCache(self.http)
        self.secrets = _Secrets()


def opaque_provider(sandbox: Sandbox, **options: Any) -> OAuth2Provider:
    entry = ProviderSettings(
        id=OPAQUE_PROVIDER,
        type="oauth2",
        name="OAuth 2.0 (opaque)",
        url_policy=SANDBOX,
        options={"issuer": sandbox.oauth2_url, "metadata": True, "client_id": OPAQUE_CLIENT_ID,
                 "client_secret_arn": SECRET_ARN, "pkce": False, "scopes": ["orders:read"], **options},
    )  # fmt: skip
    return create(entry, _Toolkit())  # type: ignore[arg-type]


def logged_in(sandbox: Sandbox, provider: OAuth2Provider) -> tuple[Identity, Mapping[str, str]]:
    redirect_uri = f"{sandbox.url}/auth/{OPAQUE_PROVIDER}/callback"
    authorization = provider.authorize(AuthorizationRequest("state-1", "unused", "unused", redirect_uri, 0))
    assert "code_challenge" not in query(authorization.url)
    params = query(provider_redirect(authorization.url))
    callback = Callback(params["code"], params, "unused", "unused", redirect_uri, int(time.time()))
    return provider.complete(callback), params


@pytest.fixture
def user_endpoint_provider(sandbox: Sandbox) -> OAuth2Provider:
    return opaque_provider(
        sandbox, identity="user_endpoint", user_endpoint=f"{sandbox.oauth2_url}/api/user", subject_claim="id"
    )


def test_an_opaque_token_and_a_user_endpoint_name_the_user_by_an_integer_id(
    sandbox: Sandbox, user_endpoint_provider: OAuth2Provider
) -> None:
    identity, _ = logged_in(sandbox, user_endpoint_provider)

    assert identity.sub == "1001"
    assert identity.person == {"login": OAUTH2_ACCOUNT, "name": "TAN HENG HUAT", "email": "myinfotesting@gmail.com"}
    assert identity.grant is not None


def test_an_opaque_token_refreshes_and_is_revoked(sandbox: Sandbox, user_endpoint_provider: OAuth2Provider) -> None:
    identity, _ = logged_in(sandbox, user_endpoint_provider)
    assert identity.grant is not None

    refreshed = user_endpoint_provider.refresh(identity.grant, int(time.time()))
    assert refreshed.grant["refresh_token"] != identity.grant["refresh_token"]
    assert refreshed.person["login"] == OAUTH2_ACCOUNT

    user_endpoint_provider.revoke(refreshed.grant)
    rejected = requests.post(
        f"{sandbox.oauth2_url}/token",
        data={"grant_type": "refresh_token", "refresh_token": refreshed.grant["refresh_token"]},
        auth=(OPAQUE_CLIENT_ID, OPAQUE_CLIENT_SECRET),
        timeout=10,
    )
    assert rejected.json()["error"] == "invalid_grant"


def test_an_opaque_token_checked_by_introspection_names_the_user(sandbox: Sandbox) -> None:
    identity, _ = logged_in(sandbox, opaque_provider(sandbox, identity="introspection"))

    assert identity.sub == OAUTH2_ACCOUNT
    assert identity.access == {"scopes": ["orders:read"], "permissions": []}
