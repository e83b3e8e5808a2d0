"""The key interface's two backends decrypt the same RSA-OAEP ciphertexts, and refuse foreign ones; where only public
keys are wanted (the JWKS function), a PEM key is the public half in its secret's tags."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from singpass_gateway import aws
from singpass_gateway.errors import ConfigurationError
from singpass_gateway.keys import DecryptionFailed, KeyUnavailable, load_key
from singpass_gateway.secrets import SecretCache


def oaep(hash_name: str) -> padding.OAEP:
    algorithm = hashes.SHA256() if hash_name == "SHA-256" else hashes.SHA1()  # noqa: S303 - RSA-OAEP is SHA-1
    return padding.OAEP(padding.MGF1(algorithm), algorithm, None)


@pytest.mark.parametrize("oaep_hash", ["SHA-1", "SHA-256"])
def test_kms_decrypts_rsa_oaep_without_the_key_leaving_kms(moto: None, oaep_hash: str) -> None:
    kms = boto3.client("kms")
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["Arn"]
    public_key = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    assert isinstance(public_key, rsa.RSAPublicKey)
    key = load_key(key_id, SecretCache(aws.secretsmanager, 300))

    assert key.rsa_decrypt(public_key.encrypt(b"content key", oaep(oaep_hash)), oaep_hash) == b"content key"  # type: ignore[arg-type]
    with pytest.raises(DecryptionFailed):
        key.rsa_decrypt(b"\x00" * 256, oaep_hash)  # type: ignore[arg-type]


def test_a_pem_in_secrets_manager_decrypts_and_is_parsed_once(moto: None) -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    one_line = pem.replace("\n", "\\n")  # as pasted into a console field
    arn = boto3.client("secretsmanager").create_secret(Name="k", SecretString=one_line)["ARN"]
    key = load_key(arn, SecretCache(aws.secretsmanager, 300))

    ciphertext = private_key.public_key().encrypt(b"content key", oaep("SHA-256"))
    assert key.rsa_decrypt(ciphertext, "SHA-256") == b"content key"
    with pytest.raises(DecryptionFailed):
        key.rsa_decrypt(ciphertext, "SHA-1")


def test_a_secret_that_is_not_a_pem_is_a_key_error(moto: None) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="not-a-key", SecretString="hunter2")["ARN"]
    with pytest.raises(KeyUnavailable):
        load_key(arn, SecretCache(aws.secretsmanager, 300)).rsa_decrypt(b"x", "SHA-1")


def test_a_key_reference_must_name_kms_or_secrets_manager() -> None:
    with pytest.raises(ConfigurationError):
        load_key("arn:aws:s3:::bucket/key.pem", SecretCache(aws.secretsmanager, 300))


def test_secrets_are_cached_for_a_bounded_time() -> None:
    calls: list[str] = []
    now = [0.0]

    class Client:
        def get_secret_value(self, SecretId: str, VersionStage: str) -> dict[str, str]:
            calls.append(SecretId)
            return {"SecretString": f"value-{len(calls)}"}

    cache = SecretCache(lambda: Client(), max_age_seconds=300, clock=lambda: now[0])  # type: ignore[arg-type,return-value]
    assert cache.get("s") == cache.get("s") == "value-1"
    now[0] = 301
    assert cache.get("s") == "value-2"
    assert calls == ["s", "s"]


@pytest.mark.parametrize(("key_spec", "alg"), [("ECC_NIST_P256", "ES256"), ("RSA_2048", "RS256")])
def test_kms_signs_client_assertions_that_verify_with_its_public_key(moto: None, key_spec: str, alg: str) -> None:
    import jwt
    from singpass_gateway.jose import sign_client_assertion

    kms = boto3.client("kms")
    key_arn = kms.create_key(KeySpec=key_spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    key = load_key(key_arn, SecretCache(aws.secretsmanager, 300))

    assertion = sign_client_assertion(key, {"iss": "c", "aud": "https://as.example"}, alg)  # type: ignore[arg-type]

    assert jwt.get_unverified_header(assertion) == {"alg": alg, "kid": key_arn.rsplit("/", 1)[-1], "typ": "JWT"}
    claims = jwt.decode(assertion, key.public_key(), algorithms=[alg], audience="https://as.example")  # type: ignore[arg-type]
    assert claims["iss"] == "c"


def test_a_pem_key_signs_and_agrees_like_kms(moto: None) -> None:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    from singpass_gateway.jose import sign_client_assertion

    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    arn = boto3.client("secretsmanager").create_secret(Name="ec", SecretString=pem)["ARN"]
    key = load_key(arn, SecretCache(aws.secretsmanager, 300))
    peer = ec.generate_private_key(ec.SECP256R1())

    assert key.ecdh(peer.public_key()) == peer.exchange(ec.ECDH(), private_key.public_key())
    assertion = sign_client_assertion(key, {"iss": "c"})
    assert jwt.decode(assertion, private_key.public_key(), algorithms=["ES256"])["iss"] == "c"
    assert jwt.get_unverified_header(assertion)["kid"] == key.key_id  # the RFC 7638 thumbprint


@pytest.fixture
def public_keys_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The JWKS function's environment (template.yaml sets GATEWAY_PUBLIC_KEYS_ONLY on it alone)."""
    from singpass_gateway import settings

    monkeypatch.setenv("GATEWAY_PUBLIC_KEYS_ONLY", "true")
    settings.public_keys_only.cache_clear()
    yield
    settings.public_keys_only.cache_clear()


@pytest.mark.usefixtures("public_keys_only")
@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_where_only_public_keys_are_wanted_a_pem_key_is_its_tagged_public_half(moto: None, kind: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from singpass_gateway import jose
    from singpass_gateway.keys.published import PublishedPemKey, public_key_tags

    private_key = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else rsa.generate_private_key(65537, 2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    tags = [{"Key": name, "Value": value} for name, value in public_key_tags(private_key.public_key()).items()]
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name=f"pem-{kind}", SecretString=pem, Tags=tags)["ARN"]

    class NoSecretValue:
        def get_secret_value(self, **_: Any) -> Any:
            raise AssertionError("a function that only publishes keys read a private key")

    published = load_key(arn, SecretCache(lambda: NoSecretValue(), 300))  # type: ignore[arg-type,return-value]
    private = load_key(arn, SecretCache(aws.secretsmanager, 300), public_only=False)

    assert isinstance(published, PublishedPemKey)
    assert all(len(tag["Value"]) <= 256 for tag in tags)  # Secrets Manager's limit for a tag value
    use, alg = ("sig", "ES256") if kind == "ec" else ("sig", "RS256")
    assert jose.published_jwk(published, use, alg) == jose.published_jwk(private, use, alg)
    for operation in (lambda: published.sign(b"x", "ES256"), lambda: published.rsa_decrypt(b"x", "SHA-256")):
        with pytest.raises(KeyUnavailable, match="only published"):
            operation()


def test_published_public_halves_are_reread_after_their_max_age_and_refused_when_missing_or_garbled() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from singpass_gateway.keys.published import MAX_AGE_SECONDS, PublishedPemKey, public_key_tags

    first, second = (ec.generate_private_key(ec.SECP256R1()).public_key() for _ in range(2))
    answers = [public_key_tags(first), public_key_tags(second)]
    calls, now = [], [0.0]

    def describe(arn: str) -> dict[str, Any]:
        calls.append(arn)
        return {"Tags": [{"Key": name, "Value": value} for name, value in answers[min(len(calls), 2) - 1].items()]}

    key = PublishedPemKey("arn:aws:secretsmanager:ap-southeast-1:1:secret:k-AbCdEf", describe, clock=lambda: now[0])
    assert key.public_key().public_numbers() == first.public_numbers()  # type: ignore[union-attr]
    assert key.key_id == key.key_id
    assert len(calls) == 1  # cached
    now[0] = MAX_AGE_SECONDS + 1
    assert key.public_key().public_numbers() == second.public_numbers()  # type: ignore[union-attr]

    for tags in ([], [{"Key": "singpass-gateway:public-key:1", "Value": "bm90IGEga2V5"}]):
        broken = PublishedPemKey(
            "arn:aws:secretsmanager:ap-southeast-1:1:secret:k-AbCdEf", lambda _, t=tags: {"Tags": t}
        )
        with pytest.raises(KeyUnavailable):
            broken.public_key()
