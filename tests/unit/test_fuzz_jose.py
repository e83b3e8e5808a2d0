"""Property-based fuzzing of every JOSE parsing path: random and mutated tokens, keys, JWKS and JSON.

The property: whatever the input, the result is a value of the documented type or a typed GatewayError with a
stable code (``invalid_token``, or ``provider_unavailable`` for an unusable JWKS); nothing else escapes.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from joserfc.jwk import OctKey
from singpass_gateway.http import HttpResponse
from singpass_gateway.jose import (
    IdTokenPolicy,
    JwksCache,
    decrypt_nested_jws,
    decrypt_with_private_key,
    decrypt_with_symmetric_jwk,
    jwe_key_id,
    parse_json_object,
    verify_id_token,
    verify_signed_jwt,
)
from singpass_gateway.providers.oidc import ENCRYPTION_ALGORITHMS
from singpass_gateway.providers.sgid import DATA_JWE_ALGORITHMS, KEY_JWE_ALGORITHMS

from tests.unit.fakes import FakeHttp, json_response
from tests.unit.fuzzing import (
    CLIENT_EC_KEY,
    CLIENT_RSA_KEY,
    FUZZ,
    PROVIDER_EC,
    PROVIDER_JWKS,
    PROVIDER_RSA,
    STRANGER_RSA,
    AnsweringHttp,
    deeply_nested,
    dumps,
    ecdh_jwe,
    epk_headers,
    header_members,
    hostile_claim_values,
    json_bodies,
    json_texts,
    mutated,
    non_utf8,
    objects_like,
    oct_jwe,
    only_gateway_errors,
    random_tokens,
    rsa_jwe,
    sign_compact,
    signed_jwts,
    under_hostile_headers,
)
from tests.unit.upstream import NOW, b64url, public_jwk

JWKS_URL = "https://idp.example/jwks"
POLICY = IdTokenPolicy(
    issuer="https://idp.example", client_id="client-1", jwks_url=JWKS_URL, algorithms=("RS256", "PS256", "ES256")
)
NONCE = "n-0S6_WzA2Mj"
ACCESS_TOKEN = "at-1"
AT_HASH = b64url(hashlib.sha256(ACCESS_TOKEN.encode()).digest()[:16])  # OIDC Core 3.1.3.6, for RS/PS/ES256
TOKEN_CODES = {"invalid_token"}
JWKS_CODES = {"invalid_token", "provider_unavailable"}


def valid_claims() -> dict[str, Any]:
    return {
        "iss": POLICY.issuer,
        "aud": "client-1",
        "sub": "u=abc",
        "iat": NOW - 5,
        "exp": NOW + 300,
        "nonce": NONCE,
        "at_hash": AT_HASH,
    }


VALID_RS256 = sign_compact(dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}), dumps(valid_claims()), "RS256")
VALID_ES256 = sign_compact(dumps({"alg": "ES256", "kid": "e1"}), dumps(valid_claims()), "ES256")
VALID_PS256 = sign_compact(dumps({"alg": "PS256"}), dumps(valid_claims()), "PS256")
DONORS = (VALID_RS256, VALID_ES256, VALID_PS256, sign_compact(dumps({"alg": "none"}), b"{}", "RS256"))

claim_values = (
    st.sampled_from([POLICY.issuer, "client-1", ["client-1"], NONCE, AT_HASH, "u=abc"]) | hostile_claim_values
)


def signed_tokens() -> st.SearchStrategy[str]:
    return signed_jwts(valid_claims(), ("RS256", "PS256", "ES256"), claim_values)


jws_inputs = (
    signed_tokens()
    | signed_tokens()
    | st.sampled_from(DONORS).flatmap(lambda token: mutated(token, DONORS))
    | random_tokens(3)
)


def provider_jwks_cache() -> JwksCache:
    http = FakeHttp()
    http.on("GET", JWKS_URL, json_response(PROVIDER_JWKS))
    return JwksCache(http)  # type: ignore[arg-type]


@settings(FUZZ, max_examples=150)
@given(
    token=jws_inputs,
    nonce=st.just(NONCE) | st.text(alphabet="abcdefgh-_0123456789", min_size=1, max_size=43),
    access_token=st.sampled_from([ACCESS_TOKEN, None, "é"]) | st.text(max_size=24),
)
@example(token=VALID_RS256, nonce=NONCE, access_token=ACCESS_TOKEN)
@example(token=VALID_ES256, nonce=NONCE, access_token=ACCESS_TOKEN)
@example(token=sign_compact(dumps({"alg": "RS256", "kid": "k1"}), dumps(valid_claims())), nonce=NONCE, access_token="é")
# Claims with lone surrogates (JSON escapes) raised UnicodeEncodeError in the nonce and at_hash comparisons:
@example(
    token=sign_compact(dumps({"alg": "RS256"}), dumps({**valid_claims(), "nonce": "\ud800"})),
    nonce=NONCE,
    access_token=None,
)
@example(
    token=sign_compact(dumps({"alg": "RS256"}), dumps({**valid_claims(), "at_hash": "\udfff"})),
    nonce=NONCE,
    access_token=ACCESS_TOKEN,
)
def test_id_token_verification_only_ever_fails_as_invalid_token(
    token: str, nonce: str, access_token: str | None
) -> None:
    result = only_gateway_errors(
        lambda: verify_id_token(token, POLICY, provider_jwks_cache(), nonce, NOW, access_token), TOKEN_CODES
    )
    if isinstance(result, dict):
        assert isinstance(result["sub"], str)
        assert result["sub"]


@settings(FUZZ, max_examples=100)
@given(token=jws_inputs)
@example(token="..\ud800")  # a lone surrogate (a JSON escape in a token response) raised UnicodeEncodeError
def test_signed_jwt_verification_only_ever_fails_as_invalid_token(token: str) -> None:
    result = only_gateway_errors(lambda: verify_signed_jwt(token, POLICY, provider_jwks_cache()), TOKEN_CODES)
    assert isinstance(result, dict | Exception)


# -- JWKS parsing and caching --------------------------------------------------------------------------------

jwk_entries = (
    objects_like(public_jwk(PROVIDER_RSA))
    | objects_like(public_jwk(PROVIDER_EC, "e1"))
    | objects_like({"kty": "oct", "k": b64url(b"0" * 32), "kid": "k1"})
    | objects_like({"kty": "OKP", "crv": "Ed25519", "x": b64url(bytes(32)), "kid": "k1"})
    | st.builds(  # odd moduli of random size: loadable RSA keys that are nonsense (tiny, huge, composite)
        lambda n, e: {
            "kty": "RSA",
            "kid": "k1",
            "n": b64url(n.to_bytes((n.bit_length() + 7) // 8, "big")),
            "e": b64url(e.to_bytes((e.bit_length() + 7) // 8, "big")),
        },
        st.integers(2**16, 2**4096).map(lambda n: n | 1),
        st.sampled_from([3, 65537, 2**31 - 1]),
    )
)
jwks_documents = (
    st.lists(jwk_entries, max_size=5).map(lambda keys: {"keys": keys})
    | objects_like(PROVIDER_JWKS)
    | st.lists(jwk_entries, min_size=33, max_size=40).map(lambda keys: {"keys": keys})
)
jwks_answers = st.tuples(
    st.sampled_from([200, 200, 200, 301, 404, 500, 503]),
    jwks_documents.map(dumps) | json_bodies,
)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the tiny moduli drawn above
@settings(FUZZ, max_examples=100)
@given(answer=jwks_answers, token=st.sampled_from(DONORS[:3]) | signed_tokens())
@example(answer=(200, b'{"keys": [{"kty": "RSA", "kid": "k1", "n": "!!"}]}'), token=VALID_RS256)
@example(answer=(200, deeply_nested(5_000, "array").encode()), token=VALID_RS256)  # raised RecursionError
def test_any_jwks_document_is_parsed_or_refused_as_provider_unavailable(answer: tuple[int, bytes], token: str) -> None:
    http = AnsweringHttp()
    http.on("GET", JWKS_URL, HttpResponse(answer[0], {"Content-Type": "application/json"}, answer[1]))
    cache = JwksCache(http)  # type: ignore[arg-type]
    keys = only_gateway_errors(lambda: cache.keys(JWKS_URL), {"provider_unavailable"})
    if isinstance(keys, list):
        assert len(keys) <= 32
    only_gateway_errors(lambda: verify_signed_jwt(token, POLICY, cache), JWKS_CODES)


@settings(FUZZ, max_examples=80)
@given(
    steps=st.lists(
        st.tuples(st.floats(min_value=0, max_value=5000, allow_nan=False), st.booleans(), st.sampled_from(DONORS)),
        max_size=25,
    )
)
def test_the_jwks_is_fetched_at_most_once_per_cooldown_whatever_tokens_arrive(
    steps: list[tuple[float, bool, str]],
) -> None:
    """Forged tokens (unknown kids, bad signatures) and refresh requests never hammer the provider's JWKS."""
    clock = [0.0]
    http = FakeHttp()
    fetched_at: list[float] = []

    def answer(**_: Any) -> Any:
        fetched_at.append(clock[0])
        return json_response({"keys": [public_jwk(STRANGER_RSA), public_jwk(PROVIDER_EC, None)]})

    http.on("GET", JWKS_URL, answer)
    cache = JwksCache(http, max_age_seconds=3600, refetch_cooldown_seconds=10, clock=lambda: clock[0])  # type: ignore[arg-type]
    for advance, refresh, token in steps:
        clock[0] += advance
        if refresh:
            cache.keys(JWKS_URL, refresh=True)
        else:
            only_gateway_errors(lambda token=token: verify_signed_jwt(token, POLICY, cache), TOKEN_CODES)  # type: ignore[misc]
    assert all(later - earlier >= 10 for earlier, later in itertools.pairwise(fetched_at))


# -- JWE: RSA-OAEP through the key interface -----------------------------------------------------------------

plaintexts = st.binary(max_size=64) | json_texts.map(lambda text: text.encode("utf-8", "surrogatepass"))
VALID_RSA_JWES = tuple(
    rsa_jwe(b'{"kty":"oct","k":"' + b64url(b"k" * 32).encode() + b'"}', alg, enc)
    for alg, enc in (("RSA-OAEP", "A128CBC-HS256"), ("RSA-OAEP-256", "A256GCM"), ("RSA-OAEP", "A128GCM"))
)
rsa_jwe_inputs = (
    st.builds(
        rsa_jwe,
        plaintexts,
        st.sampled_from(["RSA-OAEP", "RSA-OAEP-256"]),
        st.sampled_from(["A128GCM", "A256GCM", "A128CBC-HS256", "A256CBC-HS512"]),
    )
    | st.sampled_from(VALID_RSA_JWES).flatmap(lambda token: mutated(token, VALID_RSA_JWES))
    | random_tokens(5)
    | st.builds(
        lambda header, rest: ".".join([b64url(dumps(header)), *rest.split(".", 3)[:4]]),
        header_members,
        st.sampled_from(VALID_RSA_JWES).map(lambda token: token.split(".", 1)[1]),
    )
)


@settings(FUZZ, max_examples=120)
@given(token=rsa_jwe_inputs)
@example(token=".".join([b64url(b'["alg","enc"]'), *VALID_RSA_JWES[0].split(".")[1:]]))
def test_rsa_oaep_decryption_only_ever_fails_as_invalid_token(token: str) -> None:
    result = only_gateway_errors(
        lambda: decrypt_with_private_key(token, CLIENT_RSA_KEY, KEY_JWE_ALGORITHMS), TOKEN_CODES
    )
    assert isinstance(result, bytes | Exception)


# -- JWE: nested JWS in ECDH-ES ------------------------------------------------------------------------------

inner_payloads = (
    st.sampled_from(DONORS)
    | st.sampled_from(DONORS).map(lambda token: f'"{token}"')
    | plaintexts
    | st.text(alphabet="a.", max_size=10)
)
VALID_ECDH_JWES = tuple(ecdh_jwe(VALID_ES256, alg) for alg in ("ECDH-ES+A256KW", "ECDH-ES+A128KW"))
ecdh_inputs = (
    st.builds(
        ecdh_jwe,
        inner_payloads,
        st.sampled_from(["ECDH-ES+A256KW", "ECDH-ES+A192KW", "ECDH-ES+A128KW"]),
        st.sampled_from(["A256GCM", "A128GCM", "A128CBC-HS256"]),
    )
    | st.sampled_from(VALID_ECDH_JWES).flatmap(lambda token: mutated(token, VALID_ECDH_JWES + VALID_RSA_JWES))
    | epk_headers()
    | random_tokens(5)
)


@settings(FUZZ, max_examples=120)
@given(token=ecdh_inputs)
def test_nested_jws_decryption_only_ever_fails_as_invalid_token(token: str) -> None:
    result = only_gateway_errors(lambda: decrypt_nested_jws(token, CLIENT_EC_KEY, ENCRYPTION_ALGORITHMS), TOKEN_CODES)
    if isinstance(result, str):
        assert result.count(".") == 2


@settings(FUZZ, max_examples=80)
@given(token=ecdh_inputs | rsa_jwe_inputs | st.sampled_from(VALID_ECDH_JWES).flatmap(under_hostile_headers))
@example(token=VALID_ECDH_JWES[0])
@example(token=".".join([b64url(deeply_nested(5_000, "array").encode()), *VALID_ECDH_JWES[0].split(".")[1:]]))
# ^ raised RecursionError (MyInfo v4 picks its decryption key by this kid before anything is decrypted)
def test_a_jwe_key_id_is_read_or_the_token_refused_as_invalid(token: str) -> None:
    kid = only_gateway_errors(lambda: jwe_key_id(token), TOKEN_CODES)
    assert kid is None or isinstance(kid, str | Exception)
    if token in VALID_ECDH_JWES:
        assert kid == "enc"


# -- JWE: under a symmetric JWK that an earlier decryption revealed (sgID) -----------------------------------

BLOCK_KEY = OctKey.import_key({"kty": "oct", "k": b64url(b"b" * 32)})
BLOCK_JWK = BLOCK_KEY.as_dict(private=True)
VALID_OCT_JWES = tuple(
    oct_jwe(b"TAN HENG HUAT", BLOCK_KEY, alg, enc)
    for alg, enc in (("dir", "A256GCM"), ("A256KW", "A128GCM"), ("A256GCMKW", "A256CBC-HS512"))
)
symmetric_jwks = (
    objects_like(BLOCK_JWK)
    | st.sampled_from(
        [
            {**BLOCK_JWK, "kty": "RSA"},
            {**BLOCK_JWK, "k": 123},
            {**BLOCK_JWK, "k": "!!"},
            {"kty": "oct"},
            {**BLOCK_JWK, "key_ops": ["sign"]},
            {**BLOCK_JWK, "use": "sig"},
            {**BLOCK_JWK, "alg": 1},
        ]
    )
).filter(lambda value: isinstance(value, dict))
symmetric_inputs = (
    st.sampled_from(VALID_OCT_JWES).flatmap(lambda token: mutated(token, VALID_OCT_JWES + VALID_RSA_JWES))
    | st.builds(lambda plaintext: oct_jwe(plaintext, BLOCK_KEY), plaintexts)
    | random_tokens(5)
)


@settings(FUZZ, max_examples=120)
@given(token=symmetric_inputs, jwk=st.just(BLOCK_JWK) | symmetric_jwks)
@example(token=VALID_OCT_JWES[0], jwk={**BLOCK_JWK, "k": 123})
@example(token=VALID_OCT_JWES[0], jwk={**BLOCK_JWK, "k": ["x"]})
def test_symmetric_jwk_decryption_only_ever_fails_as_invalid_token(token: str, jwk: dict[str, Any]) -> None:
    result = only_gateway_errors(lambda: decrypt_with_symmetric_jwk(token, jwk, DATA_JWE_ALGORITHMS), TOKEN_CODES)
    assert isinstance(result, bytes | Exception)


# -- JSON objects --------------------------------------------------------------------------------------------


@settings(FUZZ, max_examples=150)
@given(data=json_bodies | json_texts | non_utf8)
@example(data=deeply_nested(5_000, "array"))  # raised RecursionError
def test_json_object_parsing_only_ever_fails_as_invalid_token(data: bytes | str) -> None:
    result = only_gateway_errors(lambda: parse_json_object(data, "payload"), TOKEN_CODES)
    assert isinstance(result, dict | Exception)
