"""A PEM-backed key as a function that only publishes it sees it: the public half stored beside the secret.

The PEM secret's value is the private key; its public half lives in the secret's tags, written by the key CLI
(``keys store-pem``, ``keys tag-public-key``) from the private key itself: the SubjectPublicKeyInfo DER, base64, in
tags ``singpass-gateway:public-key:1``, ``:2``, ... of at most 256 characters each (Secrets Manager's limit for a
tag value: one tag holds an EC P-256 key, two an RSA-2048 one). They are read with ``secretsmanager:DescribeSecret``,
which never returns the secret's value, so the JWKS function (``GATEWAY_PUBLIC_KEYS_ONLY``) needs no
``GetSecretValue`` on a private key to publish it. Who may tag the secret decides what it publishes, as who may put
its value decides what signs.

The tags are read once per :data:`MAX_AGE_SECONDS` (the JWKS's own ``max-age``), so a key stored anew is published
without a redeploy.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.hazmat.primitives import serialization

from .. import aws
from . import KeyUnavailable, OaepHash, SigningAlgorithm
from .pem import thumbprint

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

PUBLIC_KEY_TAG = "singpass-gateway:public-key"
"""Tags ``PUBLIC_KEY_TAG:1``, ``:2``, ... hold the public key, in order."""
TAG_VALUE_LENGTH = 256
MAX_PUBLIC_KEY_TAGS = 8
"""Up to 2,048 characters of base64: an RSA key of 8,192 bits fits."""
MAX_AGE_SECONDS = 300.0


def public_key_tags(public_key: PublicKeyTypes) -> dict[str, str]:
    """The tags that hold ``public_key``, by tag key: its SubjectPublicKeyInfo DER in base64, in order."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    text = base64.b64encode(der).decode("ascii")
    chunks = [text[start : start + TAG_VALUE_LENGTH] for start in range(0, len(text), TAG_VALUE_LENGTH)]
    if len(chunks) > MAX_PUBLIC_KEY_TAGS:
        raise KeyUnavailable("the public key is too large to store in the secret's tags")
    return {f"{PUBLIC_KEY_TAG}:{index}": chunk for index, chunk in enumerate(chunks, start=1)}


def stale_public_key_tags(tags: Mapping[str, str]) -> list[str]:
    """The public-key tag keys beyond those of ``tags`` (left from a larger key stored before): to be removed."""
    return [f"{PUBLIC_KEY_TAG}:{index}" for index in range(len(tags) + 1, MAX_PUBLIC_KEY_TAGS + 1)]


def public_key_from_tags(tags: Iterable[Mapping[str, str]]) -> PublicKeyTypes | None:
    """The public key the tags (as DescribeSecret lists them) hold; None when they hold none."""
    values = {tag.get("Key"): tag.get("Value", "") for tag in tags}
    chunks = []
    for index in range(1, MAX_PUBLIC_KEY_TAGS + 1):
        chunk = values.get(f"{PUBLIC_KEY_TAG}:{index}")
        if chunk is None:
            break
        chunks.append(chunk)
    if not chunks:
        return None
    try:
        return serialization.load_der_public_key(base64.b64decode("".join(chunks), validate=True))
    except (binascii.Error, ValueError):
        raise KeyUnavailable("the secret's public-key tags do not hold a public key") from None


class PublishedPemKey:
    """The public half of a PEM-backed key, from its secret's tags; every private operation is refused."""

    def __init__(
        self,
        secret_arn: str,
        describe: Callable[[str], Mapping[str, Any]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_arn = secret_arn
        self._describe = describe or _describe_secret
        self._clock = clock
        self._cached: tuple[PublicKeyTypes, float] | None = None
        self._lock = threading.Lock()

    @property
    def reference(self) -> str:
        return self._secret_arn

    @property
    def key_id(self) -> str:
        """The RFC 7638 thumbprint, as :class:`~singpass_gateway.keys.pem.PemKey` gives it from the private key."""
        return thumbprint(self.public_key())

    def public_key(self) -> PublicKeyTypes:
        with self._lock:
            if self._cached is not None and self._clock() - self._cached[1] < MAX_AGE_SECONDS:
                return self._cached[0]
        public_key = public_key_from_tags(self._describe(self._secret_arn).get("Tags") or [])
        if public_key is None:
            raise KeyUnavailable(
                f"{self._secret_arn} has no public-key tags: store its PEM with `keys store-pem`, or tag it with "
                "`keys tag-public-key`"
            )
        with self._lock:
            self._cached = (public_key, self._clock())
        return public_key

    def rsa_decrypt(self, ciphertext: bytes, oaep_hash: OaepHash) -> bytes:
        raise self._refusal("decrypt")

    def sign(self, message: bytes, alg: SigningAlgorithm) -> bytes:
        raise self._refusal("sign")

    def ecdh(self, peer: ec.EllipticCurvePublicKey) -> bytes:
        raise self._refusal("derive a shared secret")

    def _refusal(self, operation: str) -> KeyUnavailable:
        return KeyUnavailable(f"{self._secret_arn} is only published here (public keys only): cannot {operation}")


def _describe_secret(secret_arn: str) -> Mapping[str, Any]:
    try:
        response: Mapping[str, Any] = aws.secretsmanager().describe_secret(SecretId=secret_arn)
    except (ClientError, BotoCoreError) as error:
        raise KeyUnavailable(f"secret {secret_arn} cannot be described: {type(error).__name__}") from None
    return response
