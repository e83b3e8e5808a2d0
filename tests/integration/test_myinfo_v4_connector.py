"""The official MyInfo v4 client (npm myinfo-connector-v4-nodejs 2.0.0) logs in against the MyInfo v4 emulator."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.sandbox.myinfo_v4 import run_myinfo_v4
from infra.sandbox.processes import free_port
from infra.sandbox.stack import ROOT

from .myinfo_v4_support import PERSONA, ClientKeys, JwksServer, new_key, pem

pytestmark = pytest.mark.stack

SCRIPT = Path(__file__).with_name("myinfo_v4_connector.mjs")
CLIENT_ID = "STG2-MYINFO-CONNECTOR"
REDIRECT_URL = "http://127.0.0.1:3001/callback"
SCOPE = "uinfin name sex dob nationality regadd mobileno email"
PURPOSE_ID = "demonstration"


@pytest.fixture(scope="module")
def keys() -> ClientKeys:
    return ClientKeys()


@pytest.fixture(scope="module")
def emulator(keys: ClientKeys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    client = {"client_id": CLIENT_ID, "redirect_uris": [REDIRECT_URL], "purpose_ids": [PURPOSE_ID]}
    with (
        JwksServer(keys.jwks()).running() as jwks,
        run_myinfo_v4(
            free_port(), [{**client, "jwks_uri": jwks.url}], False, tmp_path_factory.mktemp("myinfo-v4-connector")
        ) as base_url,
    ):
        yield base_url


def connector_login(base_url: str, keys: ClientKeys, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Run the connector script with the client's keys as PEM files (as the official demo app keeps them)."""
    signing, encryption = workdir / "signing.pem", workdir / "encryption.pem"
    signing.write_bytes(pem(keys.sig))
    encryption.write_bytes(pem(keys.enc))
    env = {
        **os.environ,
        "MYINFO_V4_URL": base_url,
        "CLIENT_ID": CLIENT_ID,
        "REDIRECT_URL": REDIRECT_URL,
        "SCOPE": SCOPE,
        "PURPOSE_ID": PURPOSE_ID,
        "SIGNING_KEY_PATH": str(signing),
        "ENCRYPTION_KEY_PATH": str(encryption),
    }
    return subprocess.run(
        ["node", str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_official_connector_gets_the_person_from_the_emulator(
    emulator: str, keys: ClientKeys, tmp_path: Path
) -> None:
    result = connector_login(emulator, keys, tmp_path)

    assert result.returncode == 0, result.stderr
    person = json.loads(result.stdout.splitlines()[-1])
    assert person["name"]["value"] == "TAN HENG HUAT"
    assert person["uinfin"]["value"] == PERSONA
    assert person["regadd"]["postal"]["value"] == "460102"
    assert set(person) == set(SCOPE.split())
    # DEBUG_LEVEL error: the connector logged no token, header or proof.
    assert "eyJ" not in result.stdout.rsplit("\n", 2)[0] + result.stderr


def test_the_emulator_refuses_the_connector_when_its_signing_key_is_not_published(
    emulator: str, keys: ClientKeys, tmp_path: Path
) -> None:
    result = connector_login(emulator, ClientKeys(sig=new_key(), enc=keys.enc), tmp_path)

    assert result.returncode == 1
    assert '"status":401' in result.stderr
    assert "kid is not a sig key" in result.stderr
