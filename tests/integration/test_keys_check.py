"""``keys check`` against the sandbox: the JWKS its gateway publishes for ``sp``, ``sp-data`` and ``mi-v4``, checked
with the keys the sandbox created in its KMS (moto), by ``python -m singpass_gateway`` as an operator runs it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from infra.sandbox.stack import MYINFO_V4_ID, Sandbox

SINGPASS_KEYS = ("SingpassSigningKey", "SingpassDecryptionKey")
MYINFO_V4_KEYS = ("MyInfoV4SigningKey", "MyInfoV4DecryptionKey")


def keys_check(sandbox: Sandbox, *arguments: str) -> subprocess.CompletedProcess[str]:
    """The command, run as an operator would, with AWS pointed at the sandbox's moto."""
    environment = {
        **os.environ,
        **sandbox.aws_environment,
        "AWS_ENDPOINT_URL_CLOUDFORMATION": sandbox.moto_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "singpass_gateway", "keys", "check", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def arn(sandbox: Sandbox, logical_id: str) -> str:
    return sandbox.resources[logical_id]["Arn"]


def kid(sandbox: Sandbox, logical_id: str) -> str:
    return sandbox.resources[logical_id]["KeyId"]


def explicit(sandbox: Sandbox, provider: str, url: str, signing: list[str], decryption: list[str]) -> list[str]:
    keys = [word for key in signing for word in ("--signing-key", key)]
    keys += [word for key in decryption for word in ("--decryption-key", key)]
    return ["--provider", provider, "--jwks-url", url, *keys]


@pytest.mark.parametrize(
    ("provider_id", "provider", "key_ids"),
    [
        ("sp", "singpass", SINGPASS_KEYS),
        ("sp-data", "singpass", SINGPASS_KEYS),
        (MYINFO_V4_ID, "myinfo-v4", MYINFO_V4_KEYS),
    ],
)
def test_the_sandboxs_published_jwks_matches_its_kms_keys(
    sandbox: Sandbox, provider_id: str, provider: str, key_ids: tuple[str, str]
) -> None:
    signing, decryption = key_ids
    url = f"{sandbox.url}/.well-known/jwks/{provider_id}"

    result = keys_check(sandbox, *explicit(sandbox, provider, url, [arn(sandbox, signing)], [arn(sandbox, decryption)]))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"ok         {provider}  {kid(sandbox, signing)}  signing key in use, sig ES256",
        f"ok         {provider}  {kid(sandbox, decryption)}  decryption key, enc ECDH-ES+A256KW",
    ]


def test_a_switch_to_a_key_the_jwks_does_not_publish_yet_is_a_mismatch(sandbox: Sandbox) -> None:
    next_key = sandbox.aws_client("kms").create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    old = arn(sandbox, "SingpassSigningKey")
    url = f"{sandbox.url}/.well-known/jwks/sp"

    result = keys_check(
        sandbox, *explicit(sandbox, "singpass", url, [next_key["Arn"], old], [arn(sandbox, "SingpassDecryptionKey")])
    )

    assert result.returncode == 1
    assert f"MISSING    singpass  {next_key['KeyId']}  signing key in use is not published" in result.stdout
    assert f"ok         singpass  {kid(sandbox, 'SingpassSigningKey')}  additional signing key" in result.stdout


def test_another_providers_jwks_is_a_mismatch_key_by_key(sandbox: Sandbox) -> None:
    url = f"{sandbox.url}/.well-known/jwks/{MYINFO_V4_ID}"  # registered with Singpass by mistake

    result = keys_check(
        sandbox, *explicit(sandbox, "singpass", url, [arn(sandbox, SINGPASS_KEYS[0])], [arn(sandbox, SINGPASS_KEYS[1])])
    )

    assert result.returncode == 1
    verdicts = sorted((line.split()[0], line.split()[2]) for line in result.stdout.splitlines())
    assert verdicts == sorted(
        [("MISSING", kid(sandbox, key)) for key in SINGPASS_KEYS]
        + [("UNEXPECTED", kid(sandbox, key)) for key in MYINFO_V4_KEYS]
    )


@contextlib.contextmanager
def serving(document: dict[str, Any]) -> Iterator[str]:
    """``document`` at a URL on 127.0.0.1: a copy of the sandbox's JWKS, changed as a broken deploy would."""
    body = json.dumps(document).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_copy_of_the_jwks_with_private_members_or_other_numbers_is_a_mismatch(sandbox: Sandbox) -> None:
    published = requests.get(f"{sandbox.url}/.well-known/jwks/sp", timeout=5).json()
    signing, decryption = published["keys"]
    tampered = {"keys": [{**signing, "d": "PRIVATE-SCALAR"}, {**decryption, "x": signing["x"], "y": signing["y"]}]}

    with serving(tampered) as url:
        result = keys_check(
            sandbox,
            *explicit(sandbox, "singpass", url, [arn(sandbox, SINGPASS_KEYS[0])], [arn(sandbox, SINGPASS_KEYS[1])]),
        )

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(
        line.startswith(f"PRIVATE    singpass  {signing['kid']}  publishes private key members (d)") for line in lines
    )
    assert any(
        line.startswith(f"MISMATCH   singpass  {decryption['kid']}  decryption key: public key (x, y)")
        for line in lines
    )
    assert "PRIVATE-SCALAR" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/.well-known/jwks/no-such-provider", "HTTP 404, not 200"), ("/", "not JSON")],
)
def test_a_url_that_is_not_a_jwks_is_exit_status_2(sandbox: Sandbox, path: str, reason: str) -> None:
    url = f"{sandbox.url}{path}"

    result = keys_check(
        sandbox, *explicit(sandbox, "singpass", url, [arn(sandbox, SINGPASS_KEYS[0])], [arn(sandbox, SINGPASS_KEYS[1])])
    )

    assert result.returncode == 2
    assert result.stdout.startswith(f"UNREADABLE singpass  -  {url}: {reason}")


def test_a_stack_naming_the_sandboxs_keys_and_jwks_urls_passes_for_every_output(sandbox: Sandbox) -> None:
    """A stand-in for the deployed stack, in the sandbox's moto: the outputs and key parameters template.yaml has."""
    parameters = {
        name: arn(sandbox, name.removesuffix("Arn"))
        for name in (
            "SingpassSigningKeyArn",
            "SingpassDecryptionKeyArn",
            "MyInfoV4SigningKeyArn",
            "MyInfoV4DecryptionKeyArn",
        )
    }
    outputs = {
        "SingpassJwksUri": f"{sandbox.url}/.well-known/jwks/sp",
        "SingpassMyinfoJwksUri": f"{sandbox.url}/.well-known/jwks/sp-data",
        "MyInfoV4JwksUri": f"{sandbox.url}/.well-known/jwks/{MYINFO_V4_ID}",
    }
    template = {
        "Parameters": {name: {"Type": "String", "Default": ""} for name in parameters},
        "Resources": {  # a stack has at least one resource; the keys are the sandbox's, named by parameters
            "Placeholder": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "keys-check"}}
        },
        "Outputs": {name: {"Value": url} for name, url in outputs.items()},
    }
    sandbox.aws_client("cloudformation").create_stack(
        StackName="keys-check",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": name, "ParameterValue": value} for name, value in parameters.items()],
    )

    result = keys_check(sandbox, "--stack-name", "keys-check")

    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[:2] for line in result.stdout.splitlines()] == [
        ["ok", label]
        for label in ("singpass", "singpass", "singpass-myinfo", "singpass-myinfo", "myinfo-v4", "myinfo-v4")
    ]
    for label, url in zip(("singpass", "singpass-myinfo", "myinfo-v4"), outputs.values(), strict=True):
        assert f"{label}: {url} answered in " in result.stderr
