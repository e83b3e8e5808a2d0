"""The gateway's keys as the key CLI reads them: through the gateway's own loader, so every ``kid`` and public key
a command prints or compares is exactly what the deployed gateway publishes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .aws_calls import aws_call

if TYPE_CHECKING:
    from ..keys import PrivateKey


def load(reference: str) -> PrivateKey:
    """A key through the gateway's own loader, so kids and public keys are exactly what it publishes."""
    from .. import aws
    from ..keys import load_key
    from ..secrets import SecretCache

    return load_key(reference, SecretCache(aws.secretsmanager, max_age_seconds=60), public_only=False)


def kms_key_usage(key: PrivateKey) -> str | None:
    """The KMS KeyUsage of a KMS key; None for a PEM, which can do whatever its type allows."""
    from .. import aws
    from ..keys.kms import KmsKey

    if not isinstance(key, KmsKey):
        return None
    usage: str = aws_call(aws.kms, "describe_key", KeyId=key.reference)["KeyMetadata"]["KeyUsage"]
    return usage
