"""Runs the Corppass-like FAPI 2.0 server (``corppass_provider.mjs``, npm oidc-provider) on loopback for the sandbox.

It plays Corppass for both of the stack's Corppass apps, one registered client each: the Corppass Login app
(CorppassClientId, ``CorppassProviderId``) and the Myinfo Business app (CorppassMyinfoBusinessClientId,
``CorppassMyinfoBusinessProviderId``). Each client is registered with the JWKS its provider publishes at
``/.well-known/jwks/{id}``, as an operator registers it with Corppass. Its issuer has no ``/fapi`` suffix and its
endpoints are Corppass's own paths (``/request``, ``/mga/sps/oauth/oauth20/…``), which the gateway reads from
discovery. ``GET {corppass_url}/sandbox/calls`` says what the server was asked (see :func:`corppass_calls`);
:func:`log_in_next_as` chooses the acting user and entity of the next automatic login.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .fapi import FapiClient, provider_jwks, published_jwks, sandbox_calls
from .processes import running, wait_for_port
from .stack import ROOT, SANDBOX_PERSONA

SERVER = ROOT / "infra" / "sandbox" / "corppass_provider.mjs"
LOGIN_CONTEXT_TYPES = ("APP_AUTHENTICATION_DEFAULT",)
"""The authentication context types allow-listed for the sandbox's Corppass Login app (Corppass allows only this)."""
UEN_ENTITY, UEN_ENTITY_NAME = "201912345K", "ACME PTE. LTD."
"""The default entity: a UEN entity, the ID token's ``sub``."""
NON_UEN_ENTITY, NON_UEN_ENTITY_NAME = "NUEN00000123X", "GLOBEX SDN. BHD."
"""A NON-UEN entity (a foreign company): its ``sub`` is the Corppass entity id."""
CORPPASS_LOGIN = f"{SANDBOX_PERSONA}@{UEN_ENTITY}"
"""The login name the server logs in when there is no login page: the acting user's NRIC @ the entity."""


CorppassClient = FapiClient
"""One Corppass app as registered with the server: Singpass's registration shape, ``app`` "login" or
"myinfo-business" (see corppass_provider.mjs)."""


def corppass_clients(parameters: Mapping[str, str], web_url: str, api_url: str) -> list[CorppassClient]:
    """The stack's Corppass apps as the server registers them, each with its provider's own published JWKS."""
    first_app = "login" if parameters.get("CorppassApp", "Login") == "Login" else "myinfo-business"
    apps = [("CorppassClientId", "CorppassProviderId", first_app)]
    if parameters.get("CorppassMyinfoBusinessClientId"):
        apps.append(("CorppassMyinfoBusinessClientId", "CorppassMyinfoBusinessProviderId", "myinfo-business"))
    clients = []
    for client_id, provider_id, app in apps:
        provider = parameters[provider_id]
        clients.append(
            CorppassClient(
                client_id=parameters[client_id],
                app=app,
                redirect_uri=f"{web_url}/auth/{provider}/callback",
                jwks=published_jwks(api_url, provider),
                context_types=LOGIN_CONTEXT_TYPES if app == "login" else (),
            )
        )
    return clients


@contextlib.contextmanager
def run_corppass_provider(
    port: int,
    clients: list[CorppassClient],
    show_login_page: bool,
    log: Path,
    *,
    userinfo_sub_is_client_id: bool = False,
    path_prefix: str = "",
) -> Iterator[str]:
    """Start the server on 127.0.0.1:``port`` with an ES256 signing key of its own made for this run, logging to
    ``log``; yield its base URL (its issuer). Without a login page it logs CORPPASS_LOGIN in at once.
    ``userinfo_sub_is_client_id``: userinfo's ``sub`` is the client_id (the older behaviour some report);
    ``path_prefix``: every endpoint under this path (discovery tells where)."""
    env = {
        **os.environ,
        "CORPPASS_PORT": str(port),
        "CORPPASS_CLIENTS": json.dumps([client.registration() for client in clients]),
        "CORPPASS_PROVIDER_JWKS": provider_jwks("sandbox-corppass"),
        "CORPPASS_PERSONA": SANDBOX_PERSONA,
        "CORPPASS_PATH_PREFIX": path_prefix,
    }
    if userinfo_sub_is_client_id:
        env["CORPPASS_USERINFO_SUB"] = "client_id"
    if not show_login_page:
        env["CORPPASS_AUTO_LOGIN"] = CORPPASS_LOGIN
    with running(["node", str(SERVER)], log, env=env) as process:
        wait_for_port(port, "Corppass FAPI provider", process=process)
        yield f"http://127.0.0.1:{port}"


def corppass_calls(corppass_url: str) -> dict[str, Any]:
    """What the server was asked so far: ``par``, each PAR's client_id, scope and authentication context;
    ``id_tokens``, each ID token's client_id, JWE header (alg, enc, kid, cty, iss, aud), sub and act.sub;
    ``userinfo``, the userinfo calls per client id; ``userinfo_responses``, each userinfo JWE's header and the
    names of the claims it carried."""
    return sandbox_calls(corppass_url)


def log_in_next_as(corppass_url: str, login: str) -> None:
    """The next automatic login (no login page) is ``login``: "NRIC@ENTITY", "NRIC" or "@ENTITY"."""
    request = urllib.request.Request(  # noqa: S310 - the sandbox's own local server
        f"{corppass_url}/sandbox/next-login", data=json.dumps({"login": login}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310
        pass
