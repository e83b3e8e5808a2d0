"""KMS backend: every private-key operation is one KMS call; the private key never leaves KMS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from .. import aws
from . import DecryptionFailed, KeyUnavailable, OaepHash

if TYPE_CHECKING:
    from mypy_boto3_kms.literals import EncryptionAlgorithmSpecType

_OAEP_ALGORITHMS: dict[OaepHash, EncryptionAlgorithmSpecType] = {
    "SHA-1": "RSAES_OAEP_SHA_1",
    "SHA-256": "RSAES_OAEP_SHA_256",
}


class KmsKey:
    def __init__(self, key_id: str) -> None:
        self._key_id = key_id

    @property
    def reference(self) -> str:
        return self._key_id

    def rsa_decrypt(self, ciphertext: bytes, oaep_hash: OaepHash) -> bytes:
        try:
            response = aws.kms().decrypt(
                KeyId=self._key_id,
                CiphertextBlob=ciphertext,
                EncryptionAlgorithm=_OAEP_ALGORITHMS[oaep_hash],
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "InvalidCiphertextException":
                raise DecryptionFailed("KMS could not decrypt the content key") from None
            raise KeyUnavailable(f"KMS Decrypt failed: {code}") from None
        except BotoCoreError as error:
            raise KeyUnavailable(f"KMS Decrypt failed: {type(error).__name__}") from None
        return response["Plaintext"]
