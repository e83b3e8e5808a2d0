"""Adapters that let PyJWT sign, and joserfc decrypt, through the gateway's key interface (KMS or a PEM).

PyJWT and joserfc expect ``cryptography`` private keys; these classes present a ``keys.PrivateKey`` as
one, delegating only the operations the gateway needs (ES256/RS256 signatures, ECDH-ES agreement, RSA-OAEP
unwrap) and refusing everything else, since a KMS key's private half cannot be exported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15 as _PKCS1v15
from joserfc.jwk import ECKey, RSAKey

from ..keys import DecryptionFailed, OaepHash, PrivateKey


class DelegatedEcJwk(ECKey):
    """joserfc's view of a delegated EC key: no exportable members, only the key type and curve."""

    @property
    def dict_value(self) -> dict[str, Any]:
        return {"kty": "EC", "crv": "P-256"}


class DelegatedEcKey(ec.EllipticCurvePrivateKey):
    """Lets PyJWT sign (ES256) and joserfc agree on ECDH-ES keys through the key interface.

    PyJWT calls ``sign(data, ECDSA(SHA256))`` and converts the DER signature; joserfc calls
    ``exchange(ECDH(), epk)`` and runs the Concat KDF and key unwrap itself. Only P-256 keys are delegated.
    """

    def __init__(self, key: PrivateKey) -> None:
        self._key = key

    @property
    def curve(self) -> ec.EllipticCurve:
        return ec.SECP256R1()

    @property
    def key_size(self) -> int:
        return 256

    def sign(
        self, data: bytes | bytearray | memoryview, signature_algorithm: ec.EllipticCurveSignatureAlgorithm
    ) -> bytes:
        if not isinstance(signature_algorithm.algorithm, hashes.SHA256):
            raise ValueError("only ES256 signatures are delegated")
        return self._key.sign(bytes(data), "ES256")

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        if not isinstance(peer_public_key.curve, ec.SECP256R1):
            raise DecryptionFailed("the ephemeral key is not on P-256")
        return self._key.ecdh(peer_public_key)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        raise NotImplementedError("not needed to sign or agree")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        raise NotImplementedError("the private key is not exportable")

    def private_bytes(self, encoding: Any, format: Any, encryption_algorithm: Any) -> bytes:
        raise NotImplementedError("the private key is not exportable")

    def __copy__(self) -> DelegatedEcKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> DelegatedEcKey:
        return self


class DelegatedRsaJwk(RSAKey):
    """joserfc's view of a delegated key: its JWK form has no exportable members, only the key type."""

    @property
    def dict_value(self) -> dict[str, Any]:
        return {"kty": "RSA"}


class DelegatedRsaKey(rsa.RSAPrivateKey):
    """Lets joserfc unwrap a JWE content key, and PyJWT sign RS256, through the key interface (KMS or a PEM).

    joserfc's RSA-OAEP algorithms call ``decrypt(encrypted_key, padding)``; PyJWT's RS256 calls
    ``sign(data, PKCS1v15(), SHA256())``. Every other private-key capability is refused, since a KMS key's
    private half is not available to export.
    """

    _OAEP_HASHES: Mapping[str, OaepHash] = {"sha1": "SHA-1", "sha256": "SHA-256"}

    def __init__(self, key: PrivateKey) -> None:
        self._key = key

    def decrypt(self, ciphertext: bytes, padding: padding.AsymmetricPadding) -> bytes:
        oaep_hash = self._oaep_hash(padding)
        if oaep_hash is None:
            raise DecryptionFailed("only RSA-OAEP content-key encryption is accepted")
        return self._key.rsa_decrypt(ciphertext, oaep_hash)

    def _oaep_hash(self, pad: padding.AsymmetricPadding) -> OaepHash | None:
        if not isinstance(pad, padding.OAEP):
            return None
        return self._OAEP_HASHES.get(pad.algorithm.name)

    @property
    def key_size(self) -> int:
        """Only consulted by joserfc when encrypting, which this key never does; 2048 is KMS's smallest."""
        return 2048

    def public_key(self) -> rsa.RSAPublicKey:
        raise NotImplementedError("not needed to decrypt")

    def sign(self, data: bytes | bytearray | memoryview, padding: padding.AsymmetricPadding, algorithm: Any) -> bytes:
        """PyJWT's RS256 asks for PKCS#1 v1.5 with SHA-256; nothing else is delegated."""
        if not isinstance(padding, _PKCS1v15) or not isinstance(algorithm, hashes.SHA256):
            raise ValueError("only RS256 signatures are delegated")
        return self._key.sign(bytes(data), "RS256")

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        raise NotImplementedError("the private key is not exportable")

    def private_bytes(self, encoding: Any, format: Any, encryption_algorithm: Any) -> bytes:
        raise NotImplementedError("the private key is not exportable")

    def __copy__(self) -> DelegatedRsaKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> DelegatedRsaKey:
        return self
