"""Runs the Singpass-like FAPI 2.0 server (``fapi_provider.mjs``, npm oidc-provider) on loopback for the sandbox.

It plays Singpass for both of the stack's Singpass apps, one registered client each: the Login app
(SingpassClientId, ``SingpassProviderId``) and the Myinfo app (SingpassMyinfoClientId, ``SingpassMyinfoProviderId``).
Each client is registered with the JWKS its provider publishes at ``/.well-known/jwks/{id}``, as an operator
registers it in Singpass's Developer Portal. ``GET {fapi_url}/sandbox/calls`` says what the server was asked (see
:func:`fapi_calls`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from .personas import write_large_personas
from .processes import running, wait_for_port
from .stack import ROOT, SANDBOX_PERSONA

SERVER = ROOT / "infra" / "sandbox" / "fapi_provider.mjs"
LOGIN_CONTEXT_TYPES = ("APP_AUTHENTICATION_DEFAULT", "APP_PAYMENT_DEFAULT")
"""The authentication context types enabled for the sandbox's Login app (as in Singpass's Developer Portal)."""


@dataclass(frozen=True)
class FapiClient:
    """One Singpass app as registered with the server."""

    client_id: str
    app: str
    """"login" or "myinfo": what the server allows and sends (see fapi_provider.mjs)."""
    redirect_uri: str
    jwks: dict[str, Any]
    context_types: tuple[str, ...] = ()
    """A Login app's enabled ``authentication_context_type`` values."""

    def registration(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "app": self.app,
            "redirect_uri": self.redirect_uri,
            "jwks": self.jwks,
            "context_types": list(self.context_types),
        }


def singpass_clients(
    parameters: Mapping[str, str], web_url: str, api_url: str, *, withheld_kid: str | None = None
) -> list[FapiClient]:
    """The stack's Singpass apps as the server registers them, each with its provider's own published JWKS.

    ``withheld_kid``: a key left out of the server's copies (a rotation in progress: Singpass's cached JWKS lacks
    the current encryption key, so it encrypts to the next one, the first ``use: enc`` key it has).
    """
    first_app = "login" if parameters.get("SingpassApp", "Login") == "Login" else "myinfo"
    apps = [("SingpassClientId", "SingpassProviderId", first_app)]
    if parameters.get("SingpassMyinfoClientId"):
        apps.append(("SingpassMyinfoClientId", "SingpassMyinfoProviderId", "myinfo"))
    clients = []
    for client_id, provider_id, app in apps:
        provider = parameters[provider_id]
        jwks = published_jwks(api_url, provider)
        if withheld_kid is not None:
            jwks = {"keys": [key for key in jwks["keys"] if key["kid"] != withheld_kid]}
        clients.append(
            FapiClient(
                client_id=parameters[client_id],
                app=app,
                redirect_uri=f"{web_url}/auth/{provider}/callback",
                jwks=jwks,
                context_types=LOGIN_CONTEXT_TYPES if app == "login" else (),
            )
        )
    return clients


@contextlib.contextmanager
def run_fapi_provider(port: int, clients: list[FapiClient], show_login_page: bool, log: Path) -> Iterator[str]:
    """Start the server on 127.0.0.1:``port`` with an ES256 signing key of its own made for this run, logging to
    ``log``; yield its base URL (its issuer). Without a login page it logs SANDBOX_PERSONA in at once, unless the
    interaction is asked for with ``X-Show-Login-Page: true``. Besides MockPass's personas it serves
    :func:`.personas.large_personas`, whom a test logs in as by NRIC on its sign-in form."""
    env = {
        **os.environ,
        "FAPI_PORT": str(port),
        "FAPI_CLIENTS": json.dumps([client.registration() for client in clients]),
        "FAPI_PROVIDER_JWKS": provider_jwks("sandbox-fapi"),
        "FAPI_PERSONA": SANDBOX_PERSONA,
    }
    if not show_login_page:
        env["FAPI_AUTO_LOGIN"] = SANDBOX_PERSONA
    with tempfile.TemporaryDirectory(prefix="fapi-") as workdir:
        env["FAPI_EXTRA_PERSONAS"] = str(write_large_personas(Path(workdir)))
        with running(["node", str(SERVER)], log, env=env) as process:
            wait_for_port(port, "FAPI provider", process=process)
            yield f"http://127.0.0.1:{port}"


def fapi_calls(fapi_url: str) -> dict[str, Any]:
    """What the server was asked so far: ``par``, each PAR's parameters of interest (client_id, scope,
    authentication_context_type/_message, acr_values); ``id_tokens``, each ID token's client_id, JWE ``alg``, ``enc``
    and ``kid``, and its ``iat``; and ``userinfo``, the userinfo calls per client id."""
    return sandbox_calls(fapi_url)


def provider_jwks(kid: str) -> str:
    """The JWKS of an ES256 signing key made for this run, for a sandbox server to sign its tokens with."""
    import jwt

    signing_key = ec.generate_private_key(ec.SECP256R1())
    signing_jwk = jwt.algorithms.ECAlgorithm.to_jwk(signing_key, as_dict=True)
    return json.dumps({"keys": [{**signing_jwk, "kid": kid, "alg": "ES256", "use": "sig"}]})


def published_jwks(api_url: str, provider: str) -> dict[str, Any]:
    """The JWKS the gateway publishes for ``provider``: what an operator registers with Singpass or Corppass."""
    jwks: dict[str, Any] = json.loads(_fetch(f"{api_url}/.well-known/jwks/{provider}"))
    return jwks


def sandbox_calls(server_url: str) -> dict[str, Any]:
    """A sandbox FAPI server's record of what it was asked (``GET /sandbox/calls``)."""
    calls: dict[str, Any] = json.loads(_fetch(f"{server_url}/sandbox/calls"))
    return calls


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - the sandbox's own local servers
        body: bytes = response.read()
        return body.decode()
