"""One interface for the gateway's private keys, with a KMS backend and a Secrets Manager PEM backend.

The backend is chosen by the key reference's ARN: ``arn:aws:kms:...`` (a key or alias; the private key never
leaves KMS) or ``arn:aws:secretsmanager:...`` (a secret holding a PEM, for keys a user must bring). A function that
only publishes keys (the JWKS's, ``GATEWAY_PUBLIC_KEYS_ONLY``) gets a PEM key's public half from the secret's tags
instead (:mod:`.published`), and never reads the private PEM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

from ..errors import ConfigurationError, GatewayError, ServiceUnavailable
from ..settings import public_keys_only

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

    from ..secrets import SecretCache

OaepHash = Literal["SHA-1", "SHA-256"]
"""RSA-OAEP's hash: SHA-1 for JOSE ``RSA-OAEP``, SHA-256 for ``RSA-OAEP-256``."""
SigningAlgorithm = Literal["ES256", "RS256"]
"""JWS algorithms the gateway signs with (client assertions): ECDSA P-256 or RSASSA-PKCS1-v1_5, SHA-256."""


class KeyUnavailable(ServiceUnavailable):
    """The key service failed or refused (KMS throttled, erring, or the key disabled); not the provider's fault,
    and not a bug: the login can be tried again later."""


class DecryptionFailed(GatewayError):
    """The ciphertext did not decrypt under this key (tampered, or encrypted to another key)."""


class PrivateKey(Protocol):
    """A private key the gateway can use without knowing where it lives.

    Each operation is one call to the backend; none returns private material. An operation the key's type
    does not support raises KeyUnavailable.
    """

    @property
    def reference(self) -> str:
        """The ARN the key was configured with (for log lines; not secret)."""
        ...

    @property
    def key_id(self) -> str:
        """The ``kid`` published for this key: the KMS key id, or the RFC 7638 thumbprint of a PEM's key.

        Known without a call to KMS, so no container needs GetPublicKey to sign (its quota is 5 per second).
        """
        ...

    def rsa_decrypt(self, ciphertext: bytes, oaep_hash: OaepHash) -> bytes:
        """Decrypt an RSA-OAEP ciphertext, such as a JWE's encrypted content key."""
        ...

    def sign(self, message: bytes, alg: SigningAlgorithm) -> bytes:
        """Sign ``message`` (client assertions): ES256 gives a DER ECDSA signature, RS256 a PKCS#1 v1.5 one."""
        ...

    def ecdh(self, peer: ec.EllipticCurvePublicKey) -> bytes:
        """The ECDH shared secret with ``peer`` (ECDH-ES decryption of encrypted ID tokens and userinfo)."""
        ...

    def public_key(self) -> PublicKeyTypes:
        """The public half, to publish in the client JWKS."""
        ...


def load_key(reference: str, secrets: SecretCache, public_only: bool | None = None) -> PrivateKey:
    """The key behind an ARN, with its backend picked by the ARN's service. With ``public_only`` (by default the
    function's :func:`~singpass_gateway.settings.public_keys_only`), a PEM-backed key is only its published public
    half: it reads the secret's tags, never its value, and refuses every private operation."""
    service = reference.split(":")[2] if reference.count(":") >= 5 else ""
    if service == "kms":
        from .kms import KmsKey

        return KmsKey(reference)
    if service == "secretsmanager":
        if public_keys_only() if public_only is None else public_only:
            from .published import PublishedPemKey

            return PublishedPemKey(reference)
        from .pem import PemKey

        return PemKey(reference, secrets)
    raise ConfigurationError("a key reference must be a KMS key/alias ARN or a Secrets Manager secret ARN")
