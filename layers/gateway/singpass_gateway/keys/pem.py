"""Secrets Manager PEM backend: for keys a user must bring (e.g. one already registered with a provider).

The PEM is read through the container's secret cache and parsed once per distinct value, so a warm login
neither calls Secrets Manager nor re-parses the key (re-parsing an RSA key costs tens of milliseconds).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from . import DecryptionFailed, KeyUnavailable, OaepHash, SigningAlgorithm

if TYPE_CHECKING:
    from ..secrets import SecretCache

_HASHES: dict[OaepHash, type[hashes.HashAlgorithm]] = {"SHA-1": hashes.SHA1, "SHA-256": hashes.SHA256}


class PemKey:
    def __init__(self, secret_arn: str, secrets: SecretCache) -> None:
        self._secret_arn = secret_arn
        self._secrets = secrets

    @property
    def reference(self) -> str:
        return self._secret_arn

    def rsa_decrypt(self, ciphertext: bytes, oaep_hash: OaepHash) -> bytes:
        key = self._private_key()
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyUnavailable(f"{self._secret_arn} does not hold an RSA private key")
        algorithm = _HASHES[oaep_hash]()
        try:
            return key.decrypt(ciphertext, padding.OAEP(padding.MGF1(algorithm), algorithm, None))
        except ValueError:
            raise DecryptionFailed("the content key did not decrypt under the PEM key") from None

    @property
    def key_id(self) -> str:
        return thumbprint(self.public_key())

    def sign(self, message: bytes, alg: SigningAlgorithm) -> bytes:
        if alg == "ES256":
            return self._ec_key().sign(message, ec.ECDSA(hashes.SHA256()))
        key = self._private_key()
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyUnavailable(f"{self._secret_arn} does not hold an RSA private key")
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def ecdh(self, peer: ec.EllipticCurvePublicKey) -> bytes:
        try:
            return self._ec_key().exchange(ec.ECDH(), peer)
        except ValueError:
            raise DecryptionFailed("the peer key is not on this key's curve") from None

    def public_key(self) -> PublicKeyTypes:
        return self._private_key().public_key()

    def _ec_key(self) -> ec.EllipticCurvePrivateKey:
        key = self._private_key()
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise KeyUnavailable(f"{self._secret_arn} does not hold an EC P-256 private key")
        return key

    def _private_key(self) -> PrivateKeyTypes:
        return _parse_pem(self._secrets.get(self._secret_arn))


@functools.lru_cache(maxsize=8)
def _parse_pem(pem: str) -> PrivateKeyTypes:
    """Parse PKCS#1 or PKCS#8 PEM; tolerate literal ``\\n`` from secrets pasted as one line."""
    if "\\n" in pem and "\n" not in pem.strip():
        pem = pem.replace("\\n", "\n")
    try:
        return serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise KeyUnavailable("the secret is not an unencrypted PEM private key") from None


def thumbprint(public_key: PublicKeyTypes) -> str:
    """RFC 7638 SHA-256 thumbprint of an RSA or EC public key."""
    from joserfc.jwk import ECKey, RSAKey

    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return ECKey.import_key(public_key).thumbprint()
    if isinstance(public_key, rsa.RSAPublicKey):
        return RSAKey.import_key(public_key).thumbprint()
    raise KeyUnavailable("only RSA and EC keys have thumbprints here")
