"""The asymmetric KMS operations moto lacks, added so the sandbox and tests exercise the real KMS code path.

moto keeps a real private key for every asymmetric KMS key but only decrypts its own fake ciphertexts and has
no DeriveSharedSecret. These additions behave as AWS documents: Decrypt with ``RSAES_OAEP_SHA_1`` /
``RSAES_OAEP_SHA_256`` on an RSA ENCRYPT_DECRYPT key, and DeriveSharedSecret (ECDH) on a KEY_AGREEMENT key.
A ciphertext that does not decrypt answers ``InvalidCiphertextException``, as KMS does.
"""

from __future__ import annotations

import base64
import json
from typing import Any, NoReturn

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

_OAEP_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "RSAES_OAEP_SHA_1": hashes.SHA1,
    "RSAES_OAEP_SHA_256": hashes.SHA256,
}


def install() -> None:
    """Patch moto's KMS responses (idempotent; process-wide, like moto itself)."""
    from moto.kms.responses import KmsResponse

    if getattr(KmsResponse, "_singpass_gateway_patched", False):
        return
    moto_decrypt = KmsResponse.decrypt

    def decrypt(self: Any) -> str:
        algorithm = self._get_param("EncryptionAlgorithm")
        if algorithm not in _OAEP_HASHES:
            return moto_decrypt(self)
        key = self.kms_backend.describe_key(self._get_param("KeyId"))
        if key.key_usage != "ENCRYPT_DECRYPT" or not key.key_spec.startswith("RSA_"):
            _error("InvalidKeyUsageException", "The key does not support RSA-OAEP decryption")
        hash_type = _OAEP_HASHES[algorithm]
        try:
            plaintext = key.private_key.private_key.decrypt(
                self._get_param("CiphertextBlob"), padding.OAEP(padding.MGF1(hash_type()), hash_type(), None)
            )
        except ValueError:
            _error("InvalidCiphertextException", "")
        return json.dumps(
            {"Plaintext": base64.b64encode(plaintext).decode(), "KeyId": key.arn, "EncryptionAlgorithm": algorithm}
        )

    def derive_shared_secret(self: Any) -> str:
        key = self.kms_backend.describe_key(self._get_param("KeyId"))
        if key.key_usage != "KEY_AGREEMENT" or self._get_param("KeyAgreementAlgorithm") != "ECDH":
            _error("InvalidKeyUsageException", "The key does not support ECDH key agreement")
        peer = serialization.load_der_public_key(base64.b64decode(self._get_param("PublicKey")))
        if not isinstance(peer, ec.EllipticCurvePublicKey):
            _error("ValidationException", "PublicKey is not an EC public key")
        secret = key.private_key.private_key.exchange(ec.ECDH(), peer)
        return json.dumps(
            {"KeyId": key.arn, "SharedSecret": base64.b64encode(secret).decode(), "KeyAgreementAlgorithm": "ECDH"}
        )

    setattr(KmsResponse, "decrypt", decrypt)  # noqa: B010 - patching a third-party class on purpose
    setattr(KmsResponse, "derive_shared_secret", derive_shared_secret)  # noqa: B010
    setattr(KmsResponse, "_singpass_gateway_patched", True)  # noqa: B010


def _error(code: str, message: str) -> NoReturn:
    """A KMS-shaped error the client raises as ``ClientError`` with ``code``."""
    from moto.core.exceptions import JsonRESTError

    raise JsonRESTError(code, message)
