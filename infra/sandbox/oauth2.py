"""Runs the sandbox's plain OAuth 2.0 server (``oauth2_provider.mjs``, npm oidc-provider with no OpenID Connect) on
loopback: seed 004's provider, which issues no ID token.

The stack's ``oauth2`` provider is its JWT-access-token client (RFC 9068 tokens for :data:`OAUTH2_API`, RFC 8414
metadata, ``client_secret_post``, PKCE). The server has a second, opaque-token client without PKCE
(:data:`OPAQUE_CLIENT_ID`) for the user-endpoint and introspection modes, which the integration tests drive through
the gateway's own provider code, as the template configures one OAuth 2.0 provider per stack.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from .fapi import provider_jwks
from .processes import running, wait_for_port
from .stack import ROOT

SERVER = ROOT / "infra" / "sandbox" / "oauth2_provider.mjs"
OAUTH2_PROVIDER = "oauth2"
OAUTH2_ACCOUNT = "tan-heng-huat"
"""The account the server logs in when there is no sign-in page (tests); a person may type any name."""
OAUTH2_API = "https://api.sandbox.example"
"""The API the JWT client's access tokens are for: their ``aud`` (the stack's OAuth2AccessTokenAudience)."""
OAUTH2_SCOPES = "orders:read orders:refund"
OPAQUE_CLIENT_ID, OPAQUE_CLIENT_SECRET = "sandbox-oauth2-opaque-client", "sandbox-oauth2-opaque-secret"
OPAQUE_PROVIDER = "oauth2-user"
"""The provider id the opaque client's redirect URI names (the tests' own provider, not the stack's)."""


def stack_parameters(oauth2_url: str) -> dict[str, str]:
    """template.yaml's OAuth 2.0 parameters for the sandbox: its JWT client, endpoints from metadata."""
    return {
        "OAuth2ClientId": "sandbox-oauth2-client",
        "OAuth2ProviderId": OAUTH2_PROVIDER,
        "OAuth2Issuer": oauth2_url,
        "OAuth2Metadata": "true",
        "OAuth2Identity": "access_token",
        "OAuth2AccessTokenAudience": OAUTH2_API,
        "OAuth2Scopes": OAUTH2_SCOPES,
        "OAuth2ClientAuth": "client_secret_post",
    }


@contextlib.contextmanager
def run_oauth2_provider(
    port: int, parameters: Mapping[str, str], client_secret: str, web_url: str, show_login_page: bool, log: Path
) -> Iterator[str]:
    """Start the server on 127.0.0.1:``port`` with an ES256 key of its own made for this run; yield its issuer."""
    jwt_client = {
        "client_id": parameters["OAuth2ClientId"],
        "client_secret": client_secret,
        "redirect_uri": f"{web_url}/auth/{parameters['OAuth2ProviderId']}/callback",
        "token_endpoint_auth_method": parameters["OAuth2ClientAuth"],
    }
    opaque_client = {
        "client_id": OPAQUE_CLIENT_ID,
        "client_secret": OPAQUE_CLIENT_SECRET,
        "redirect_uri": f"{web_url}/auth/{OPAQUE_PROVIDER}/callback",
        "token_endpoint_auth_method": "client_secret_basic",
    }
    env = {
        **os.environ,
        "OAUTH2_PORT": str(port),
        "OAUTH2_API": OAUTH2_API,
        "OAUTH2_JWT_CLIENT": json.dumps(jwt_client),
        "OAUTH2_OPAQUE_CLIENT": json.dumps(opaque_client),
        "OAUTH2_SIGNING_JWKS": provider_jwks("sandbox-oauth2"),
    }
    if not show_login_page:
        env["OAUTH2_AUTO_LOGIN"] = OAUTH2_ACCOUNT
    with running(["node", str(SERVER)], log, env=env) as process:
        wait_for_port(port, "OAuth 2.0 server", process=process)
        yield f"http://127.0.0.1:{port}"
