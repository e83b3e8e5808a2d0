"""PEM private keys for Secrets Manager: checked against what the provider can use before they are stored, and
never echoed (every refusal names the file, not its content). Each stored key's public half goes into the secret's
tags, where the JWKS function reads it without the right to read the private key (:mod:`..keys.published`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .aws_calls import arn_service, aws_call
from .console import note
from .errors import InvalidArgument, UnreadablePem, UnsuitableKey
from .roles import KEY_ROLES

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

MIN_RSA_BITS = 2048
MAX_PEM_BYTES = 64 * 1024


def store_pem(arguments: argparse.Namespace) -> None:
    """Check a PEM private key against what the provider can use, then put it in Secrets Manager as PKCS#8, and its
    public half in the secret's tags (for the JWKS function, which cannot read the key)."""
    from cryptography.hazmat.primitives import serialization

    from .. import aws
    from ..keys.pem import thumbprint

    if arn_service(arguments.secret_arn) != "secretsmanager":
        raise InvalidArgument("the gateway reads PEM keys from Secrets Manager secret ARNs (arn:aws:secretsmanager:…)")
    private_key = read_private_key(Path(arguments.pem_file))
    check_pem_key(private_key, arguments.provider)
    pkcs8 = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    version = aws_call(aws.secretsmanager, "put_secret_value", SecretId=arguments.secret_arn, SecretString=pkcs8)
    kid = thumbprint(private_key.public_key())
    note(f"stored the key (kid {kid}) in {arguments.secret_arn} as version {version['VersionId']}")
    tag_public_key(arguments.secret_arn, private_key.public_key())


def tag_public_key_command(arguments: argparse.Namespace) -> None:
    """Put the public half of the PEM a secret holds into its tags (a secret stored before ``store-pem`` did it, or
    by other means): read the key as the gateway does, then tag."""
    from ..keys.pem import PemKey
    from .key_loading import load

    if arn_service(arguments.secret_arn) != "secretsmanager":
        raise InvalidArgument("only a Secrets Manager PEM secret has its public half in tags (a KMS key has its own)")
    key = load(arguments.secret_arn)
    assert isinstance(key, PemKey)
    tag_public_key(arguments.secret_arn, key.public_key())


def tag_public_key(secret_arn: str, public_key: PublicKeyTypes) -> None:
    """Tag the secret with ``public_key`` (and drop the tags of a larger key tagged before)."""
    from .. import aws
    from ..keys.pem import thumbprint
    from ..keys.published import public_key_tags, stale_public_key_tags

    tags = public_key_tags(public_key)
    aws_call(
        aws.secretsmanager,
        "tag_resource",
        SecretId=secret_arn,
        Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
    )
    aws_call(aws.secretsmanager, "untag_resource", SecretId=secret_arn, TagKeys=stale_public_key_tags(tags))
    note(f"tagged {secret_arn} with its public key (kid {thumbprint(public_key)}), which its JWKS publishes")


def read_private_key(path: Path) -> PrivateKeyTypes:
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


def check_pem_key(private_key: PrivateKeyTypes, provider: str) -> None:
    """RSA of at least 2048 bits for the RSA providers, EC P-256 for the others, as KMS would make them."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key_spec = next(key_role.key_spec for (name, _), key_role in KEY_ROLES.items() if name == provider)
    if key_spec.startswith("RSA_"):
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise UnsuitableKey(f"{provider} needs an RSA key")
        if private_key.key_size < MIN_RSA_BITS:
            raise UnsuitableKey(f"a {private_key.key_size}-bit RSA key is too weak; use at least {MIN_RSA_BITS} bits")
    elif not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(private_key.curve, ec.SECP256R1):
        raise UnsuitableKey(f"{provider} needs an EC P-256 key")
