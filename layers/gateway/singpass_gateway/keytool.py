"""Key management for operators: ``python -m singpass_gateway keys <command>``.

Setting keys up by hand (openssl, the aws CLI, a kid worked out separately) fails late: a key of the wrong
KeySpec, a 1024-bit RSA key or a kid that differs from the gateway's only shows up as a refused login. These
commands create keys of exactly the spec each provider needs, print the client JWKS through the gateway's own
``published_jwk`` (so every kid is the one the deployed gateway publishes), and print public keys.

No Lambda handler imports this module, and it imports boto3 and cryptography only inside commands. Expected
failures (a wrong key, missing credentials) are one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import GatewayError

if TYPE_CHECKING:
    from mypy_boto3_kms.literals import KeySpecType, KeyUsageTypeType

    from .keys import PrivateKey


class KeyToolError(Exception):
    """An expected failure of a command: reported as one line, exit status 1, no traceback."""


class UnsuitableKey(KeyToolError):
    """The key exists but is of a type, size or usage the provider or the command cannot use."""


class InvalidArgument(KeyToolError):
    """An argument argparse cannot check by itself (an alias, a PEM key's use)."""


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


KEY_ROLES: dict[tuple[str, str], KeyRole] = {
    ("sgid", "enc"): KeyRole(
        "RSA_2048", "ENCRYPT_DECRYPT", "sgID encrypts userinfo to it (RSA-OAEP)", "SgidDecryptionKeyArn"
    ),
    ("singpass", "sig"): KeyRole(
        "ECC_NIST_P256", "SIGN_VERIFY", "signs Singpass client assertions (ES256)", "SingpassSigningKeyArn"
    ),
    ("singpass", "enc"): KeyRole(
        "ECC_NIST_P256", "KEY_AGREEMENT", "Singpass encrypts ID tokens and userinfo to it (ECDH-ES)",
        "SingpassDecryptionKeyArn",
    ),
    ("myinfo-v3", "sig"): KeyRole(
        "RSA_2048", "SIGN_VERIFY", "signs MyInfo v3 PKI_SIGN headers (RS256)", "MyInfoV3SigningKeyArn"
    ),
    ("myinfo-v3", "enc"): KeyRole(
        "RSA_2048", "ENCRYPT_DECRYPT", "MyInfo v3 encrypts person data to it (RSA-OAEP)", "MyInfoV3DecryptionKeyArn"
    ),
    ("myinfo-v4", "sig"): KeyRole(
        "ECC_NIST_P256", "SIGN_VERIFY", "signs MyInfo v4 client assertions (ES256)", "MyInfoV4SigningKeyArn"
    ),
    ("myinfo-v4", "enc"): KeyRole(
        "ECC_NIST_P256", "KEY_AGREEMENT", "MyInfo v4 encrypts person data to it (ECDH-ES)", "MyInfoV4DecryptionKeyArn"
    ),
}  # fmt: skip
"""Every key the stack's providers use, with the KMS spec template.yaml gives the keys it creates itself."""
PROVIDERS = tuple(dict.fromkeys(provider for provider, _ in KEY_ROLES))
PUBLISHED_ALGORITHMS = {"sig": "ES256", "enc": "ECDH-ES+A256KW"}
"""The ``alg`` the providers' ``client_jwks`` publish for each use."""
JWK_USES = {"SIGN_VERIFY": "sig", "KEY_AGREEMENT": "enc"}
"""KMS KeyUsage → JWK ``use``."""
ALIAS = re.compile(r"^alias/(?!aws/)[A-Za-z0-9/_-]{1,250}$")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command: exit status 0, 1 for an expected failure, 2 for a usage error (argparse's)."""
    arguments = _parser().parse_args(argv)
    try:
        arguments.run(arguments)
    except (KeyToolError, GatewayError) as error:
        print(f"error: {error}", file=sys.stderr)
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
    _note(f"configure it as {role.parameter}")
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
            "(sgID takes `keys public-key`)"
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


def _alias_name(alias: str) -> str:
    name = alias if alias.startswith("alias/") else f"alias/{alias}"
    if not ALIAS.match(name):
        raise InvalidArgument(f"{alias!r} is not a KMS alias name (letters, digits, / _ -; not alias/aws/…)")
    return name


def _note(message: str) -> None:
    """What a person wants to know, on stderr, so stdout stays the one value a script captures."""
    print(message, file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m singpass_gateway", description="singpass-gateway operator tools")
    groups = parser.add_subparsers(title="command groups", required=True)
    keys = groups.add_parser("keys", help="create and publish the gateway's keys")
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
    return parser
