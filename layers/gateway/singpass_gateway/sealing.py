"""What the store keeps sealed: login transactions, sessions' personal data, and upstream grants.

Two layers, so that a copy of the table reveals nothing personal or replayable:

- **Browser-keyed sealing** (:func:`seal_for`, :func:`open_for`): a transaction's PKCE verifier, nonce and
  provider data, a session's subject, person data and provenance, and a session's provider grant, are
  AES-256-GCM encrypted under a key derived (HKDF-SHA256) from the random secret in the browser's cookie: the
  login binding or the session id. The table holds only SHA-256 digests of those secrets, so the key exists only
  while the browser presents its cookie. No KMS call, no key to rotate, and a database reader or anyone with the
  table's IAM permissions can decrypt nothing. The item's key is the associated data: a sealed value cannot be
  moved to another item. Each purpose (``login``, ``session``, ``grant``) has a key of its own.
- **KMS sealing** (:class:`KmsSealer`): a session's grant (refresh token, the DPoP key it is bound to, its
  subject), already sealed under the browser's key, is in addition encrypted with a KMS key, one Encrypt when a
  login keeps a grant and one Decrypt (and Encrypt) per refresh or revocation, with the session's id hash as
  encryption context, so every use is in CloudTrail and disabling the key cuts off every stored grant at once.
  :mod:`singpass_gateway.grants` puts the two layers together.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import aws
from .errors import ServiceUnavailable


class SealingUnavailable(ServiceUnavailable):
    """KMS failed, or a sealed grant did not open (tampered, or moved from another session)."""


Purpose = Literal["login", "session", "grant"]
_VERSION = b"\x01"
_NONCE_BYTES = 12


class SealBroken(Exception):
    """A browser-keyed seal did not open: the wrong secret, or a tampered or moved item."""


def seal_for(secret: str, purpose: Purpose, item_key: str, data: Mapping[str, Any]) -> bytes:
    """``data`` as JSON, encrypted under the key derived from the browser's ``secret`` and bound to ``item_key``."""
    nonce = os.urandom(_NONCE_BYTES)
    plaintext = json.dumps(data, separators=(",", ":")).encode()
    return _VERSION + nonce + AESGCM(_derive(secret, purpose)).encrypt(nonce, plaintext, item_key.encode())


def open_for(secret: str, purpose: Purpose, item_key: str, sealed: bytes) -> dict[str, Any]:
    """The data :func:`seal_for` sealed with the same secret, purpose and item key."""
    if not sealed.startswith(_VERSION) or len(sealed) < 1 + _NONCE_BYTES + 16:
        raise SealBroken("not a sealed value of this version")
    nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
    try:
        plaintext = AESGCM(_derive(secret, purpose)).decrypt(nonce, ciphertext, item_key.encode())
    except InvalidTag:
        raise SealBroken("the seal did not open") from None
    data: dict[str, Any] = json.loads(plaintext)
    return data


def _derive(secret: str, purpose: Purpose) -> bytes:
    """A 256-bit key per browser secret and purpose. The secrets are 256 random bits, so HKDF needs no salt;
    the stored SHA-256 digest of a secret says nothing about this HMAC-based derivation of it."""
    info = f"singpass-gateway {purpose} v1".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        secret.encode("utf-8", "surrogatepass")
    )


class KmsSealer:
    """The KMS layer of a grant's seal: bytes in, bytes out, bound to the session by the encryption context."""

    def __init__(self, key_arn: str) -> None:
        self._key_arn = key_arn

    def seal(self, plaintext: bytes, session_digest: str) -> bytes:
        try:
            response = aws.kms().encrypt(
                KeyId=self._key_arn, Plaintext=plaintext, EncryptionContext={"session": session_digest}
            )
        except (ClientError, BotoCoreError) as error:
            raise SealingUnavailable(f"KMS Encrypt failed: {type(error).__name__}") from None
        ciphertext: bytes = response["CiphertextBlob"]
        return ciphertext

    def unseal(self, sealed: bytes, session_digest: str) -> bytes:
        try:
            response = aws.kms().decrypt(
                KeyId=self._key_arn, CiphertextBlob=sealed, EncryptionContext={"session": session_digest}
            )
        except (ClientError, BotoCoreError) as error:
            raise SealingUnavailable(f"KMS Decrypt failed: {type(error).__name__}") from None
        plaintext: bytes = response["Plaintext"]
        return plaintext
