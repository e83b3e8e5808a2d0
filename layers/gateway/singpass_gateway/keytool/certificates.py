"""MyInfo v3 certificates and CSRs, signed through the key interface (inside KMS for a KMS key).

cryptography signs only with keys it holds, so these are assembled around the key's own signature: the
to-be-signed part is built (or borrowed from a draft) and wrapped with the signature the key makes of it.
"""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from .errors import InvalidArgument, UnsuitableKey
from .key_loading import kms_key_usage, load

if TYPE_CHECKING:
    from cryptography import x509

    from ..keys import PrivateKey

SUBJECT_ATTRIBUTES = {
    "CN": "COMMON_NAME",
    "O": "ORGANIZATION_NAME",
    "OU": "ORGANIZATIONAL_UNIT_NAME",
    "C": "COUNTRY_NAME",
    "ST": "STATE_OR_PROVINCE_NAME",
    "L": "LOCALITY_NAME",
    "emailAddress": "EMAIL_ADDRESS",
    "serialNumber": "SERIAL_NUMBER",
}
"""openssl's short names in ``-subj`` → cryptography's NameOID attribute names."""
SHA256_WITH_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")
"""DER AlgorithmIdentifier of sha256WithRSAEncryption: what RS256 signatures are, in X.509."""


def certificate(arguments: argparse.Namespace) -> None:
    """A self-signed certificate or a CSR for MyInfo v3, signed by the key itself through the key interface."""
    from cryptography.hazmat.primitives import serialization

    if arguments.days < 1:
        raise InvalidArgument("--days must be at least 1")
    name = subject(arguments.subject)
    key = signing_rsa_key(arguments.key)
    document = csr(key, name) if arguments.csr else self_signed(key, name, arguments.days)
    print(document.public_bytes(serialization.Encoding.PEM).decode(), end="")


def signing_rsa_key(reference: str) -> PrivateKey:
    """A key that can sign a certificate for MyInfo v3: RSA, and SIGN_VERIFY when it lives in KMS."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = load(reference)
    usage = kms_key_usage(key)
    if usage not in (None, "SIGN_VERIFY"):
        raise UnsuitableKey(f"{reference} is an {usage} key; KMS signs only with SIGN_VERIFY keys")
    if not isinstance(key.public_key(), rsa.RSAPublicKey):
        raise UnsuitableKey(f"{reference} is not an RSA key; MyInfo v3 certificates carry RSA keys")
    return key


def subject(text: str) -> x509.Name:
    """An openssl-style subject (``/CN=app.example.com/O=Example/C=SG``; ``\\/`` for a slash in a value)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    if not text.startswith("/"):
        raise InvalidArgument('write the subject as openssl does: "/CN=app.example.com/O=Example/C=SG"')
    attributes = []
    for part in re.split(r"(?<!\\)/", text[1:]):
        name, _, value = part.partition("=")
        if name not in SUBJECT_ATTRIBUTES or not value:
            known = ", ".join(SUBJECT_ATTRIBUTES)
            raise InvalidArgument(f"subject attribute {name!r} is unknown or empty; known: {known}")
        oid = getattr(NameOID, SUBJECT_ATTRIBUTES[name])
        try:
            attributes.append(x509.NameAttribute(oid, value.replace("\\/", "/")))
        except ValueError as error:
            raise InvalidArgument(f"subject attribute {name}: {error}") from None
    return x509.Name(attributes)


def self_signed(key: PrivateKey, name: x509.Name, days: int) -> x509.Certificate:
    """A self-signed certificate whose signature comes from ``key`` (one KMS Sign for a KMS key).

    cryptography signs only with keys it holds, so it signs the draft with a throw-away RSA key: the draft's
    to-be-signed part (with this key's public key and the sha256WithRSAEncryption algorithm) is then signed
    again by the real key, and the placeholder's signature is discarded.
    """
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    public_key = key.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)  # signing_rsa_key checked it
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    draft = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(rsa.generate_private_key(public_exponent=65537, key_size=1024), hashes.SHA256())  # noqa: S505 - discarded
    )
    to_be_signed = draft.tbs_certificate_bytes
    return x509.load_der_x509_certificate(signed(to_be_signed, key.sign(to_be_signed, "RS256")))


def csr(key: PrivateKey, name: x509.Name) -> x509.CertificateSigningRequest:
    """A PKCS#10 request (RFC 2986) for ``name`` with ``key``'s public key, signed by ``key`` itself."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    public_key = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    version_0, no_attributes = b"\x02\x01\x00", b"\xa0\x00"
    request_info = der(0x30, version_0 + name.public_bytes() + public_key + no_attributes)
    return x509.load_der_x509_csr(signed(request_info, key.sign(request_info, "RS256")))


def signed(to_be_signed: bytes, signature: bytes) -> bytes:
    """Certificates and CSRs share one shape: SEQUENCE { to-be-signed, algorithm, BIT STRING signature }."""
    return der(0x30, to_be_signed + SHA256_WITH_RSA + der(0x03, b"\x00" + signature))


def der(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    if len(content) < 0x80:
        return bytes([tag, len(content)]) + content
    length = len(content).to_bytes((len(content).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content
