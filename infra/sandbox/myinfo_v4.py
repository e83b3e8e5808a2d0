"""Runs the MyInfo v4 emulator (``myinfo_v4.mjs``, Node) on loopback for the sandbox and the tests.

Endpoints under the yielded base URL: ``/com/v4/authorize``, ``/com/v4/token``, ``/com/v4/person/{sub}``, the
authorise JWKS ``/.well-known/keys.json`` (access tokens) and the MyInfo JWKS ``/myinfo/.well-known/keys.json``
(person data). Each client is ``{client_id, redirect_uris, jwks_uri}`` plus optional ``scopes`` and
``purpose_ids``; its JWKS must publish an ES256 ``sig`` key (with a kid) and a P-256 ``enc`` key.

Besides MockPass's personas it serves :func:`.personas.large_personas` (people with far more data than MockPass's),
whom a test logs in as through the picker (``X-Show-Login-Page: true`` on the authorize request).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .personas import write_large_personas
from .processes import running, wait_for_port
from .stack import ROOT

EMULATOR = ROOT / "infra" / "sandbox" / "myinfo_v4.mjs"


@contextlib.contextmanager
def run_myinfo_v4(
    port: int,
    clients: list[dict[str, Any]],
    show_login_page: bool,
    log_dir: Path,
    *,
    code_ttl_seconds: int = 60,
    token_ttl_seconds: int = 1800,
    public_url: str | None = None,
    persona: str = "S9812381D",
) -> Iterator[str]:
    """Start the emulator on 127.0.0.1:``port``, logging to ``log_dir/myinfo_v4.log``; yield its base URL.

    ``public_url`` is the URL clients call it by (DPoP ``htu``, assertion ``aud``), e.g. behind a proxy;
    ``persona`` (a MockPass NRIC) is logged in when there is no login page, and preselected when there is.
    """
    base_url = public_url or f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "MYINFO_V4_PORT": str(port),
        "MYINFO_V4_CLIENTS": json.dumps(clients),
        "MYINFO_V4_SHOW_LOGIN_PAGE": "true" if show_login_page else "false",
        "MYINFO_V4_PUBLIC_URL": base_url,
        "MYINFO_V4_PERSONA": persona,
        "MYINFO_V4_CODE_TTL_SECONDS": str(code_ttl_seconds),
        "MYINFO_V4_TOKEN_TTL_SECONDS": str(token_ttl_seconds),
    }
    log_path = log_dir / "myinfo_v4.log"
    with tempfile.TemporaryDirectory(prefix="myinfo-v4-") as workdir:
        env["MYINFO_V4_EXTRA_PERSONAS"] = str(write_large_personas(Path(workdir)))
        with running(["node", str(EMULATOR)], log_path, env=env, cwd=ROOT) as process:
            # It fails at once if the emulator exits (e.g. refusing its configuration: see its log).
            wait_for_port(port, "the MyInfo v4 emulator", process=process)
            yield base_url
