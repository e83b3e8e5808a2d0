"""What each provider needs of each key it uses (KMS spec, usage, JWK ``use`` and ``alg``), and which template
parameters and stack outputs name them: the one table ``create``, ``store-pem``, ``rotation-plan`` and ``check``
read, so they cannot disagree about a provider's keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import UnsuitableKey

if TYPE_CHECKING:
    from mypy_boto3_kms.literals import KeySpecType, KeyUsageTypeType


@dataclass(frozen=True)
class KeyRole:
    """What one provider needs of one key, and the template parameter that names it."""

    key_spec: KeySpecType
    key_usage: KeyUsageTypeType
    purpose: str
    """Becomes the KMS key's description."""
    parameter: str
    additional_parameter: str | None = None
    """A parameter listing keys that are published but not used: rotation without downtime."""
    switch_caveat: str = ""
    """What replacing the key in one deploy costs, when there is no ``additional_parameter``."""
    jwks_output: str = ""
    """The stack output naming the JWKS URL registered with the provider (its keys alone)."""
    cache_wait: str = ""
    """How long to wait at each rotation step, where the provider documents how long it caches a client JWKS."""


JWKS_CACHE_NOTE = (
    "the gateway lets the JWKS be cached 5 minutes; {provider} does not publish its own cache lifetime, so "
    "leave a generous margin"
)
_SINGPASS_CACHE_WAIT = (
    "Wait at least 1 hour 5 minutes: Singpass caches a client JWKS for an hour, and the gateway lets it be "
    "cached 5 minutes more."
)
_CORPPASS_CACHE_WAIT = (
    "Wait at least 1 hour 5 minutes: Corppass's cache of a client JWKS is not documented, so the plan assumes "
    "Singpass's hour, plus the gateway's 5 minutes."
)
KEY_ROLES: dict[tuple[str, str], KeyRole] = {
    ("sgid", "enc"): KeyRole(
        "RSA_2048", "ENCRYPT_DECRYPT", "sgID encrypts userinfo to it (RSA-OAEP)", "SgidDecryptionKeyArn",
        switch_caveat="sgID encrypts to the one public key registered for the client: register the new one "
        "(keys public-key NEW) as close to the deploy as you can; logins in between fail.",
    ),
    ("singpass", "sig"): KeyRole(
        "ECC_NIST_P256", "SIGN_VERIFY", "signs Singpass client assertions (ES256)", "SingpassSigningKeyArn",
        additional_parameter="SingpassAdditionalSigningKeyArns", jwks_output="SingpassJwksUri",
        cache_wait=_SINGPASS_CACHE_WAIT,
    ),
    ("singpass", "enc"): KeyRole(
        "ECC_NIST_P256", "KEY_AGREEMENT", "Singpass encrypts ID tokens and userinfo to it (ECDH-ES)",
        "SingpassDecryptionKeyArn", additional_parameter="SingpassAdditionalDecryptionKeyArns",
        jwks_output="SingpassJwksUri", cache_wait=_SINGPASS_CACHE_WAIT,
    ),
    ("corppass", "sig"): KeyRole(
        "ECC_NIST_P256", "SIGN_VERIFY", "signs Corppass client assertions (ES256)", "CorppassSigningKeyArn",
        additional_parameter="CorppassAdditionalSigningKeyArns", jwks_output="CorppassJwksUri",
        cache_wait=_CORPPASS_CACHE_WAIT,
    ),
    ("corppass", "enc"): KeyRole(
        "ECC_NIST_P256", "KEY_AGREEMENT", "Corppass encrypts ID tokens and userinfo to it (ECDH-ES)",
        "CorppassDecryptionKeyArn", additional_parameter="CorppassAdditionalDecryptionKeyArns",
        jwks_output="CorppassJwksUri", cache_wait=_CORPPASS_CACHE_WAIT,
    ),
    ("myinfo-v3", "sig"): KeyRole(
        "RSA_2048", "SIGN_VERIFY", "signs MyInfo v3 PKI_SIGN headers (RS256)", "MyInfoV3SigningKeyArn",
        switch_caveat="MyInfo verifies with the certificate registered for the app: have MyInfo register the "
        "new key's certificate (keys certificate NEW --subject ...) and deploy when it takes effect. With one PEM "
        "for signing and decryption (the stack's MyInfoV3PrivateKey secret), put the new PEM into that secret "
        "with keys store-pem instead of deploying; containers read it within 5 minutes.",
    ),
    ("myinfo-v3", "enc"): KeyRole(
        "RSA_2048", "ENCRYPT_DECRYPT", "MyInfo v3 encrypts person data to it (RSA-OAEP)", "MyInfoV3DecryptionKeyArn",
        switch_caveat="MyInfo encrypts to the certificate registered for the app: have MyInfo register the new "
        "key's certificate and deploy when it takes effect. With one PEM for signing and decryption (the stack's "
        "MyInfoV3PrivateKey secret), put the new PEM into that secret with keys store-pem instead of deploying.",
    ),
    ("myinfo-v4", "sig"): KeyRole(
        "ECC_NIST_P256", "SIGN_VERIFY", "signs MyInfo v4 client assertions (ES256)", "MyInfoV4SigningKeyArn",
        additional_parameter="MyInfoV4AdditionalSigningKeyArns", jwks_output="MyInfoV4JwksUri",
    ),
    ("myinfo-v4", "enc"): KeyRole(
        "ECC_NIST_P256", "KEY_AGREEMENT", "MyInfo v4 encrypts person data to it (ECDH-ES)", "MyInfoV4DecryptionKeyArn",
        additional_parameter="MyInfoV4AdditionalDecryptionKeyArns", jwks_output="MyInfoV4JwksUri",
    ),
}  # fmt: skip
"""Every key the stack's providers use, with the KMS spec template.yaml gives the keys it creates itself."""
PROVIDERS = tuple(dict.fromkeys(provider for provider, _ in KEY_ROLES))
PUBLISHED_ALGORITHMS = {"sig": "ES256", "enc": "ECDH-ES+A256KW"}
"""The ``alg`` the providers' ``client_jwks`` publish for each use."""
JWK_USES = {"SIGN_VERIFY": "sig", "KEY_AGREEMENT": "enc"}
"""KMS KeyUsage → JWK ``use``."""


def role(provider: str, use: str) -> KeyRole:
    """The provider's key for ``use``, or a one-line refusal naming the uses it has."""
    found = KEY_ROLES.get((provider, use))
    if found is None:
        uses = " or ".join(u for p, u in KEY_ROLES if p == provider)
        raise UnsuitableKey(f"{provider} has no {use} key; its keys: {uses}")
    return found
