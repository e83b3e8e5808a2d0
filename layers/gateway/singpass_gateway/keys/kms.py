"""KMS backend: every private-key operation is one KMS call; the private key never leaves KMS."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from .. import aws
from . import DecryptionFailed, KeyUnavailable, OaepHash, SigningAlgorithm

if TYPE_CHECKING:
    from mypy_boto3_kms.literals import EncryptionAlgorithmSpecType, SigningAlgorithmSpecType

_OAEP_ALGORITHMS: dict[OaepHash, EncryptionAlgorithmSpecType] = {
    "SHA-1": "RSAES_OAEP_SHA_1",
    "SHA-256": "RSAES_OAEP_SHA_256",
}


_SIGNING_ALGORITHMS: dict[SigningAlgorithm, SigningAlgorithmSpecType] = {
    "ES256": "ECDSA_SHA_256",
    "RS256": "RSASSA_PKCS1_V1_5_SHA_256",
}


class KmsKey:
    def __init__(self, key_id: str) -> None:
        self._key_id = key_id

    @property
    def reference(self) -> str:
        return self._key_id

    @property
    def key_id(self) -> str:
        """The key's id: the last segment of its ARN (configure key ARNs, not aliases, for a stable kid)."""
        return self._key_id.rsplit("/", 1)[-1]

    def rsa_decrypt(self, ciphertext: bytes, oaep_hash: OaepHash) -> bytes:
        response = self._call(
            "decrypt", KeyId=self._key_id, CiphertextBlob=ciphertext, EncryptionAlgorithm=_OAEP_ALGORITHMS[oaep_hash]
        )
        plaintext: bytes = response["Plaintext"]
        return plaintext

    def sign(self, message: bytes, alg: SigningAlgorithm) -> bytes:
        response = self._call(
            "sign", KeyId=self._key_id, Message=message, MessageType="RAW", SigningAlgorithm=_SIGNING_ALGORITHMS[alg]
        )
        signature: bytes = response["Signature"]
        return signature

    def ecdh(self, peer: ec.EllipticCurvePublicKey) -> bytes:
        peer_der = peer.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        response = self._call(
            "derive_shared_secret", KeyId=self._key_id, KeyAgreementAlgorithm="ECDH", PublicKey=peer_der
        )
        secret: bytes = response["SharedSecret"]
        return secret

    @functools.cache  # noqa: B019 - one GetPublicKey per key and container; keys live as long as the container
    def public_key(self) -> PublicKeyTypes:
        return serialization.load_der_public_key(self._call("get_public_key", KeyId=self._key_id)["PublicKey"])

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(aws.kms(), operation)(**kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "InvalidCiphertextException":
                raise DecryptionFailed("KMS could not decrypt the content key") from None
            raise KeyUnavailable(f"KMS {operation} failed: {code}") from None
        except BotoCoreError as error:
            raise KeyUnavailable(f"KMS {operation} failed: {type(error).__name__}") from None
