"""KMS keys of each provider's spec, and the public halves of the gateway's keys as providers register them: a
JWKS through the gateway's own ``published_jwk`` (so every kid is the one it publishes), or a PEM for sgID."""

from __future__ import annotations

import argparse
import json
import re
from typing import TYPE_CHECKING, Any

from .aws_calls import aws_call
from .console import note
from .errors import AwsCallFailed, InvalidArgument, UnsuitableKey
from .key_loading import kms_key_usage, load
from .roles import JWK_USES, PUBLISHED_ALGORITHMS, role

if TYPE_CHECKING:
    from ..keys import PrivateKey

ALIAS = re.compile(r"^alias/(?!aws/)[A-Za-z0-9/_-]{1,250}$")


def create(arguments: argparse.Namespace) -> None:
    """A new KMS key of exactly the spec the provider needs for this use; its ARN on stdout."""
    from .. import aws

    key_role = role(arguments.provider, arguments.use)
    alias = alias_name(arguments.alias) if arguments.alias else None
    metadata = aws_call(
        aws.kms,
        "create_key",
        KeySpec=key_role.key_spec,
        KeyUsage=key_role.key_usage,
        Description=f"singpass-gateway {arguments.provider} {arguments.use} key: {key_role.purpose}",
        Tags=[
            {"TagKey": "singpass-gateway:provider", "TagValue": arguments.provider},
            {"TagKey": "singpass-gateway:use", "TagValue": arguments.use},
        ],
    )["KeyMetadata"]
    arn = metadata["Arn"]
    if alias:
        try:
            aws_call(aws.kms, "create_alias", AliasName=alias, TargetKeyId=metadata["KeyId"])
        except AwsCallFailed as error:
            raise AwsCallFailed(f"created {arn}, but not its alias: {error}") from None
    note(
        f"{key_role.key_spec} {key_role.key_usage} key for {arguments.provider} ({arguments.use}), "
        f"kid {metadata['KeyId']}"
    )
    note(f"configure it as {key_role.parameter} (or the next key of a rotation: keys rotation-plan)")
    print(arn)


def jwks(arguments: argparse.Namespace) -> None:
    """The keys as the gateway publishes them: signing keys first, then encryption keys, one entry per kid."""
    from .. import jose

    entries = []
    for reference in arguments.keys:
        key = load(reference)
        use = jwk_use(key, arguments.use)
        entries.append(jose.published_jwk(key, use, PUBLISHED_ALGORITHMS[use]))
    published: dict[str, dict[str, Any]] = {}
    for entry in sorted(entries, key=lambda entry: entry["use"] != "sig"):
        published.setdefault(entry["kid"], entry)
    print(json.dumps({"keys": list(published.values())}, indent=2))


def public_key(arguments: argparse.Namespace) -> None:
    """The public key as PEM, for providers that take a public key rather than a JWKS URL (sgID)."""
    from cryptography.hazmat.primitives import serialization

    key = load(arguments.key).public_key()
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    print(pem.decode(), end="")


def jwk_use(key: PrivateKey, requested: str | None) -> str:
    """``sig`` or ``enc``: from a KMS key's usage (``--use`` must agree), from ``--use`` for a PEM."""
    from cryptography.hazmat.primitives.asymmetric import ec

    public = key.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
        raise UnsuitableKey(
            f"{key.reference} is not an EC P-256 key, and providers read only those from a JWKS "
            "(sgID takes `keys public-key`, MyInfo v3 `keys certificate`)"
        )
    usage = kms_key_usage(key)
    if usage is None:
        if requested is None:
            raise InvalidArgument(f"{key.reference} is a PEM secret: say --use sig or --use enc")
        return requested
    use = JWK_USES[usage]  # an EC KMS key is either SIGN_VERIFY or KEY_AGREEMENT
    if requested not in (None, use):
        raise UnsuitableKey(f"{key.reference} is a {usage} key, so its JWK use is {use}, not {requested}")
    return use


def alias_name(alias: str) -> str:
    """``alias/NAME`` for ``NAME`` or ``alias/NAME``; refused when KMS would refuse it (or reserve it: alias/aws/)."""
    name = alias if alias.startswith("alias/") else f"alias/{alias}"
    if not ALIAS.match(name):
        raise InvalidArgument(f"{alias!r} is not a KMS alias name (letters, digits, / _ -; not alias/aws/…)")
    return name
