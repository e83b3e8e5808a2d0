"""Sealing upstream grants (refresh tokens and the DPoP keys they are bound to) for the session store.

One KMS Encrypt when a login keeps a grant, one Decrypt (and Encrypt) per refresh. The encryption context is
the session's id hash, so a sealed grant opens only for the session it was sealed for: a database reader can
neither read it nor move it to another session.
"""

from __future__ import annotations

import json

from botocore.exceptions import BotoCoreError, ClientError

from . import aws
from .errors import GatewayError


class SealingUnavailable(GatewayError):
    """KMS failed, or a sealed grant did not open (tampered, or moved from another session)."""

    code = "service_unavailable"
    status = 503


class GrantSealer:
    def __init__(self, key_arn: str) -> None:
        self._key_arn = key_arn

    def seal(self, grant: dict[str, str], session_digest: str) -> bytes:
        plaintext = json.dumps(grant, separators=(",", ":")).encode()
        try:
            response = aws.kms().encrypt(
                KeyId=self._key_arn, Plaintext=plaintext, EncryptionContext={"session": session_digest}
            )
        except (ClientError, BotoCoreError) as error:
            raise SealingUnavailable(f"KMS Encrypt failed: {type(error).__name__}") from None
        ciphertext: bytes = response["CiphertextBlob"]
        return ciphertext

    def unseal(self, sealed: bytes, session_digest: str) -> dict[str, str]:
        try:
            response = aws.kms().decrypt(
                KeyId=self._key_arn, CiphertextBlob=sealed, EncryptionContext={"session": session_digest}
            )
        except (ClientError, BotoCoreError) as error:
            raise SealingUnavailable(f"KMS Decrypt failed: {type(error).__name__}") from None
        grant: dict[str, str] = json.loads(response["Plaintext"])
        return grant
