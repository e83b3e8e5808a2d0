"""ID-token validation and JWE decryption: every check can fail, and each negative case proves one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwe
from joserfc.jwk import ECKey, OctKey, RSAKey
from singpass_gateway.errors import InvalidToken
from singpass_gateway.jose import (
    MAX_DOCUMENT_BYTES,
    MAX_TOKEN_BYTES,
    REPLICATED_CLAIMS,
    IdTokenPolicy,
    JwksCache,
    decrypt_nested_jws,
    decrypt_with_private_key,
    verify_id_token,
)
from singpass_gateway.jose.jwe import SIZED_PARTS
from singpass_gateway.keys.pem import PemKey

from tests.unit.fakes import FakeHttp, FakeSecrets, json_response, pem
from tests.unit.upstream import KEYS, public_jwk

JWKS_URL = "https://idp.example/jwks"
POLICY = IdTokenPolicy(issuer="https://idp.example/v2", client_id="client-1", jwks_url=JWKS_URL, algorithms=("RS256",))
NOW = 1_800_000_000
NONCE = "n-0S6_WzA2Mj"


def claims(**overrides: Any) -> dict[str, Any]:
    base = {"iss": POLICY.issuer, "aud": "client-1", "sub": "u=abc", "iat": NOW - 5, "exp": NOW + 300, "nonce": NONCE}
    return {key: value for key, value in {**base, **overrides}.items() if value is not None}


def sign(key: Any, payload: dict[str, Any], kid: str | None = "k1", alg: str = "RS256") -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid} if kid else None)


@pytest.fixture
def jwks(fake_http: FakeHttp, provider_key: rsa.RSAPrivateKey) -> JwksCache:
    fake_http.on("GET", JWKS_URL, json_response({"keys": [public_jwk(provider_key)]}))
    return JwksCache(fake_http)  # type: ignore[arg-type]


def test_a_valid_token_gives_its_claims(jwks: JwksCache, provider_key: rsa.RSAPrivateKey) -> None:
    assert verify_id_token(sign(provider_key, claims()), POLICY, jwks, NONCE, NOW)["sub"] == "u=abc"


def test_aud_as_a_one_element_array_is_accepted(jwks: JwksCache, provider_key: rsa.RSAPrivateKey) -> None:
    token = sign(provider_key, claims(aud=["client-1"]))
    assert verify_id_token(token, POLICY, jwks, NONCE, NOW)["aud"] == ["client-1"]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://evil.example/v2"}, "iss"),
        ({"iss": None}, "iss"),
        ({"aud": "someone-else"}, "aud"),
        ({"aud": None}, "aud"),
        ({"aud": ["client-1", "untrusted"]}, "aud"),
        ({"azp": "someone-else"}, "azp"),
        ({"exp": NOW - 60}, "expired"),  # expired by the one clock skew
        ({"exp": None}, "exp missing"),
        ({"iat": None}, "iat missing"),
        ({"iat": NOW + 61}, "iat"),
        ({"iat": NOW - 7 * 24 * 3600}, "iat"),
        ({"exp": True}, "exp is not a NumericDate"),
        ({"iat": "1800000000"}, "iat is not a NumericDate"),
        ({"exp": float("nan")}, "exp is not a NumericDate"),
        ({"exp": float("inf")}, "exp is not a NumericDate"),
        ({"iat": 10**400}, "iat is not a NumericDate"),
        ({"nbf": NOW + 61}, "not yet valid"),
        ({"nbf": "0"}, "nbf is not a NumericDate"),
        ({"exp": NOW - 60.5}, "expired"),
        ({"nonce": "other"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"sub": None}, "sub"),
        ({"sub": ""}, "sub"),
    ],
)
def test_claims_that_break_a_rule_are_rejected(
    jwks: JwksCache, provider_key: rsa.RSAPrivateKey, overrides: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidToken, match=reason):
        verify_id_token(sign(provider_key, claims(**overrides)), POLICY, jwks, NONCE, NOW)


@pytest.mark.parametrize(
    "times",
    [
        {"iat": NOW - 0.351, "exp": NOW + 1799.649},  # Singpass / MockPass 4.6: Date.now() / 1000
        {"iat": NOW - 5, "exp": NOW + 300.5, "nbf": NOW - 5.25},
        {"iat": NOW + 59.9, "exp": NOW - 59.9, "nbf": NOW + 59.9},  # each within the one clock skew
    ],
)
def test_numeric_dates_with_fractions_are_accepted(
    jwks: JwksCache, provider_key: rsa.RSAPrivateKey, times: dict[str, float]
) -> None:
    verified = verify_id_token(sign(provider_key, claims(**times)), POLICY, jwks, NONCE, NOW)

    assert verified["iat"] == times["iat"]


def test_unsigned_tokens_are_rejected(jwks: JwksCache) -> None:
    token = jwt.encode(claims(), None, algorithm="none")
    with pytest.raises(InvalidToken, match="alg"):
        verify_id_token(token, POLICY, jwks, NONCE, NOW)


def test_hs256_keyed_with_the_public_key_is_rejected(jwks: JwksCache, provider_key: rsa.RSAPrivateKey) -> None:
    public_pem = provider_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = ".".join(
        jwt.utils.base64url_encode(json.dumps(part).encode()).decode()
        for part in ({"alg": "HS256", "kid": "k1"}, claims())
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{jwt.utils.base64url_encode(mac).decode()}"
    with pytest.raises(InvalidToken, match="alg"):
        verify_id_token(forged, POLICY, jwks, NONCE, NOW)


def test_an_algorithm_outside_the_allow_list_is_rejected(jwks: JwksCache) -> None:
    token = sign(ec.generate_private_key(ec.SECP256R1()), claims(), alg="ES256")
    with pytest.raises(InvalidToken, match="alg"):
        verify_id_token(token, POLICY, jwks, NONCE, NOW)


def test_a_valid_looking_key_outside_the_jwks_is_rejected(jwks: JwksCache, other_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(InvalidToken, match="signature"):
        verify_id_token(sign(other_key, claims()), POLICY, jwks, NONCE, NOW)


def test_a_tampered_payload_is_rejected(jwks: JwksCache, provider_key: rsa.RSAPrivateKey) -> None:
    header, _, signature = sign(provider_key, claims()).split(".")
    evil_payload = jwt.utils.base64url_encode(json.dumps(claims(sub="u=victim")).encode()).decode()
    with pytest.raises(InvalidToken, match="signature"):
        verify_id_token(f"{header}.{evil_payload}.{signature}", POLICY, jwks, NONCE, NOW)


def test_an_embedded_jwk_header_is_never_trusted(jwks: JwksCache, other_key: rsa.RSAPrivateKey) -> None:
    token = jwt.encode(claims(), other_key, algorithm="RS256", headers={"kid": "k1", "jwk": public_jwk(other_key)})
    with pytest.raises(InvalidToken, match="signature"):
        verify_id_token(token, POLICY, jwks, NONCE, NOW)


def test_an_unknown_kid_refetches_the_jwks_and_accepts_a_rotated_key(
    fake_http: FakeHttp, provider_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    now = [0.0]
    fake_http.on("GET", JWKS_URL, json_response({"keys": [public_jwk(provider_key)]}))
    jwks = JwksCache(fake_http, refetch_cooldown_seconds=10, clock=lambda: now[0])  # type: ignore[arg-type]
    verify_id_token(sign(provider_key, claims()), POLICY, jwks, NONCE, NOW)  # JWKS now cached
    fake_http.on("GET", JWKS_URL, json_response({"keys": [public_jwk(provider_key), public_jwk(other_key, "k2")]}))
    now[0] = 11.0
    assert verify_id_token(sign(other_key, claims(), kid="k2"), POLICY, jwks, NONCE, NOW)["sub"] == "u=abc"
    assert fake_http.count("GET", JWKS_URL) == 2
    verify_id_token(sign(other_key, claims(), kid="k2"), POLICY, jwks, NONCE, NOW)
    assert fake_http.count("GET", JWKS_URL) == 2  # the refreshed set is cached again


def test_unknown_kids_cannot_make_the_gateway_hammer_the_jwks(
    fake_http: FakeHttp, provider_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    now = [0.0]
    fake_http.on("GET", JWKS_URL, json_response({"keys": [public_jwk(provider_key)]}))
    jwks = JwksCache(fake_http, refetch_cooldown_seconds=10, clock=lambda: now[0])  # type: ignore[arg-type]
    verify_id_token(sign(provider_key, claims()), POLICY, jwks, NONCE, NOW)
    for attempt in range(20):
        now[0] = 10.0 + attempt * 0.5  # 20 forged tokens within 10 seconds
        with pytest.raises(InvalidToken):
            verify_id_token(sign(other_key, claims(), kid="unknown"), POLICY, jwks, NONCE, NOW)
    assert fake_http.count("GET", JWKS_URL) == 2  # the first fetch, then one refetch in the cooldown window


def test_no_kid_with_a_single_key_uses_it(fake_http: FakeHttp, provider_key: rsa.RSAPrivateKey) -> None:
    fake_http.on("GET", JWKS_URL, json_response({"keys": [public_jwk(provider_key, kid=None)]}))
    jwks = JwksCache(fake_http)  # type: ignore[arg-type]
    assert verify_id_token(sign(provider_key, claims(), kid=None), POLICY, jwks, NONCE, NOW)["sub"] == "u=abc"


def test_no_kid_with_several_keys_is_refused(
    fake_http: FakeHttp, provider_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    keys = [public_jwk(provider_key, "k1"), public_jwk(other_key, "k2")]
    fake_http.on("GET", JWKS_URL, json_response({"keys": keys}))
    with pytest.raises(InvalidToken):
        verify_id_token(sign(provider_key, claims(), kid=None), POLICY, JwksCache(fake_http), NONCE, NOW)  # type: ignore[arg-type]


def test_junk_and_encryption_keys_in_the_jwks_are_skipped(fake_http: FakeHttp, provider_key: rsa.RSAPrivateKey) -> None:
    keys = [
        {"kty": "RSA", "kid": "junk", "n": "!!"},
        {"kty": "nope"},
        public_jwk(provider_key, "enc", use="enc"),
        public_jwk(provider_key),
    ]
    fake_http.on("GET", JWKS_URL, json_response({"keys": keys}))
    token = sign(provider_key, claims())
    assert verify_id_token(token, POLICY, JwksCache(fake_http), NONCE, NOW)["sub"] == "u=abc"  # type: ignore[arg-type]
    with pytest.raises(InvalidToken):
        verify_id_token(sign(provider_key, claims(), kid="enc"), POLICY, JwksCache(fake_http), NONCE, NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "x" * 20_000 + ".a.b", "e30.e30.e30"])
def test_malformed_tokens_are_rejected_cleanly(jwks: JwksCache, token: str) -> None:
    with pytest.raises(InvalidToken):
        verify_id_token(token, POLICY, jwks, NONCE, NOW)


class LocalKey:
    """The key interface over an in-memory RSA key (as the PEM backend is), counting its uses."""

    reference = "test-key"

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key, self.calls = key, 0

    def rsa_decrypt(self, ciphertext: bytes, oaep_hash: str) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        self.calls += 1
        algorithm = {"SHA-1": hashes.SHA1(), "SHA-256": hashes.SHA256()}[oaep_hash]  # noqa: S303 - RSA-OAEP is SHA-1
        return self._key.decrypt(ciphertext, padding.OAEP(padding.MGF1(algorithm), algorithm, None))


def encrypt_to(key: rsa.RSAPrivateKey, plaintext: bytes, alg: str, enc: str = "A256GCM") -> str:
    return jwe.encrypt_compact(
        {"alg": alg, "enc": enc}, plaintext, RSAKey.import_key(key.public_key()), algorithms=[alg, enc]
    )


@pytest.mark.parametrize("alg", ["RSA-OAEP", "RSA-OAEP-256"])
def test_rsa_oaep_jwe_decrypts_through_the_key_interface(client_key: rsa.RSAPrivateKey, alg: str) -> None:
    key = LocalKey(client_key)
    token = encrypt_to(client_key, b'{"k":"v"}', alg, "A128CBC-HS256")
    assert decrypt_with_private_key(token, key, (alg, "A128CBC-HS256")) == b'{"k":"v"}'
    assert key.calls == 1


@pytest.mark.filterwarnings('ignore:JWE algorithm "RSA1_5" is deprecated')  # the forged token needs it
def test_rsa1_5_is_never_accepted(client_key: rsa.RSAPrivateKey) -> None:
    token = encrypt_to(client_key, b"secret", "RSA1_5")
    with pytest.raises(InvalidToken):
        decrypt_with_private_key(token, LocalKey(client_key), ("RSA-OAEP", "RSA-OAEP-256", "A256GCM"))


def test_a_jwe_for_another_key_or_tampered_is_rejected(
    client_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    algorithms = ("RSA-OAEP", "A256GCM")
    with pytest.raises(InvalidToken):
        decrypt_with_private_key(encrypt_to(other_key, b"x", "RSA-OAEP"), LocalKey(client_key), algorithms)
    parts = encrypt_to(client_key, b"hello", "RSA-OAEP").split(".")
    parts[3] = parts[3][:-2] + ("AA" if parts[3][-2:] != "AA" else "BA")
    with pytest.raises(InvalidToken):
        decrypt_with_private_key(".".join(parts), LocalKey(client_key), algorithms)


def test_symmetric_jwe_uses_only_allowed_algorithms() -> None:
    from singpass_gateway.jose import decrypt_with_symmetric_jwk

    block = OctKey.generate_key(256)
    token = jwe.encrypt_compact(
        {"alg": "dir", "enc": "A256GCM"}, b"TAN HENG HUAT", block, algorithms=["dir", "A256GCM"]
    )
    assert decrypt_with_symmetric_jwk(token, block.as_dict(private=True), ("dir", "A256GCM")) == b"TAN HENG HUAT"
    with pytest.raises(InvalidToken):
        decrypt_with_symmetric_jwk(token, block.as_dict(private=True), ("A256KW", "A256GCM"))


# -- size limits: the caller's, never joserfc's own defaults ------------------------------------------------------

RSA_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:rsa"
EC_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:ec"
PEM_SECRETS = FakeSecrets({RSA_ARN: pem(KEYS.client_rsa), EC_ARN: pem(KEYS.client_ec_decryption)})
RSA_KEY = PemKey(RSA_ARN, PEM_SECRETS)  # type: ignore[arg-type]
EC_KEY = PemKey(EC_ARN, PEM_SECRETS)  # type: ignore[arg-type]
"""The gateway's decryption keys, through the PEM backend."""
SIZE_LIMITED = [
    pytest.param("RSA-OAEP", MAX_DOCUMENT_BYTES, id="myinfo-v3-person"),
    pytest.param("ECDH-ES+A256KW", MAX_DOCUMENT_BYTES, id="myinfo-v4-person-and-singpass-userinfo"),
    pytest.param("ECDH-ES+A256KW", 4 * MAX_TOKEN_BYTES, id="id-token"),
]
"""Each JWE path with the limit its caller passes: the person document's 1 MiB, an ID token's 64 KiB."""


def jwe_of_length(length: int, alg: str, extra_header: dict[str, Any] | None = None) -> str:
    """A compact JWE to the gateway's key of exactly ``length`` characters, around a JWS-shaped plaintext: the
    plaintext's length sets the ciphertext's, and an ``iss`` of 0 to 3 characters makes up what base64 cannot."""
    recipient = RSAKey.import_key(KEYS.client_rsa.public_key()) if alg == "RSA-OAEP" else None
    key = recipient or ECKey.import_key(KEYS.client_ec_decryption.public_key())
    registry = jwe.JWERegistry(header_registry=REPLICATED_CLAIMS, algorithms=[alg, "A256GCM"])
    registry.max_protected_header_length = 64 * 1024  # joserfc checks its own caps when encrypting, too

    def encrypted(size: int, pad: int) -> str:
        header = {"alg": alg, "enc": "A256GCM", "iss": "i" * pad, **(extra_header or {})}
        plaintext = b"h." + b"p" * (size - 4) + b".s"
        return jwe.encrypt_compact(header, plaintext, key, registry=registry)

    for pad in range(4):
        fixed = len(encrypted(4, pad)) - len(base64.urlsafe_b64encode(b"p" * 4).rstrip(b"="))
        room = length - fixed  # the ciphertext's base64 length: 4k, 4k+2 or 4k+3 characters, never 4k+1
        if room % 4 != 1:
            token = encrypted(room // 4 * 3 + max(0, room % 4 - 1), pad)
            assert len(token) == length
            return token
    raise AssertionError("no header padding fits")


def decrypt(token: str, alg: str, limit: int) -> str:
    """Through the entry point the JWE's path uses, with its caller's limit."""
    if alg == "RSA-OAEP":
        return decrypt_with_private_key(token, RSA_KEY, (alg, "A256GCM"), limit).decode()
    return decrypt_nested_jws(token, EC_KEY, (alg, "A256GCM"), limit)


@pytest.mark.parametrize(("alg", "limit"), SIZE_LIMITED)
def test_a_jwe_of_exactly_the_callers_limit_decrypts(alg: str, limit: int) -> None:
    token = jwe_of_length(limit, alg)

    plaintext = decrypt(token, alg, limit)

    assert plaintext.startswith("h.pp")
    assert plaintext.endswith("p.s")
    assert len(plaintext) > (limit - 1024) * 3 // 4  # nearly all of it is the payload


@pytest.mark.parametrize(("alg", "limit"), SIZE_LIMITED)
def test_a_jwe_one_character_over_the_callers_limit_is_refused_before_it_is_decrypted(alg: str, limit: int) -> None:
    token = jwe_of_length(limit + 1, alg)

    with pytest.raises(InvalidToken, match=f"acceptable size.*{limit}"):
        decrypt(token, alg, limit)


@pytest.mark.parametrize(("alg", "limit"), SIZE_LIMITED)
def test_a_protected_header_over_joserfcs_default_is_held_to_the_callers_limit_only(alg: str, limit: int) -> None:
    """joserfc's 1 KiB header cap is not the gateway's: a header (replicated claims) of 2 KiB decrypts too."""
    audiences = [f"https://service-{number}.example/client" for number in range(50)]

    token = jwe_of_length(limit, alg, {"aud": audiences})

    assert len(token.split(".")[0]) > 2048
    assert decrypt(token, alg, limit).startswith("h.pp")


def test_joserfcs_size_caps_are_all_accounted_for() -> None:
    """A joserfc upgrade that adds a cap must be looked at: it could refuse large person data again."""
    caps = {name for name in vars(jwe.JWERegistry) if name.startswith("max_")}
    fixed_by_the_algorithms = {"max_encrypted_key_length", "max_initialization_vector_length", "max_auth_tag_length"}
    json_serialization_only = {"max_aad_length", "max_recipients"}

    assert caps == set(SIZED_PARTS) | fixed_by_the_algorithms | json_serialization_only


def test_an_encrypted_key_larger_than_any_rsa_key_wraps_is_refused_before_the_key_is_asked(
    client_key: rsa.RSAPrivateKey,
) -> None:
    """The encrypted key keeps joserfc's 1 KiB cap: a provider cannot make the gateway send KMS a megabyte."""
    key = LocalKey(client_key)
    parts = encrypt_to(client_key, b"x", "RSA-OAEP").split(".")
    parts[1] = "A" * 2000

    with pytest.raises(InvalidToken, match="ExceededSizeError"):
        decrypt_with_private_key(".".join(parts), key, ("RSA-OAEP", "A256GCM"), MAX_DOCUMENT_BYTES)  # type: ignore[arg-type]
    assert key.calls == 0
