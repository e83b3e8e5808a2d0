"""``keys check`` against moto's KMS, Secrets Manager and CloudFormation and a JWKS served on 127.0.0.1: the JWKS
the gateway's own providers publish passes; a stale, tampered, private or extra entry is exit status 1 with a
line naming it; a JWKS or AWS that cannot be read is exit status 2."""

from __future__ import annotations

import contextlib
import functools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from singpass_gateway import aws, keytool, publication
from singpass_gateway.keys import PrivateKey, load_key
from singpass_gateway.keytool import check_targets, live_jwks
from singpass_gateway.providers import myinfo_v4, singpass
from singpass_gateway.secrets import SecretCache
from singpass_gateway.settings import ProviderSettings

from infra.sandbox.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
REGION = "ap-southeast-1"


# -- a JWKS on 127.0.0.1 ---------------------------------------------------------------------------------


@dataclass
class Answer:
    body: bytes
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


class JwksServer:
    """Answers each path with the Answer set for it (404 otherwise); the answers may change between requests."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        answers = self.answers

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                answer = answers.get(self.path, Answer(b"not found", 404))
                time.sleep(answer.delay)
                with contextlib.suppress(ConnectionError):  # the check gave up waiting: as it should
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._http.server_address[1]}"

    def serve(self, path: str, document: Any, **answer: Any) -> str:
        """Serve ``document`` (JSON, or bytes as they are) at ``path``; its URL."""
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.answers[path] = Answer(body, **answer)
        return f"{self.origin}{path}"

    @contextlib.contextmanager
    def running(self) -> Iterator[JwksServer]:
        thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._http.shutdown()
            self._http.server_close()
            thread.join()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    with JwksServer().running() as server:
        yield server


# -- keys and what the gateway publishes for them ----------------------------------------------------------


@pytest.fixture
def moto(moto: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit suite's moto, with one boto3 session for these tests (parsing service models once)."""
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", shared_session())


@functools.cache
def shared_session() -> boto3.Session:
    return boto3.Session()


def kms_key(usage: str) -> str:
    """A KMS key as `keys create` makes them for Singpass and MyInfo v4: EC P-256, signing or key agreement."""
    metadata = boto3.client("kms").create_key(KeySpec="ECC_NIST_P256", KeyUsage=usage)["KeyMetadata"]
    arn: str = metadata["Arn"]
    return arn


def pem_secret(name: str) -> str:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    arn: str = boto3.client("secretsmanager").create_secret(Name=name, SecretString=pem.decode())["ARN"]
    return arn


def kid(arn: str) -> str:
    return gateway_key(arn).key_id


def gateway_key(reference: str) -> PrivateKey:
    return load_key(reference, SecretCache(aws.secretsmanager, 300))


class KeysOnlyToolkit:
    """What a provider needs to publish its JWKS: keys loaded the way the deployed gateway loads them."""

    def key(self, reference: str) -> PrivateKey:
        return gateway_key(reference)

    def pause(self, seconds: float) -> None:
        raise AssertionError("publishing keys calls no provider")


@dataclass(frozen=True)
class Keys:
    """A provider's configured keys: the first of each use is the one in use."""

    signing: list[str]
    decryption: list[str]

    def arguments(self) -> list[str]:
        flags = [("--signing-key", arn) for arn in self.signing] + [
            ("--decryption-key", arn) for arn in self.decryption
        ]
        return [word for flag in flags for word in flag]


def published_by(provider_type: str, keys: Keys) -> dict[str, Any]:
    """The provider JWKS the deployed gateway serves for these keys (publication.provider_jwks)."""
    options: dict[str, Any] = {"client_id": "c", "signing_key_arn": keys.signing[0]}
    options["additional_signing_key_arns"] = keys.signing[1:]
    if provider_type == "singpass":
        options["decryption_key_arn"] = keys.decryption[0]
        options["additional_decryption_key_arns"] = keys.decryption[1:]
    else:
        options.update(purpose_id="p", decryption_key_arns=keys.decryption)
    entry = ProviderSettings(id=provider_type, type=provider_type, name=provider_type, options=options)
    module = {"myinfo-v4": myinfo_v4, "singpass": singpass}[provider_type]
    return publication.provider_jwks(module.create(entry, KeysOnlyToolkit()))  # type: ignore[arg-type]


@pytest.fixture
def singpass_keys(moto: None) -> Keys:
    """Mid-rotation: a next signing key and a second decryption key published beside the ones in use."""
    return Keys([kms_key("SIGN_VERIFY"), kms_key("SIGN_VERIFY")], [kms_key("KEY_AGREEMENT"), kms_key("KEY_AGREEMENT")])


# -- running the command -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str

    def lines(self, verdict: str) -> list[str]:
        return [line for line in self.out.splitlines() if line.split()[0] == verdict]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    def run(*argv: str) -> Run:
        status = keytool.main(["keys", "check", *argv])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Run(status, captured.out, captured.err)

    return run


def check_jwks(cli: Callable[..., Run], url: str, keys: Keys, provider: str = "singpass") -> Run:
    result: Run = cli("--provider", provider, "--jwks-url", url, *keys.arguments())
    return result


# -- a JWKS that matches --------------------------------------------------------------------------------


def test_the_jwks_the_singpass_provider_publishes_passes_with_one_ok_line_per_key(
    singpass_keys: Keys, cli: Callable[..., Run], jwks_server: JwksServer
) -> None:
    url = jwks_server.serve("/.well-known/jwks/sp", published_by("singpass", singpass_keys))

    result = check_jwks(cli, url, singpass_keys)

    assert result.status == 0, result.out + result.err
    assert result.out.splitlines() == [
        f"ok         singpass  {kid(singpass_keys.signing[0])}  signing key in use, sig ES256",
        f"ok         singpass  {kid(singpass_keys.signing[1])}  additional signing key, sig ES256",
        f"ok         singpass  {kid(singpass_keys.decryption[0])}  decryption key, enc ECDH-ES+A256KW",
        f"ok         singpass  {kid(singpass_keys.decryption[1])}  additional decryption key, enc ECDH-ES+A256KW",
    ]
    assert f"singpass: {url} answered in " in result.err
    assert result.err.endswith("keys check: all 4 findings ok\n")


def test_a_myinfo_v4_jwks_with_a_pem_key_passes_under_the_pems_thumbprint(
    moto: None, cli: Callable[..., Run], jwks_server: JwksServer
) -> None:
    keys = Keys([kms_key("SIGN_VERIFY")], [pem_secret("myinfo-v4-enc"), kms_key("KEY_AGREEMENT")])
    url = jwks_server.serve("/.well-known/jwks/mi-v4", published_by("myinfo-v4", keys))

    result = check_jwks(cli, url, keys, provider="myinfo-v4")

    assert result.status == 0, result.out
    assert f"ok         myinfo-v4  {kid(keys.decryption[0])}  decryption key" in result.out
    assert len(kid(keys.decryption[0])) == 43  # an RFC 7638 thumbprint, not an ARN's last segment


# -- a JWKS that does not match: exit status 1 ----------------------------------------------------------------


def test_a_stale_jwks_without_the_key_in_use_is_a_mismatch(
    moto: None, cli: Callable[..., Run], jwks_server: JwksServer
) -> None:
    old, new, decryption = kms_key("SIGN_VERIFY"), kms_key("SIGN_VERIFY"), kms_key("KEY_AGREEMENT")
    url = jwks_server.serve("/jwks", published_by("singpass", Keys([old], [decryption])))  # before the switch

    result = check_jwks(cli, url, Keys([new, old], [decryption]))  # switched to new, old still published

    assert result.status == 1
    assert result.lines("MISSING") == [f"MISSING    singpass  {kid(new)}  signing key in use is not published"]
    assert result.lines("ok")[0] == f"ok         singpass  {kid(old)}  additional signing key, sig ES256"
    assert result.err.endswith("keys check: 1 MISSING\n")


def test_a_next_key_not_yet_published_makes_the_switch_unsafe(
    singpass_keys: Keys, cli: Callable[..., Run], jwks_server: JwksServer
) -> None:
    in_use = Keys(singpass_keys.signing[:1], singpass_keys.decryption[:1])
    url = jwks_server.serve("/jwks", published_by("singpass", in_use))  # the first deploy of the rotation not done

    result = check_jwks(cli, url, singpass_keys)

    assert result.status == 1
    assert result.lines("MISSING") == [
        f"MISSING    singpass  {kid(singpass_keys.signing[1])}  additional signing key is not published",
        f"MISSING    singpass  {kid(singpass_keys.decryption[1])}  additional decryption key is not published",
    ]


def other_public_numbers(keys: list[dict[str, Any]]) -> None:
    """The signing key's entry keeps its kid but carries another key's numbers, as after a key was re-made."""
    other = jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True)
    keys[0].update(x=other["x"], y=other["y"])


def replace(member: str, value: str) -> Callable[[list[dict[str, Any]]], None]:
    return lambda keys: keys[0].update({member: value})


def add_extra_key(keys: list[dict[str, Any]]) -> None:
    keys.append({**keys[0], "kid": "not-configured", "x": keys[2]["x"], "y": keys[2]["y"]})


TAMPERED = {
    "other public numbers, same kid": (
        other_public_numbers,
        "MISMATCH",
        "public key (x, y) is not the configured key's",
    ),
    "wrong use": (replace("use", "enc"), "MISMATCH", 'use "enc", configured "sig"'),
    "wrong alg": (replace("alg", "RS256"), "MISMATCH", 'alg "RS256", configured "ES256"'),
    "wrong curve": (replace("crv", "P-384"), "MISMATCH", 'crv "P-384", configured "P-256"'),
    "a member the gateway does not publish": (
        replace("key_ops", "sign"),
        "MISMATCH",
        "members the gateway does not publish: key_ops",
    ),
    "a private member": (replace("d", "PRIVATE-SCALAR-MATERIAL"), "PRIVATE", "publishes private key members (d)"),
    "an extra key": (add_extra_key, "UNEXPECTED", "published, but not a configured key"),
    "a repeated kid": (lambda keys: keys.append(dict(keys[0])), "DUPLICATE", "published 2 times"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_tampered_jwks_is_a_mismatch_named_on_one_line(
    singpass_keys: Keys, cli: Callable[..., Run], jwks_server: JwksServer, case: str
) -> None:
    tamper, verdict, detail = TAMPERED[case]
    document = published_by("singpass", singpass_keys)
    tamper(document["keys"])
    url = jwks_server.serve("/jwks", document)

    result = check_jwks(cli, url, singpass_keys)

    assert result.status == 1
    [line] = result.lines(verdict)
    assert detail in line
    expected_kid = "not-configured" if verdict == "UNEXPECTED" else kid(singpass_keys.signing[0])
    assert line.split()[2] == expected_kid
    assert "PRIVATE-SCALAR-MATERIAL" not in result.out + result.err  # names members, never their values


def test_a_jwks_without_encryption_keys_names_the_missing_use(
    singpass_keys: Keys, cli: Callable[..., Run], jwks_server: JwksServer
) -> None:
    document = published_by("singpass", singpass_keys)
    url = jwks_server.serve("/jwks", {"keys": [key for key in document["keys"] if key["use"] == "sig"]})

    result = check_jwks(cli, url, singpass_keys)

    assert result.status == 1
    assert result.lines("MISSING")[-1] == (
        'MISSING    singpass  -  no key with "use": "enc": the provider has no key to encrypt to'
    )


def test_kid_less_and_non_object_entries_are_unexpected_and_private_ones_named(
    singpass_keys: Keys, cli: Callable[..., Run], jwks_server: JwksServer
) -> None:
    document = published_by("singpass", singpass_keys)
    document["keys"] += [{"kty": "EC", "d": "secret"}, "a string"]
    url = jwks_server.serve("/jwks", document)

    result = check_jwks(cli, url, singpass_keys)

    assert result.status == 1
    assert result.lines("UNEXPECTED") == [
        "UNEXPECTED singpass  -  an entry without a kid",
        "UNEXPECTED singpass  -  an entry that is not an object",
    ]
    assert result.lines("PRIVATE") == [
        "PRIVATE    singpass  -  publishes private key members (d): treat the key as compromised"
    ]


def test_a_configured_key_a_provider_cannot_use_is_unsuitable(
    moto: None, cli: Callable[..., Run], jwks_server: JwksServer
) -> None:
    rsa_key = boto3.client("kms").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    keys = Keys([rsa_key], [kms_key("KEY_AGREEMENT")])
    url = jwks_server.serve("/jwks", published_by("singpass", keys))  # published faithfully, but RSA

    result = check_jwks(cli, url, keys)

    assert result.status == 1
    assert result.lines("UNSUITABLE") == [
        f"UNSUITABLE singpass  {kid(rsa_key)}  signing key in use is RSA; the provider needs EC P-256"
    ]


# -- what cannot be checked: exit status 2 --------------------------------------------------------------------


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/jwks"


UNREADABLE = {
    "unreachable": (None, "not reachable"),
    "not JSON": (Answer(b"<html>maintenance</html>", headers={"Content-Type": "text/html"}), "not JSON"),
    "JSON, not a JWKS": (Answer(b'{"keys": {}}'), 'not a JWKS (no "keys" array)'),
    "HTTP 404": (Answer(b"{}", status=404), "HTTP 404, not 200"),
    "a redirect": (Answer(b"", status=302, headers={"Location": "/elsewhere"}), "HTTP 302, not 200"),
    "too slow": (Answer(b'{"keys": []}', delay=0.6), "no answer within 0.3 s"),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_a_jwks_that_cannot_be_read_is_exit_status_2(
    singpass_keys: Keys,
    cli: Callable[..., Run],
    jwks_server: JwksServer,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    answer, reason = UNREADABLE[case]
    monkeypatch.setattr(live_jwks, "DEADLINE_SECONDS", 0.3)
    url = closed_port_url() if answer is None else jwks_server.serve("/jwks", answer.body, **answer_fields(answer))

    result = check_jwks(cli, url, singpass_keys)

    assert result.status == 2
    [line] = result.out.splitlines()
    assert line.startswith(f"UNREADABLE singpass  -  {url}: ")
    assert reason in line


def answer_fields(answer: Answer) -> dict[str, Any]:
    return {"status": answer.status, "delay": answer.delay, "headers": answer.headers}


def test_a_jwks_read_in_full_only_after_the_deadline_is_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "40000")
            self.end_headers()
            with contextlib.suppress(ConnectionError):  # the check gave up reading: as it should
                for _ in range(20):
                    self.wfile.write(b" " * 2000)
                    self.wfile.flush()
                    time.sleep(0.05)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setattr(live_jwks, "DEADLINE_SECONDS", 0.3)
    try:
        with pytest.raises(live_jwks.JwksUnreadable, match=r"not read in full within 0\.3 s"):
            live_jwks.fetch(f"http://127.0.0.1:{server.server_address[1]}/jwks")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


KEY_A, KEY_B = (f"arn:aws:kms:ap-southeast-1:123456789012:key/{name}" for name in ("a", "b"))
KEYS = ["--signing-key", KEY_A, "--decryption-key", KEY_B]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--provider", "singpass", "--jwks-url", "http://gateway.example/jwks", *KEYS], "must be https://"),
        (
            ["--provider", "singpass", "--jwks-url", "https://gateway.example/jwks", "--signing-key", KEY_A],
            "(missing: --decryption-key)",
        ),
        (["--stack-name", "gateway", "--provider", "singpass"], "leave out --provider"),
        ([], "give --stack-name, or all of"),
    ],
)
def test_bad_usage_is_exit_status_2_before_any_call(
    cli: Callable[..., Run], arguments: list[str], message: str
) -> None:
    result = cli(*arguments)  # no moto, no credentials: an AWS call would fail otherwise

    assert result.status == 2
    assert result.out == ""
    assert message in result.err


def test_a_key_named_twice_is_bad_usage(singpass_keys: Keys, cli: Callable[..., Run]) -> None:
    twice = Keys([singpass_keys.signing[0], singpass_keys.signing[0]], singpass_keys.decryption)

    result = check_jwks(cli, "https://gateway.example/jwks", twice)

    assert result.status == 2
    assert "is named twice" in result.err


def test_a_key_kms_cannot_give_is_exit_status_2_and_no_jwks_is_fetched(
    singpass_keys: Keys, cli: Callable[..., Run], jwks_server: JwksServer
) -> None:
    absent = "arn:aws:kms:ap-southeast-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    url = jwks_server.serve("/jwks", published_by("singpass", singpass_keys))

    result = check_jwks(cli, url, Keys([absent], singpass_keys.decryption))

    assert result.status == 2
    assert result.out == ""
    assert result.err == f"error: {absent}: KMS get_public_key failed: NotFoundException\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--stack-name", "gateway"], "error: cloudformation: You must specify a region.\n"),
        (["--stack-name", "gateway", "--region", REGION], "error: describe_stacks: Unable to locate credentials\n"),
        (
            ["--provider", "singpass", "--jwks-url", "https://gateway.example/jwks", *KEYS, "--region", REGION],
            f"error: {KEY_A}: KMS get_public_key failed: NoCredentialsError\n",
        ),
    ],
)
def test_no_aws_region_or_credentials_is_exit_status_2(
    cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arguments: list[str], message: str
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)  # restored after the test, whatever --region sets
    for name in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.setenv(name, str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws._client.cache_clear()

    result = cli(*arguments)

    aws._client.cache_clear()
    assert result.status == 2
    assert result.out == ""
    assert result.err == message


def test_the_exit_statuses_are_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        keytool.main(["keys", "check", "--help"])

    help_text = capsys.readouterr().out
    assert "exit status:\n  0  every JWKS publishes exactly the configured keys" in help_text
    assert "\n  1  a mismatch" in help_text
    assert "\n  2  a JWKS could not be read" in help_text


# -- from a deployed stack ---------------------------------------------------------------------------------


@pytest.fixture
def cloudformation(moto: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """moto's CloudFormation, whose AWS::KMS::Key is made with the KeySpec and KeyUsage asked for, as AWS does
    (moto makes every such key symmetric)."""
    from moto.kms import models

    def create(cls: Any, name: str, resource: dict[str, Any], account_id: str, region_name: str, **_: Any) -> Any:
        properties = resource["Properties"]
        backend = models.kms_backends[account_id][region_name]
        return backend.create_key(None, properties["KeyUsage"], properties["KeySpec"], "stack key", [])

    monkeypatch.setattr(models.Key, "create_from_cloudformation_json", classmethod(create))
    return boto3.client("cloudformation")


def stack_template(outputs: dict[str, str]) -> str:
    """The parts of template.yaml `keys check` reads, for Singpass: key parameters, the keys the stack creates
    when they are empty, and the JWKS outputs."""
    parameters = {
        f"Singpass{name}": {"Type": "String", "Default": ""}
        for name in ("SigningKeyArn", "DecryptionKeyArn", "AdditionalSigningKeyArns", "AdditionalDecryptionKeyArns")
    }
    conditions = {
        f"Create{use}Key": {"Fn::Equals": [{"Ref": f"Singpass{use}KeyArn"}, ""]} for use in ("Signing", "Decryption")
    }
    resources = {
        f"Singpass{use}Key": {
            "Type": "AWS::KMS::Key",
            "Condition": f"Create{use}Key",
            "Properties": {"KeySpec": "ECC_NIST_P256", "KeyUsage": usage, "KeyPolicy": {}},
        }
        for use, usage in (("Signing", "SIGN_VERIFY"), ("Decryption", "KEY_AGREEMENT"))
    }
    return json.dumps(
        {
            "Parameters": parameters,
            "Conditions": conditions,
            "Resources": resources,
            "Outputs": {name: {"Value": url} for name, url in outputs.items()},
        }
    )


def create_stack(cloudformation: Any, outputs: dict[str, str], **parameters: str) -> str:
    cloudformation.create_stack(
        StackName="gateway",
        TemplateBody=stack_template(outputs),
        Parameters=[{"ParameterKey": name, "ParameterValue": value} for name, value in parameters.items()],
    )
    stack_id: str = cloudformation.describe_stacks(StackName="gateway")["Stacks"][0]["StackId"]
    return stack_id


def created_key(cloudformation: Any, logical_id: str) -> str:
    key_id = cloudformation.describe_stack_resource(StackName="gateway", LogicalResourceId=logical_id)[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    arn: str = boto3.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    return arn


def test_a_stack_is_checked_for_every_jwks_output_with_the_keys_it_created_or_names(
    cloudformation: Any, cli: Callable[..., Run], jwks_server: JwksServer
) -> None:
    next_signing = kms_key("SIGN_VERIFY")
    urls = {
        "SingpassJwksUri": f"{jwks_server.origin}/jwks/sp",
        "SingpassMyinfoJwksUri": f"{jwks_server.origin}/jwks/sp-data",
    }
    create_stack(cloudformation, urls, SingpassAdditionalSigningKeyArns=next_signing)
    keys = Keys(
        [created_key(cloudformation, "SingpassSigningKey"), next_signing],
        [created_key(cloudformation, "SingpassDecryptionKey")],
    )
    for path in ("/jwks/sp", "/jwks/sp-data"):
        jwks_server.serve(path, published_by("singpass", keys))

    result = cli("--stack-name", "gateway", "--region", REGION)

    assert result.status == 0, result.out + result.err
    assert [line.split()[:3] for line in result.out.splitlines()] == [
        ["ok", label, kid(arn)]
        for label in ("singpass", "singpass-myinfo")
        for arn in (*keys.signing, *keys.decryption)
    ]


def test_a_stack_whose_jwks_lags_its_parameters_is_a_mismatch(
    cloudformation: Any, cli: Callable[..., Run], jwks_server: JwksServer
) -> None:
    signing, decryption, next_decryption = kms_key("SIGN_VERIFY"), kms_key("KEY_AGREEMENT"), kms_key("KEY_AGREEMENT")
    url = jwks_server.serve("/jwks/sp", published_by("singpass", Keys([signing], [decryption])))
    create_stack(
        cloudformation,
        {"SingpassJwksUri": url},
        SingpassSigningKeyArn=signing,
        SingpassDecryptionKeyArn=decryption,
        SingpassAdditionalDecryptionKeyArns=next_decryption,  # deployed, but the JWKS still serves the old set
    )

    result = cli("--stack-name", "gateway")

    assert result.status == 1
    assert result.lines("MISSING") == [
        f"MISSING    singpass  {kid(next_decryption)}  additional decryption key is not published"
    ]


def test_an_unreadable_jwks_wins_over_a_mismatch_in_another(
    cloudformation: Any, cli: Callable[..., Run], jwks_server: JwksServer
) -> None:
    signing, decryption = kms_key("SIGN_VERIFY"), kms_key("KEY_AGREEMENT")
    stale = jwks_server.serve("/jwks/sp", published_by("singpass", Keys([kms_key("SIGN_VERIFY")], [decryption])))
    create_stack(
        cloudformation,
        {"SingpassJwksUri": stale, "SingpassMyinfoJwksUri": closed_port_url()},
        SingpassSigningKeyArn=signing,
        SingpassDecryptionKeyArn=decryption,
    )

    result = cli("--stack-name", "gateway")

    assert result.status == 2  # one JWKS not checked at all: the check has not passed, and says why
    assert result.lines("MISSING")
    assert result.lines("UNREADABLE")


@pytest.mark.parametrize(
    ("stack_name", "message"),
    [
        ("absent", "error: describe_stacks: ValidationError: Stack with id absent does not exist"),
        ("gateway", "error: stack gateway has none of the outputs SingpassJwksUri, SingpassMyinfoJwksUri"),
    ],
)
def test_a_stack_that_cannot_be_read_or_publishes_no_jwks_is_exit_status_2(
    cloudformation: Any, cli: Callable[..., Run], stack_name: str, message: str
) -> None:
    create_stack(cloudformation, {"SomethingElse": "x"})

    result = cli("--stack-name", stack_name)

    assert result.status == 2
    assert result.err.startswith(message)


USAGES = {"sig": "SIGN_VERIFY", "enc": "KEY_AGREEMENT"}


@pytest.mark.parametrize("provider", check_targets.STACK_PROVIDERS, ids=lambda provider: provider.name)
def test_the_stack_names_the_check_reads_are_template_yamls(provider: check_targets.StackProvider) -> None:
    for use, usage in USAGES.items():
        assert {provider.parameter(use), provider.additional_parameter(use)} <= set(TEMPLATE["Parameters"])
        created = TEMPLATE["Resources"][provider.created_key(use)]["Properties"]
        assert (created["KeySpec"], created["KeyUsage"]) == ("ECC_NIST_P256", usage)  # what REQUIRED_KEY says
        role = keytool.KEY_ROLES.get((provider.name, use))
        if role is not None:  # the other commands' names for the same keys
            assert (role.parameter, role.additional_parameter) == (
                provider.parameter(use),
                provider.additional_parameter(use),
            )
            assert role.jwks_output == provider.jwks_outputs[0][1]
    assert {output for _, output in provider.jwks_outputs} <= set(TEMPLATE["Outputs"])
