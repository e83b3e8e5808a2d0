"""The key CLI against moto's KMS and Secrets Manager: keys of the spec each provider needs, the JWKS the
gateway itself publishes, certificates signed inside KMS, PEMs checked without echoing them, rotation plans
that SAM and the template read as intended, and one-line errors instead of tracebacks."""

from __future__ import annotations

import datetime
import functools
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from singpass_gateway import aws, keytool
from singpass_gateway.keys import KeyUnavailable, PrivateKey, load_key
from singpass_gateway.providers import myinfo_v4, singpass
from singpass_gateway.secrets import SecretCache
from singpass_gateway.settings import ProviderSettings

from infra.sandbox.template import Resolver, functions, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
EXPECTED_KMS_KEYS = {
    ("sgid", "enc"): ("RSA_2048", "ENCRYPT_DECRYPT"),
    ("singpass", "sig"): ("ECC_NIST_P256", "SIGN_VERIFY"),
    ("singpass", "enc"): ("ECC_NIST_P256", "KEY_AGREEMENT"),
    ("corppass", "sig"): ("ECC_NIST_P256", "SIGN_VERIFY"),
    ("corppass", "enc"): ("ECC_NIST_P256", "KEY_AGREEMENT"),
    ("myinfo-v3", "sig"): ("RSA_2048", "SIGN_VERIFY"),
    ("myinfo-v3", "enc"): ("RSA_2048", "ENCRYPT_DECRYPT"),
    ("myinfo-v4", "sig"): ("ECC_NIST_P256", "SIGN_VERIFY"),
    ("myinfo-v4", "enc"): ("ECC_NIST_P256", "KEY_AGREEMENT"),
}
"""What README and template.yaml say each provider's keys are, written out independently of the CLI."""
STACK_KEYS = {
    "SgidDecryptionKey": ("sgid", "enc"),
    "SingpassSigningKey": ("singpass", "sig"),
    "SingpassDecryptionKey": ("singpass", "enc"),
    "CorppassSigningKey": ("corppass", "sig"),
    "CorppassDecryptionKey": ("corppass", "enc"),
    "MyInfoV4SigningKey": ("myinfo-v4", "sig"),
    "MyInfoV4DecryptionKey": ("myinfo-v4", "enc"),
}
"""The KMS keys template.yaml creates when no key ARN is given."""
CURRENT = "arn:aws:kms:ap-southeast-1:123456789012:key/11111111-1111-1111-1111-111111111111"
NEXT = "arn:aws:kms:ap-southeast-1:123456789012:key/22222222-2222-2222-2222-222222222222"


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str


@pytest.fixture
def moto(moto: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit suite's moto, with one boto3 session shared by these tests (see shared_session)."""
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", shared_session())


@functools.cache
def shared_session() -> boto3.Session:
    """One boto3 session for all tests: mock_aws starts each test with a new default session, which would parse
    the KMS and Secrets Manager service models again (most of these tests' time otherwise)."""
    return boto3.Session()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*argv: str) -> Run:
        status = keytool.main(["keys", *argv])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Run(status, captured.out, captured.err)

    return run


def created(cli: Any, provider: str, use: str) -> str:
    result = cli("create", "--provider", provider, "--use", use)
    assert result.status == 0, result.err
    arn: str = result.out.strip()
    return arn


def gateway_key(reference: str) -> PrivateKey:
    return load_key(reference, SecretCache(aws.secretsmanager, 300))


class KeysOnlyToolkit:
    """What a provider needs to publish its JWKS: keys loaded the way the deployed gateway loads them."""

    def key(self, reference: str) -> PrivateKey:
        return gateway_key(reference)

    def pause(self, seconds: float) -> None:
        raise AssertionError("publishing keys calls no provider")


def published_by(provider_type: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    entry = ProviderSettings(id=provider_type, type=provider_type, name=provider_type, options=options)
    module = {"myinfo-v4": myinfo_v4, "singpass": singpass}[provider_type]
    published: list[dict[str, Any]] = module.create(entry, KeysOnlyToolkit()).client_jwks()  # type: ignore[arg-type]
    return published


def pem_of(key: Any, encryption: Any = None, legacy: bool = False) -> bytes:
    private_format = serialization.PrivateFormat.TraditionalOpenSSL if legacy else serialization.PrivateFormat.PKCS8
    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM, private_format, encryption or serialization.NoEncryption()
    )
    return pem


def write_pem(directory: Path, key: Any) -> Path:
    path = directory / "key.pem"
    path.write_bytes(pem_of(key))
    return path


def material_lines(pem: bytes) -> list[str]:
    """The lines of a PEM that carry key material (everything but the BEGIN/END and header lines)."""
    return [line for line in pem.decode().splitlines() if line and ":" not in line and not line.startswith("-----")]


@pytest.fixture(scope="module")
def rsa_2048() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# -- create -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("provider", "use"), list(EXPECTED_KMS_KEYS))
def test_create_makes_a_kms_key_of_exactly_the_spec_the_provider_needs(
    moto: None, cli: Any, provider: str, use: str
) -> None:
    result = cli("create", "--provider", provider, "--use", use, "--alias", f"gateway/{provider}-{use}")

    assert result.status == 0
    [arn] = result.out.split()  # stdout is the ARN alone, for scripts
    kms = boto3.client("kms")
    metadata = kms.describe_key(KeyId=arn)["KeyMetadata"]
    assert (metadata["KeySpec"], metadata["KeyUsage"]) == EXPECTED_KMS_KEYS[(provider, use)]
    assert metadata["Description"].startswith(f"singpass-gateway {provider} {use} key: ")
    tags = {tag["TagKey"]: tag["TagValue"] for tag in kms.list_resource_tags(KeyId=arn)["Tags"]}
    assert tags == {"singpass-gateway:provider": provider, "singpass-gateway:use": use}
    [alias] = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == f"alias/gateway/{provider}-{use}"]
    assert alias["TargetKeyId"] == metadata["KeyId"]
    assert keytool.KEY_ROLES[(provider, use)].parameter in result.err


def test_the_cli_creates_what_the_template_creates_and_names_template_parameters() -> None:
    for logical_id, role_name in STACK_KEYS.items():
        properties = TEMPLATE["Resources"][logical_id]["Properties"]
        role = keytool.KEY_ROLES[role_name]
        assert (role.key_spec, role.key_usage) == (properties["KeySpec"], properties["KeyUsage"])
    assert set(keytool.KEY_ROLES) == set(EXPECTED_KMS_KEYS)
    for role in keytool.KEY_ROLES.values():
        assert {role.parameter, role.additional_parameter or role.parameter} <= set(TEMPLATE["Parameters"])


def test_a_key_use_the_provider_does_not_have_is_refused_before_anything_is_created(moto: None, cli: Any) -> None:
    result = cli("create", "--provider", "sgid", "--use", "sig")

    assert result.status == 1
    assert result.err == "error: sgid has no sig key; its keys: enc\n"
    assert boto3.client("kms").list_keys()["Keys"] == []


def test_missing_credentials_are_one_line_not_a_traceback(
    cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    aws._client.cache_clear()

    result = cli("create", "--provider", "myinfo-v4", "--use", "sig")

    aws._client.cache_clear()
    assert result.status == 1
    assert result.out == ""
    assert result.err == "error: create_key: Unable to locate credentials\n"


# -- jwks and public-key ---------------------------------------------------------------------------------


def test_jwks_prints_what_the_myinfo_v4_provider_publishes_for_the_same_keys(moto: None, cli: Any) -> None:
    signing, next_signing = created(cli, "myinfo-v4", "sig"), created(cli, "myinfo-v4", "sig")
    decryption = created(cli, "myinfo-v4", "enc")

    result = cli("jwks", decryption, signing, next_signing)

    assert result.status == 0
    printed = json.loads(result.out)
    assert printed == {
        "keys": published_by(
            "myinfo-v4",
            {
                "client_id": "c",
                "purpose_id": "p",
                "signing_key_arn": signing,
                "additional_signing_key_arns": [next_signing],
                "decryption_key_arns": [decryption],
            },
        )
    }
    kids = [arn.rsplit("/", 1)[-1] for arn in (signing, next_signing, decryption)]
    assert [key["kid"] for key in printed["keys"]] == kids  # signing keys first, whatever the order asked


def test_jwks_holds_the_public_halves_of_the_kms_keys(moto: None, cli: Any) -> None:
    signing, decryption = created(cli, "singpass", "sig"), created(cli, "singpass", "enc")
    printed = json.loads(cli("jwks", signing, decryption).out)
    options = {"client_id": "c", "signing_key_arn": signing, "decryption_key_arn": decryption}
    assert printed == {"keys": published_by("singpass", options)}
    signing_jwk, decryption_jwk = (jwt.algorithms.ECAlgorithm.from_jwk(entry) for entry in printed["keys"])
    assert isinstance(signing_jwk, ec.EllipticCurvePublicKey)
    assert isinstance(decryption_jwk, ec.EllipticCurvePublicKey)
    kms = boto3.client("kms")

    signature = kms.sign(KeyId=signing, Message=b"assertion", MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256")
    signing_jwk.verify(signature["Signature"], b"assertion", ec.ECDSA(hashes.SHA256()))
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    ephemeral_der = ephemeral.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    agreed = kms.derive_shared_secret(KeyId=decryption, KeyAgreementAlgorithm="ECDH", PublicKey=ephemeral_der)
    assert agreed["SharedSecret"] == ephemeral.exchange(ec.ECDH(), decryption_jwk)


def test_a_pem_key_needs_its_use_said_and_is_published_under_its_thumbprint(moto: None, cli: Any) -> None:
    pem = pem_of(ec.generate_private_key(ec.SECP256R1())).decode()
    secret = boto3.client("secretsmanager").create_secret(Name="enc", SecretString=pem)["ARN"]

    refused = cli("jwks", secret)
    printed = json.loads(cli("jwks", "--use", "enc", secret).out)

    assert refused.status == 1
    assert "--use" in refused.err
    options = {"client_id": "c", "purpose_id": "p", "signing_key_arn": secret, "decryption_key_arns": [secret]}
    [_, as_published] = published_by("myinfo-v4", options)
    assert printed == {"keys": [as_published]}
    assert as_published["kid"] == gateway_key(secret).key_id


def test_jwks_refuses_rsa_keys_and_a_use_the_kms_key_does_not_have(moto: None, cli: Any) -> None:
    rsa_key, signing = created(cli, "sgid", "enc"), created(cli, "myinfo-v4", "sig")

    not_ec = cli("jwks", rsa_key)
    wrong_use = cli("jwks", "--use", "enc", signing)

    assert not_ec.status == wrong_use.status == 1
    assert "keys public-key" in not_ec.err
    assert wrong_use.err.endswith("so its JWK use is sig, not enc\n")
    assert not_ec.out == wrong_use.out == ""


def test_public_key_prints_the_kms_keys_public_half_for_sgid(moto: None, cli: Any) -> None:
    arn = created(cli, "sgid", "enc")

    printed = serialization.load_pem_public_key(cli("public-key", arn).out.encode())

    der = printed.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert der == boto3.client("kms").get_public_key(KeyId=arn)["PublicKey"]


# -- certificate ---------------------------------------------------------------------------------------

SUBJECT = "/CN=app.example.com/O=Example\\/Partners/C=SG"
SUBJECT_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COMMON_NAME, "app.example.com"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example/Partners"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "SG"),
    ]
)


def verify_rs256(public_key: Any, signature: bytes, data: bytes) -> None:
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def test_a_self_signed_certificate_is_signed_inside_kms_by_the_key_it_certifies(moto: None, cli: Any) -> None:
    arn = created(cli, "myinfo-v3", "sig")
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)

    result = cli("certificate", arn, "--subject", SUBJECT, "--days", "30")

    assert result.status == 0
    certificate = x509.load_pem_x509_certificate(result.out.encode())
    kms_public_key = serialization.load_der_public_key(boto3.client("kms").get_public_key(KeyId=arn)["PublicKey"])
    assert certificate.public_key() == kms_public_key
    verify_rs256(kms_public_key, certificate.signature, certificate.tbs_certificate_bytes)
    assert certificate.subject == certificate.issuer == SUBJECT_NAME
    assert before <= certificate.not_valid_before_utc
    assert certificate.not_valid_after_utc - certificate.not_valid_before_utc == datetime.timedelta(days=30)


def test_a_csr_is_signed_by_the_kms_key_it_names(moto: None, cli: Any) -> None:
    arn = created(cli, "myinfo-v3", "sig")

    request = x509.load_pem_x509_csr(cli("certificate", arn, "--subject", SUBJECT, "--csr").out.encode())

    kms_public_key = serialization.load_der_public_key(boto3.client("kms").get_public_key(KeyId=arn)["PublicKey"])
    assert request.is_signature_valid
    assert request.public_key() == kms_public_key
    verify_rs256(kms_public_key, request.signature, request.tbs_certrequest_bytes)
    assert request.subject == SUBJECT_NAME


def test_a_certificate_for_a_pem_secret_is_signed_by_that_pem(
    moto: None, cli: Any, tmp_path: Path, rsa_2048: rsa.RSAPrivateKey
) -> None:
    private_key = rsa_2048
    secret = boto3.client("secretsmanager").create_secret(Name="myinfo", SecretString="placeholder")["ARN"]
    assert cli("store-pem", secret, str(write_pem(tmp_path, private_key)), "--provider", "myinfo-v3").status == 0

    certificate = x509.load_pem_x509_certificate(cli("certificate", secret, "--subject", "/CN=app").out.encode())

    verify_rs256(private_key.public_key(), certificate.signature, certificate.tbs_certificate_bytes)
    assert certificate.public_key() == private_key.public_key()


@pytest.mark.parametrize(
    ("provider", "use", "message"),
    [
        ("myinfo-v3", "enc", "is an ENCRYPT_DECRYPT key; KMS signs only with SIGN_VERIFY keys"),
        ("myinfo-v4", "sig", "is not an RSA key; MyInfo v3 certificates carry RSA keys"),
    ],
)
def test_certificates_are_refused_for_keys_that_cannot_sign_them(
    moto: None, cli: Any, provider: str, use: str, message: str
) -> None:
    result = cli("certificate", created(cli, provider, use), "--subject", "/CN=app")

    assert result.status == 1
    assert result.out == ""
    assert message in result.err


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        ("CN=app", "write the subject as openssl does"),
        ("/XX=app", "subject attribute 'XX' is unknown or empty"),
        ("/CN=", "subject attribute 'CN' is unknown or empty"),
        ("/C=Singapore", "subject attribute C: "),
    ],
)
def test_a_subject_openssl_would_not_take_is_refused_before_any_aws_call(cli: Any, subject: str, message: str) -> None:
    result = cli("certificate", CURRENT, "--subject", subject)  # no credentials, no moto: AWS is never called

    assert result.status == 1
    assert message in result.err


# -- store-pem -------------------------------------------------------------------------------------------


def test_store_pem_puts_a_checked_key_into_the_secret_as_pkcs8(
    moto: None, cli: Any, tmp_path: Path, rsa_2048: rsa.RSAPrivateKey
) -> None:
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name="myinfo", SecretString="placeholder")["ARN"]
    pem = pem_of(rsa_2048, legacy=True)  # PKCS#1, as openssl genrsa writes it
    (tmp_path / "key.pem").write_bytes(pem)

    result = cli("store-pem", arn, str(tmp_path / "key.pem"), "--provider", "myinfo-v3")

    assert result.status == 0
    stored = secrets.get_secret_value(SecretId=arn)["SecretString"]
    assert stored.startswith("-----BEGIN PRIVATE KEY-----\n")
    loaded = serialization.load_pem_private_key(stored.encode(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == rsa_2048.private_numbers()
    assert gateway_key(arn).key_id in result.err
    for line in material_lines(pem) + material_lines(stored.encode()):
        assert line not in result.out + result.err


WEAK_RSA = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - refused, on purpose
REFUSED_PEMS = {
    "weak RSA": ("myinfo-v3", pem_of(WEAK_RSA), "a 1024-bit RSA key is too weak"),
    "encrypted PKCS#8": ("sgid", pem_of(WEAK_RSA, serialization.BestAvailableEncryption(b"pw")), "is encrypted"),
    "encrypted PKCS#1": (
        "sgid",
        pem_of(WEAK_RSA, serialization.BestAvailableEncryption(b"pw"), legacy=True),
        "is encrypted",
    ),
    "garbage": (
        "sgid",
        b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ1dC1ub3QtYS1rZXktYXQtYWxs\n-----END PRIVATE KEY-----\n",
        "is not a PEM private key",
    ),
    "EC for an RSA provider": ("sgid", pem_of(ec.generate_private_key(ec.SECP256R1())), "needs an RSA key"),
    "RSA for an EC provider": ("myinfo-v4", pem_of(WEAK_RSA), "needs an EC P-256 key"),
    "P-384 for Singpass": ("singpass", pem_of(ec.generate_private_key(ec.SECP384R1())), "needs an EC P-256 key"),
}


@pytest.mark.parametrize("case", list(REFUSED_PEMS))
def test_store_pem_refuses_keys_the_provider_cannot_use_without_echoing_them(
    moto: None, cli: Any, tmp_path: Path, case: str
) -> None:
    provider, pem, message = REFUSED_PEMS[case]
    (tmp_path / "key.pem").write_bytes(pem)
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name="key", SecretString="placeholder")["ARN"]

    result = cli("store-pem", arn, str(tmp_path / "key.pem"), "--provider", provider)

    assert result.status == 1
    assert message in result.err
    assert secrets.get_secret_value(SecretId=arn)["SecretString"] == "placeholder"
    for line in material_lines(pem):
        assert line not in result.out + result.err


@pytest.mark.parametrize(
    ("secret", "file", "message"),
    [
        ("arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:absent-AbCdEf", "key.pem", "ResourceNotFound"),
        ("arn:aws:kms:ap-southeast-1:123456789012:key/abc", "key.pem", "Secrets Manager secret ARNs"),
        ("arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:absent-AbCdEf", "missing.pem", "No such file"),
    ],
)
def test_store_pem_explains_a_wrong_secret_or_file(
    moto: None, cli: Any, tmp_path: Path, rsa_2048: rsa.RSAPrivateKey, secret: str, file: str, message: str
) -> None:
    write_pem(tmp_path, rsa_2048)

    result = cli("store-pem", secret, str(tmp_path / file), "--provider", "sgid")

    assert result.status == 1
    assert message in result.err


class PublicKeysOnlyToolkit:
    """The JWKS function's keys (GATEWAY_PUBLIC_KEYS_ONLY): a PEM key is the public half in its secret's tags."""

    def key(self, reference: str) -> PrivateKey:
        return load_key(reference, SecretCache(aws.secretsmanager, 300), public_only=True)

    def pause(self, seconds: float) -> None:
        raise AssertionError("publishing keys calls no provider")


class NoSecretValues:
    """Secrets Manager as the JWKS function's role sees it: DescribeSecret, never GetSecretValue."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def describe_secret(self, **kwargs: Any) -> Any:
        return self._client.describe_secret(**kwargs)

    def get_secret_value(self, **kwargs: Any) -> Any:
        raise AssertionError("the JWKS function read a private key")


def test_store_pem_tags_the_secret_with_the_public_half_the_jwks_function_publishes(
    moto: None, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = boto3.client("secretsmanager")
    arns = {}
    for use in ("sig", "enc"):
        arns[use] = secrets.create_secret(Name=f"singpass-{use}", SecretString="placeholder")["ARN"]
        (tmp_path / f"{use}.pem").write_bytes(pem_of(ec.generate_private_key(ec.SECP256R1())))
        assert cli("store-pem", arns[use], str(tmp_path / f"{use}.pem"), "--provider", "singpass").status == 0
    options = {"client_id": "c", "signing_key_arn": arns["sig"], "decryption_key_arn": arns["enc"]}
    from_the_private_keys = published_by("singpass", options)
    tags = secrets.describe_secret(SecretId=arns["sig"])["Tags"]
    assert [tag["Key"] for tag in tags] == ["singpass-gateway:public-key:1"]  # one tag holds a P-256 key

    entry = ProviderSettings(id="singpass", type="singpass", name="Singpass", options=options)
    real = aws.secretsmanager()
    monkeypatch.setattr(aws, "secretsmanager", lambda: NoSecretValues(real))
    provider = singpass.create(entry, PublicKeysOnlyToolkit())  # type: ignore[arg-type]

    assert provider.client_jwks() == from_the_private_keys  # the same kids and public numbers
    with pytest.raises(KeyUnavailable, match="only published"):
        load_key(arns["sig"], SecretCache(aws.secretsmanager, 300), public_only=True).sign(b"x", "ES256")


def test_tag_public_key_tags_a_secret_stored_before_and_drops_a_larger_keys_leftovers(
    moto: None, cli: Any, tmp_path: Path, rsa_2048: rsa.RSAPrivateKey
) -> None:
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name="pem", SecretString=pem_of(rsa_2048).decode())["ARN"]
    untagged = load_key(arn, SecretCache(aws.secretsmanager, 300), public_only=True)
    with pytest.raises(KeyUnavailable, match="keys tag-public-key"):
        untagged.public_key()

    assert cli("tag-public-key", arn).status == 0
    keys = sorted(tag["Key"] for tag in secrets.describe_secret(SecretId=arn)["Tags"])
    assert keys == ["singpass-gateway:public-key:1", "singpass-gateway:public-key:2"]  # RSA-2048: two tags
    published = load_key(arn, SecretCache(aws.secretsmanager, 300), public_only=True)
    assert published.key_id == gateway_key(arn).key_id

    ec_key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ec.pem").write_bytes(pem_of(ec_key))
    assert cli("store-pem", arn, str(tmp_path / "ec.pem"), "--provider", "singpass").status == 0
    keys = sorted(tag["Key"] for tag in secrets.describe_secret(SecretId=arn)["Tags"])
    assert keys == ["singpass-gateway:public-key:1"]
    reread = load_key(arn, SecretCache(aws.secretsmanager, 300), public_only=True)
    assert reread.public_key().public_numbers() == ec_key.public_key().public_numbers()  # type: ignore[union-attr]
    assert cli("tag-public-key", "arn:aws:kms:ap-southeast-1:123456789012:key/abc").status == 1


# -- rotation-plan ---------------------------------------------------------------------------------------

PROVIDER_PARAMETERS = {
    "myinfo-v4": {"FrontendUrl": "https://app.example", "MyInfoV4ClientId": "c", "MyInfoV4PurposeId": "p"},
    "singpass": {"FrontendUrl": "https://app.example", "SingpassClientId": "c"},
    "corppass": {"FrontendUrl": "https://app.example", "CorppassClientId": "c"},
}
"""The least each provider needs for template.yaml to configure it."""


def deploys(plan: str) -> list[dict[str, str]]:
    """Each printed ``sam deploy``'s overrides, read by SAM's own parser."""
    from samcli.cli.types import CfnParameterOverridesType

    overrides = []
    for line in plan.splitlines():
        if line.strip().startswith("sam deploy"):
            words = shlex.split(line)
            value = words[words.index("--parameter-overrides") + 1]
            overrides.append(CfnParameterOverridesType().convert(value, None, None))
    return overrides


def deployed(provider: str, parameters: dict[str, str]) -> dict[str, Any]:
    """The ``provider`` entry of GATEWAY_PROVIDERS that template.yaml gives the functions for ``parameters``."""
    physical = {name: {"Ref": name, "Arn": name} for name in TEMPLATE["Resources"]}
    environment = functions(TEMPLATE, Resolver(TEMPLATE, parameters, physical))[0].environment
    [entry] = [entry for entry in json.loads(environment["GATEWAY_PROVIDERS"]) if entry and entry["type"] == provider]
    return dict(entry)


def published_signing_keys(entry: dict[str, Any]) -> list[str]:
    return [entry["signing_key_arn"], *entry["additional_signing_key_arns"]]


@pytest.mark.parametrize(
    ("provider", "use", "parameter", "published"),
    [
        ("myinfo-v4", "sig", "MyInfoV4SigningKeyArn", published_signing_keys),
        ("myinfo-v4", "enc", "MyInfoV4DecryptionKeyArn", lambda e: e["decryption_key_arns"]),
        ("singpass", "sig", "SingpassSigningKeyArn", published_signing_keys),
        (
            "singpass",
            "enc",
            "SingpassDecryptionKeyArn",
            lambda e: [e["decryption_key_arn"], *e["additional_decryption_key_arns"]],
        ),
        ("corppass", "sig", "CorppassSigningKeyArn", published_signing_keys),
        (
            "corppass",
            "enc",
            "CorppassDecryptionKeyArn",
            lambda e: [e["decryption_key_arn"], *e["additional_decryption_key_arns"]],
        ),
    ],
)
def test_a_zero_downtime_plan_publishes_the_new_key_a_deploy_before_using_it(
    cli: Any, provider: str, use: str, parameter: str, published: Any
) -> None:
    result = cli("rotation-plan", "--provider", provider, "--use", use, "--current", CURRENT, "--next", NEXT)
    assert result.status == 0

    parameters = {**PROVIDER_PARAMETERS[provider], parameter: CURRENT}
    stages = []
    for overrides in deploys(result.out):
        parameters.update(overrides)  # sam deploy: every parameter not named keeps its deployed value
        stages.append(published(deployed(provider, parameters)))

    assert stages == [[CURRENT, NEXT], [NEXT, CURRENT], [NEXT]]  # the first key is the one used (sig) or
    # the configured one (enc); the other is published and, for enc, still accepted
    assert "NOT zero-downtime" not in result.out
    output = {"singpass": "SingpassJwksUri", "corppass": "CorppassJwksUri", "myinfo-v4": "MyInfoV4JwksUri"}[provider]
    assert f"(the stack's {output} output) lists the" in result.out


def test_a_singpass_plan_waits_out_singpasss_hour_long_jwks_cache_at_each_step(cli: Any) -> None:
    result = cli("rotation-plan", "--provider", "singpass", "--use", "enc", "--current", CURRENT, "--next", NEXT)

    assert result.out.count("Wait at least 1 hour 5 minutes: Singpass caches a client JWKS") == 2


@pytest.mark.parametrize(
    ("provider", "use", "parameter"),
    [("sgid", "enc", "SgidDecryptionKeyArn"), ("myinfo-v3", "sig", "MyInfoV3SigningKeyArn")],
)
def test_a_plan_without_a_second_published_key_says_it_is_not_zero_downtime(
    cli: Any, provider: str, use: str, parameter: str
) -> None:
    result = cli("rotation-plan", "--provider", provider, "--use", use, "--current", CURRENT, "--next", NEXT,
                 "--stack-name", "gateway")  # fmt: skip

    assert result.status == 0
    assert "NOT zero-downtime" in result.out
    assert deploys(result.out) == [{parameter: NEXT}]
    assert "sam deploy --stack-name gateway " in result.out
    assert f"aws kms disable-key --key-id {CURRENT}" in result.out


@pytest.mark.parametrize(
    ("current", "next_key", "message"),
    [(CURRENT, CURRENT, "name the same key"), ("key/1", NEXT, "neither a KMS key ARN nor a Secrets Manager")],
)
def test_a_plan_needs_two_different_key_arns(cli: Any, current: str, next_key: str, message: str) -> None:
    result = cli("rotation-plan", "--provider", "myinfo-v4", "--use", "sig", "--current", current, "--next", next_key)

    assert result.status == 1
    assert message in result.err


# -- the command line itself -----------------------------------------------------------------------------


def test_python_dash_m_runs_the_cli_and_importing_it_loads_neither_boto3_nor_cryptography() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "singpass_gateway", "keys", "--help"], capture_output=True, text=True, check=True
    ).stdout
    probe = "import sys, singpass_gateway.keytool; print(sorted({'boto3', 'cryptography'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    for command in ("create", "jwks", "public-key", "certificate", "store-pem", "tag-public-key", "rotation-plan"):
        assert command in help_text
    assert loaded.strip() == "[]"


def test_a_reader_that_stops_reading_is_not_a_traceback() -> None:
    plan = ["rotation-plan", "--provider", "singpass", "--use", "sig", "--current", CURRENT, "--next", NEXT]
    command = [sys.executable, "-m", "singpass_gateway", "keys", *plan]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        process.stdout.close()  # as `| head` does once it has read enough
        _, err = process.communicate()

    assert process.returncode == 1
    assert err == b""
