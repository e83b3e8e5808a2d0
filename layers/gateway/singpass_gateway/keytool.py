"""Key management for operators: ``python -m singpass_gateway keys <command>``.

Setting keys up by hand (openssl, the aws CLI, a kid worked out separately) fails late: a key of the wrong
KeySpec, a 1024-bit RSA key or a kid that differs from the gateway's only shows up as a refused login. These
commands create keys of exactly the spec each provider needs, print the client JWKS through the gateway's own
``published_jwk`` (so every kid is the one the deployed gateway publishes), sign MyInfo v3 certificates through
the key interface (inside KMS for a KMS key), check PEMs before they reach Secrets Manager, and print key
rotations as the ``sam deploy`` commands to run. (Its parser is the package's one command line, so it also offers
``openapi``, which prints the HTTP contract of contract.py.)

No Lambda handler imports this module, and it imports boto3 and cryptography only inside commands. Expected
failures (a wrong key, missing credentials, an unreadable PEM) are one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import GatewayError

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
    from mypy_boto3_kms.literals import KeySpecType, KeyUsageTypeType

    from .keys import PrivateKey


class KeyToolError(Exception):
    """An expected failure of a command: reported as one line, exit status 1, no traceback."""


class UnsuitableKey(KeyToolError):
    """The key exists but is of a type, size or usage the provider or the command cannot use."""


class UnreadablePem(KeyToolError):
    """The file is not an unencrypted PEM private key (the message never quotes the file)."""


class InvalidArgument(KeyToolError):
    """An argument argparse cannot check by itself (a subject, an alias, a key reference)."""


class AwsCallFailed(KeyToolError):
    """AWS refused or could not be reached: credentials, region, permissions, a missing resource."""


@dataclass(frozen=True)
class KeyRole:
    """What one provider needs of one key, and the template parameter that names it."""

    key_spec: KeySpecType
    key_usage: KeyUsageTypeType
    purpose: str
    """Becomes the KMS key's description."""
    parameter: str
    additional_parameter: str | None = None
    """A parameter listing keys that are published but not used: rotation without downtime."""
    switch_caveat: str = ""
    """What replacing the key in one deploy costs, when there is no ``additional_parameter``."""
    jwks_output: str = ""
    """The stack output naming the JWKS URL registered with the provider (its keys alone)."""
    cache_wait: str = ""
    """How long to wait at each rotation step, where the provider documents how long it caches a client JWKS."""


_JWKS_CACHE_NOTE = (
    "the gateway lets the JWKS be cached 5 minutes; {provider} does not publish its own cache lifetime, so "
    "leave a generous margin"
)
_SINGPASS_CACHE_WAIT = (
    "Wait at least 1 hour 5 minutes: Singpass caches a client JWKS for an hour, and the gateway lets it be "
    "cached 5 minutes more."
)
KEY_ROLES: dict[tuple[str, str], KeyRole] = {
    ("sgid", "enc"): KeyRole(
        "RSA_2048", "ENCRYPT_DECRYPT", "sgID encrypts userinfo to it (RSA-OAEP)", "SgidDecryptionKeyArn",
        switch_caveat="sgID encrypts to the one public key registered for the client: register the new one "
        "(keys public-key NEW) as close to the deploy as you can; logins in between fail.",
    ),
    ("singpass", "sig"): KeyRole(
        "ECC_NIST_P256", "SIGN_VERIFY", "signs Singpass client assertions (ES256)", "SingpassSigningKeyArn",
        additional_parameter="SingpassAdditionalSigningKeyArns", jwks_output="SingpassJwksUri",
        cache_wait=_SINGPASS_CACHE_WAIT,
    ),
    ("singpass", "enc"): KeyRole(
        "ECC_NIST_P256", "KEY_AGREEMENT", "Singpass encrypts ID tokens and userinfo to it (ECDH-ES)",
        "SingpassDecryptionKeyArn", additional_parameter="SingpassAdditionalDecryptionKeyArns",
        jwks_output="SingpassJwksUri", cache_wait=_SINGPASS_CACHE_WAIT,
    ),
    ("myinfo-v3", "sig"): KeyRole(
        "RSA_2048", "SIGN_VERIFY", "signs MyInfo v3 PKI_SIGN headers (RS256)", "MyInfoV3SigningKeyArn",
        switch_caveat="MyInfo verifies with the certificate registered for the app: have MyInfo register the "
        "new key's certificate (keys certificate NEW --subject ...) and deploy when it takes effect. With one PEM "
        "for signing and decryption (the stack's MyInfoV3PrivateKey secret), put the new PEM into that secret "
        "with keys store-pem instead of deploying; containers read it within 5 minutes.",
    ),
    ("myinfo-v3", "enc"): KeyRole(
        "RSA_2048", "ENCRYPT_DECRYPT", "MyInfo v3 encrypts person data to it (RSA-OAEP)", "MyInfoV3DecryptionKeyArn",
        switch_caveat="MyInfo encrypts to the certificate registered for the app: have MyInfo register the new "
        "key's certificate and deploy when it takes effect. With one PEM for signing and decryption (the stack's "
        "MyInfoV3PrivateKey secret), put the new PEM into that secret with keys store-pem instead of deploying.",
    ),
    ("myinfo-v4", "sig"): KeyRole(
        "ECC_NIST_P256", "SIGN_VERIFY", "signs MyInfo v4 client assertions (ES256)", "MyInfoV4SigningKeyArn",
        additional_parameter="MyInfoV4AdditionalSigningKeyArns", jwks_output="MyInfoV4JwksUri",
    ),
    ("myinfo-v4", "enc"): KeyRole(
        "ECC_NIST_P256", "KEY_AGREEMENT", "MyInfo v4 encrypts person data to it (ECDH-ES)", "MyInfoV4DecryptionKeyArn",
        additional_parameter="MyInfoV4AdditionalDecryptionKeyArns", jwks_output="MyInfoV4JwksUri",
    ),
}  # fmt: skip
"""Every key the stack's providers use, with the KMS spec template.yaml gives the keys it creates itself."""
PROVIDERS = tuple(dict.fromkeys(provider for provider, _ in KEY_ROLES))
PUBLISHED_ALGORITHMS = {"sig": "ES256", "enc": "ECDH-ES+A256KW"}
"""The ``alg`` the providers' ``client_jwks`` publish for each use."""
JWK_USES = {"SIGN_VERIFY": "sig", "KEY_AGREEMENT": "enc"}
"""KMS KeyUsage → JWK ``use``."""
MIN_RSA_BITS = 2048
MAX_PEM_BYTES = 64 * 1024
SUBJECT_ATTRIBUTES = {
    "CN": "COMMON_NAME",
    "O": "ORGANIZATION_NAME",
    "OU": "ORGANIZATIONAL_UNIT_NAME",
    "C": "COUNTRY_NAME",
    "ST": "STATE_OR_PROVINCE_NAME",
    "L": "LOCALITY_NAME",
    "emailAddress": "EMAIL_ADDRESS",
    "serialNumber": "SERIAL_NUMBER",
}
"""openssl's short names in ``-subj`` → cryptography's NameOID attribute names."""
SHA256_WITH_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")
"""DER AlgorithmIdentifier of sha256WithRSAEncryption: what RS256 signatures are, in X.509."""
ALIAS = re.compile(r"^alias/(?!aws/)[A-Za-z0-9/_-]{1,250}$")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command: exit status 0, 1 for an expected failure, 2 for a usage error (argparse's)."""
    arguments = _parser().parse_args(argv)
    try:
        arguments.run(arguments)
        sys.stdout.flush()  # here, so that a reader gone away (`| head`) is caught below, not at exit
    except (KeyToolError, GatewayError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # leaves nothing to flush at exit
        return 1
    return 0


# -- the commands ---------------------------------------------------------------------------------------


def create(arguments: argparse.Namespace) -> None:
    """A new KMS key of exactly the spec the provider needs for this use; its ARN on stdout."""
    from . import aws

    role = _role(arguments.provider, arguments.use)
    alias = _alias_name(arguments.alias) if arguments.alias else None
    metadata = _aws(
        aws.kms,
        "create_key",
        KeySpec=role.key_spec,
        KeyUsage=role.key_usage,
        Description=f"singpass-gateway {arguments.provider} {arguments.use} key: {role.purpose}",
        Tags=[
            {"TagKey": "singpass-gateway:provider", "TagValue": arguments.provider},
            {"TagKey": "singpass-gateway:use", "TagValue": arguments.use},
        ],
    )["KeyMetadata"]
    arn = metadata["Arn"]
    if alias:
        try:
            _aws(aws.kms, "create_alias", AliasName=alias, TargetKeyId=metadata["KeyId"])
        except AwsCallFailed as error:
            raise AwsCallFailed(f"created {arn}, but not its alias: {error}") from None
    _note(f"{role.key_spec} {role.key_usage} key for {arguments.provider} ({arguments.use}), kid {metadata['KeyId']}")
    _note(f"configure it as {role.parameter} (or the next key of a rotation: keys rotation-plan)")
    print(arn)


def jwks(arguments: argparse.Namespace) -> None:
    """The keys as the gateway publishes them: signing keys first, then encryption keys, one entry per kid."""
    from . import jose

    entries = []
    for reference in arguments.keys:
        key = _load(reference)
        use = _jwk_use(key, arguments.use)
        entries.append(jose.published_jwk(key, use, PUBLISHED_ALGORITHMS[use]))
    published: dict[str, dict[str, Any]] = {}
    for entry in sorted(entries, key=lambda entry: entry["use"] != "sig"):
        published.setdefault(entry["kid"], entry)
    print(json.dumps({"keys": list(published.values())}, indent=2))


def public_key(arguments: argparse.Namespace) -> None:
    """The public key as PEM, for providers that take a public key rather than a JWKS URL (sgID)."""
    from cryptography.hazmat.primitives import serialization

    key = _load(arguments.key).public_key()
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    print(pem.decode(), end="")


def certificate(arguments: argparse.Namespace) -> None:
    """A self-signed certificate or a CSR for MyInfo v3, signed by the key itself through the key interface."""
    from cryptography.hazmat.primitives import serialization

    if arguments.days < 1:
        raise InvalidArgument("--days must be at least 1")
    subject = _subject(arguments.subject)
    key = _signing_rsa_key(arguments.key)
    document = _csr(key, subject) if arguments.csr else _self_signed(key, subject, arguments.days)
    print(document.public_bytes(serialization.Encoding.PEM).decode(), end="")


def store_pem(arguments: argparse.Namespace) -> None:
    """Check a PEM private key against what the provider can use, then put it in Secrets Manager as PKCS#8."""
    from cryptography.hazmat.primitives import serialization

    from . import aws
    from .keys.pem import thumbprint

    if _arn_service(arguments.secret_arn) != "secretsmanager":
        raise InvalidArgument("the gateway reads PEM keys from Secrets Manager secret ARNs (arn:aws:secretsmanager:…)")
    private_key = _read_private_key(Path(arguments.pem_file))
    _check_pem_key(private_key, arguments.provider)
    pkcs8 = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    version = _aws(aws.secretsmanager, "put_secret_value", SecretId=arguments.secret_arn, SecretString=pkcs8)
    kid = thumbprint(private_key.public_key())
    _note(f"stored the key (kid {kid}) in {arguments.secret_arn} as version {version['VersionId']}")


def rotation_plan(arguments: argparse.Namespace) -> None:
    """The steps of a key rotation as commands to run; nothing is changed."""
    role = _role(arguments.provider, arguments.use)
    for reference in (arguments.current, arguments.next):
        if _arn_service(reference) not in ("kms", "secretsmanager"):
            raise InvalidArgument(f"{reference!r} is neither a KMS key ARN nor a Secrets Manager secret ARN")
    if arguments.current == arguments.next:
        raise InvalidArgument("--current and --next name the same key")
    plan = _overlapping_rotation if role.additional_parameter else _switching_rotation
    print(plan(arguments, role) + _SAMCONFIG_WARNING)


# -- rotation plans ---------------------------------------------------------------------------------------

EMPTY_SAM_VALUE = '""'
"""SAM's --parameter-overrides refuses ``Name=``; ``Name=""`` sets the empty string."""
_SAMCONFIG_WARNING = """
Each `sam deploy --parameter-overrides` above sets only the parameters it names; the others keep their
deployed values. It also replaces samconfig.toml's parameter_overrides for that run only: change the key
parameters there as well, or a later plain `sam deploy` puts the old keys back.
"""


def _overlapping_rotation(arguments: argparse.Namespace, role: KeyRole) -> str:
    """Publish, switch, retire: every key that is used was published a cache lifetime earlier."""
    deploy, additional = _deploy_command(arguments.stack_name), str(role.additional_parameter)
    cache_note = _JWKS_CACHE_NOTE.format(provider="the provider")
    wait = _paragraph(role.cache_wait or f"Wait longer than the provider caches your JWKS: {cache_note}.")
    return f"""\
Rotating the {arguments.provider} {arguments.use} key without downtime ({role.parameter}, {additional}).
Run after `make build`; this assumes {additional} is empty now.

1. Publish the new key next to the current one:
   {deploy({additional: arguments.next})}
   Check that the JWKS registered with {arguments.provider} (the stack's {role.jwks_output} output) lists the
   kid this prints:
   python -m singpass_gateway keys jwks --use {arguments.use} {shlex.quote(arguments.next)}
{wait}
2. Switch to the new key and keep the old one published:
   {deploy({role.parameter: arguments.next, additional: arguments.current})}
{wait}
3. Retire the old key:
   {deploy({additional: ""})}
{_retire(arguments.current)}
"""


def _switching_rotation(arguments: argparse.Namespace, role: KeyRole) -> str:
    """One deploy that replaces the key, with what that costs for this provider said plainly."""
    return f"""\
Rotating the {arguments.provider} {arguments.use} key ({role.parameter}) is NOT zero-downtime: the stack takes
one {arguments.provider} {arguments.use} key, so one deploy replaces it.
{_paragraph(role.switch_caveat, indent="")}

1. Switch to the new key (after `make build`):
   {_deploy_command(arguments.stack_name)({role.parameter: arguments.next})}
2. Once logins succeed with the new key:
{_retire(arguments.current)}
"""


def _deploy_command(stack_name: str | None) -> Callable[[dict[str, str]], str]:
    """``sam deploy`` with parameter overrides quoted as SAM reads them (an empty value must be ``""``)."""
    stack = f" --stack-name {shlex.quote(stack_name)}" if stack_name else ""

    def command(overrides: dict[str, str]) -> str:
        pairs = " ".join(f"{name}={value or EMPTY_SAM_VALUE}" for name, value in overrides.items())
        return f"sam deploy{stack} --parameter-overrides {shlex.quote(pairs)}"

    return command


def _paragraph(text: str, indent: str = "   ") -> str:
    """Prose wrapped for a terminal; commands are never wrapped, so they stay copyable."""
    return textwrap.fill(text, width=110, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False)


def _retire(reference: str) -> str:
    """How to take the old key out of service: reversibly, since another parameter may still name it."""
    if _arn_service(reference) == "kms":
        advice = "Disable the old key when no parameter names it any more (enable-key undoes it; delete it later):"
        return f"{_paragraph(advice)}\n   aws kms disable-key --key-id {shlex.quote(reference)}"
    return _paragraph("Delete the old key's secret when no parameter names it any more.")


# -- keys ---------------------------------------------------------------------------------------------


def _role(provider: str, use: str) -> KeyRole:
    role = KEY_ROLES.get((provider, use))
    if role is None:
        uses = " or ".join(u for p, u in KEY_ROLES if p == provider)
        raise UnsuitableKey(f"{provider} has no {use} key; its keys: {uses}")
    return role


def _load(reference: str) -> PrivateKey:
    """A key through the gateway's own loader, so kids and public keys are exactly what it publishes."""
    from . import aws
    from .keys import load_key
    from .secrets import SecretCache

    return load_key(reference, SecretCache(aws.secretsmanager, max_age_seconds=60))


def _kms_key_usage(key: PrivateKey) -> str | None:
    """The KMS KeyUsage of a KMS key; None for a PEM, which can do whatever its type allows."""
    from . import aws
    from .keys.kms import KmsKey

    if not isinstance(key, KmsKey):
        return None
    usage: str = _aws(aws.kms, "describe_key", KeyId=key.reference)["KeyMetadata"]["KeyUsage"]
    return usage


def _jwk_use(key: PrivateKey, requested: str | None) -> str:
    """``sig`` or ``enc``: from a KMS key's usage (``--use`` must agree), from ``--use`` for a PEM."""
    from cryptography.hazmat.primitives.asymmetric import ec

    public = key.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
        raise UnsuitableKey(
            f"{key.reference} is not an EC P-256 key, and providers read only those from a JWKS "
            "(sgID takes `keys public-key`, MyInfo v3 `keys certificate`)"
        )
    usage = _kms_key_usage(key)
    if usage is None:
        if requested is None:
            raise InvalidArgument(f"{key.reference} is a PEM secret: say --use sig or --use enc")
        return requested
    use = JWK_USES[usage]  # an EC KMS key is either SIGN_VERIFY or KEY_AGREEMENT
    if requested not in (None, use):
        raise UnsuitableKey(f"{key.reference} is a {usage} key, so its JWK use is {use}, not {requested}")
    return use


def _signing_rsa_key(reference: str) -> PrivateKey:
    """A key that can sign a certificate for MyInfo v3: RSA, and SIGN_VERIFY when it lives in KMS."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = _load(reference)
    usage = _kms_key_usage(key)
    if usage not in (None, "SIGN_VERIFY"):
        raise UnsuitableKey(f"{reference} is an {usage} key; KMS signs only with SIGN_VERIFY keys")
    if not isinstance(key.public_key(), rsa.RSAPublicKey):
        raise UnsuitableKey(f"{reference} is not an RSA key; MyInfo v3 certificates carry RSA keys")
    return key


def _read_private_key(path: Path) -> PrivateKeyTypes:
    """The PEM's private key; every refusal names the file, never its content."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        with path.open("rb") as file:
            data = file.read(MAX_PEM_BYTES + 1)
    except OSError as error:
        raise UnreadablePem(f"{path}: {error.strerror}") from None
    if len(data) > MAX_PEM_BYTES:
        raise UnreadablePem(f"{path} is larger than a PEM private key can be")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:  # cryptography's answer to an encrypted key without a password
        raise UnreadablePem(
            f"{path} is encrypted; the gateway reads only unencrypted keys (openssl pkey -in {path} -out NEW.pem)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise UnreadablePem(f"{path} is not a PEM private key (PKCS#1, SEC1 or PKCS#8)") from None


def _check_pem_key(private_key: PrivateKeyTypes, provider: str) -> None:
    """RSA of at least 2048 bits for the RSA providers, EC P-256 for the others, as KMS would make them."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key_spec = next(role.key_spec for (name, _), role in KEY_ROLES.items() if name == provider)
    if key_spec.startswith("RSA_"):
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise UnsuitableKey(f"{provider} needs an RSA key")
        if private_key.key_size < MIN_RSA_BITS:
            raise UnsuitableKey(f"a {private_key.key_size}-bit RSA key is too weak; use at least {MIN_RSA_BITS} bits")
    elif not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(private_key.curve, ec.SECP256R1):
        raise UnsuitableKey(f"{provider} needs an EC P-256 key")


# -- certificates ---------------------------------------------------------------------------------------


def _subject(text: str) -> x509.Name:
    """An openssl-style subject (``/CN=app.example.com/O=Example/C=SG``; ``\\/`` for a slash in a value)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    if not text.startswith("/"):
        raise InvalidArgument('write the subject as openssl does: "/CN=app.example.com/O=Example/C=SG"')
    attributes = []
    for part in re.split(r"(?<!\\)/", text[1:]):
        name, _, value = part.partition("=")
        if name not in SUBJECT_ATTRIBUTES or not value:
            known = ", ".join(SUBJECT_ATTRIBUTES)
            raise InvalidArgument(f"subject attribute {name!r} is unknown or empty; known: {known}")
        oid = getattr(NameOID, SUBJECT_ATTRIBUTES[name])
        try:
            attributes.append(x509.NameAttribute(oid, value.replace("\\/", "/")))
        except ValueError as error:
            raise InvalidArgument(f"subject attribute {name}: {error}") from None
    return x509.Name(attributes)


def _self_signed(key: PrivateKey, subject: x509.Name, days: int) -> x509.Certificate:
    """A self-signed certificate whose signature comes from ``key`` (one KMS Sign for a KMS key).

    cryptography signs only with keys it holds, so it signs the draft with a throw-away RSA key: the draft's
    to-be-signed part (with this key's public key and the sha256WithRSAEncryption algorithm) is then signed
    again by the real key, and the placeholder's signature is discarded.
    """
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    public_key = key.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)  # _signing_rsa_key checked it
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    draft = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(rsa.generate_private_key(public_exponent=65537, key_size=1024), hashes.SHA256())  # noqa: S505 - discarded
    )
    to_be_signed = draft.tbs_certificate_bytes
    return x509.load_der_x509_certificate(_signed(to_be_signed, key.sign(to_be_signed, "RS256")))


def _csr(key: PrivateKey, subject: x509.Name) -> x509.CertificateSigningRequest:
    """A PKCS#10 request (RFC 2986) for ``subject`` with ``key``'s public key, signed by ``key`` itself."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    public_key = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    version_0, no_attributes = b"\x02\x01\x00", b"\xa0\x00"
    request_info = _der(0x30, version_0 + subject.public_bytes() + public_key + no_attributes)
    return x509.load_der_x509_csr(_signed(request_info, key.sign(request_info, "RS256")))


def _signed(to_be_signed: bytes, signature: bytes) -> bytes:
    """Certificates and CSRs share one shape: SEQUENCE { to-be-signed, algorithm, BIT STRING signature }."""
    return _der(0x30, to_be_signed + SHA256_WITH_RSA + _der(0x03, b"\x00" + signature))


def _der(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    if len(content) < 0x80:
        return bytes([tag, len(content)]) + content
    length = len(content).to_bytes((len(content).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


# -- plumbing ---------------------------------------------------------------------------------------------


def _aws(client: Callable[[], Any], operation: str, **parameters: Any) -> Any:
    """One AWS call, with credentials, region, permission and not-found failures as one-line errors."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return getattr(client(), operation)(**parameters)
    except ClientError as error:
        details = error.response.get("Error", {})
        raise AwsCallFailed(f"{operation}: {details.get('Code')}: {details.get('Message')}") from None
    except BotoCoreError as error:
        raise AwsCallFailed(f"{operation}: {error}") from None


def _arn_service(reference: str) -> str:
    parts = reference.split(":")
    return parts[2] if len(parts) >= 6 and parts[0] == "arn" else ""


def _alias_name(alias: str) -> str:
    name = alias if alias.startswith("alias/") else f"alias/{alias}"
    if not ALIAS.match(name):
        raise InvalidArgument(f"{alias!r} is not a KMS alias name (letters, digits, / _ -; not alias/aws/…)")
    return name


def _note(message: str) -> None:
    """What a person wants to know, on stderr, so stdout stays the one value a script captures."""
    print(message, file=sys.stderr)


def print_openapi(arguments: argparse.Namespace) -> None:
    """Not a key command: the package has one command line, and this parser is it."""
    from .contract import print_document

    print_document()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m singpass_gateway", description="singpass-gateway operator tools")
    groups = parser.add_subparsers(title="command groups", required=True)
    openapi = groups.add_parser("openapi", help="print the HTTP contract as an OpenAPI 3.1 document (contract.py)")
    openapi.set_defaults(run=print_openapi)
    keys = groups.add_parser("keys", help="create, publish, certify, store and rotate the gateway's keys")
    commands = keys.add_subparsers(title="commands", required=True)

    command = commands.add_parser("create", help="create a KMS key of the spec a provider needs; prints its ARN")
    command.add_argument("--provider", required=True, choices=PROVIDERS)
    command.add_argument("--use", required=True, choices=("sig", "enc"))
    command.add_argument("--alias", help="also name it alias/ALIAS")
    command.set_defaults(run=create)

    command = commands.add_parser("jwks", help="print the client JWKS the gateway publishes for these keys")
    command.add_argument("keys", nargs="+", metavar="KEY_ARN", help="KMS key ARNs or Secrets Manager PEM secret ARNs")
    command.add_argument("--use", choices=("sig", "enc"), help="the use of PEM keys (KMS keys: from their KeyUsage)")
    command.set_defaults(run=jwks)

    command = commands.add_parser("public-key", help="print a key's public half as PEM (to register with sgID)")
    command.add_argument("key", metavar="KEY_ARN")
    command.set_defaults(run=public_key)

    command = commands.add_parser("certificate", help="print a self-signed certificate or CSR for MyInfo v3")
    command.add_argument("key", metavar="KEY_ARN", help="an RSA SIGN_VERIFY KMS key ARN or an RSA PEM secret ARN")
    command.add_argument("--subject", required=True, help='openssl style, e.g. "/CN=app.example.com/O=Example/C=SG"')
    command.add_argument("--csr", action="store_true", help="a certificate signing request for a CA instead")
    command.add_argument("--days", type=int, default=730, help="validity of the self-signed certificate (730)")
    command.set_defaults(run=certificate)

    command = commands.add_parser("store-pem", help="check a PEM private key and put it into a secret")
    command.add_argument("secret_arn", metavar="SECRET_ARN")
    command.add_argument("pem_file", metavar="PEM_FILE")
    command.add_argument("--provider", required=True, choices=PROVIDERS, help="decides the key type it must have")
    command.set_defaults(run=store_pem)

    command = commands.add_parser("rotation-plan", help="print the steps and sam deploy commands of a key rotation")
    command.add_argument("--provider", required=True, choices=PROVIDERS)
    command.add_argument("--use", required=True, choices=("sig", "enc"))
    command.add_argument("--current", required=True, metavar="KEY_ARN", help="the key in use now")
    command.add_argument("--next", required=True, metavar="KEY_ARN", help="the key to rotate to (keys create)")
    command.add_argument("--stack-name", help="the stack to deploy (default: samconfig.toml's)")
    command.set_defaults(run=rotation_plan)
    return parser
