"""Shared pieces of the property-based fuzz tests: keys, hypothesis settings, and strategies for hostile input.

Strategies draw both random input and mutations of valid tokens (flipped bits, truncation, extra, missing or
swapped segments, swapped headers, non-UTF-8 and huge values, wrong JSON types, base64 garbage, and unexpected
``alg``/``enc``/``zip``/``crit``/``jku``/``x5u``/``jwk``/``epk`` header members). The one property every fuzz test
checks is :func:`only_gateway_errors`: whatever comes in, the only exception that escapes is a typed
GatewayError with one of the expected stable codes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from joserfc import jwe
from joserfc.jwk import ECKey, OctKey, RSAKey
from singpass_gateway.errors import GatewayError
from singpass_gateway.http import HttpResponse
from singpass_gateway.keys.pem import PemKey
from singpass_gateway.observability import UpstreamCall

from tests.unit.fakes import FakeHttp, FakeSecrets, FakeToolkit, pem
from tests.unit.upstream import KEYS, NOW, b64url, public_jwk

T = TypeVar("T")

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
"""Deterministic (derandomized, no example database written into the repo), no deadline: CI cannot flake."""

# -- keys: the hostile-provider harness's, made once per test session ----------------------------------------

PROVIDER_RSA = KEYS.provider_rsa
"""The provider's RSA signing key, published in the JWKS as ``k1``."""
PROVIDER_EC = ec.generate_private_key(ec.SECP256R1())
"""The provider's P-256 signing key, published in the JWKS as ``e1``."""
STRANGER_RSA = KEYS.foreign_rsa
"""A valid-looking key outside the provider's JWKS."""
CLIENT_RSA = KEYS.client_rsa
"""The gateway's RSA decryption key (sgID, MyInfo v3)."""
CLIENT_EC = KEYS.client_ec_decryption
"""The gateway's P-256 decryption key (ECDH-ES: Singpass FAPI, MyInfo v4)."""
CLIENT_SIGNING_EC = KEYS.client_ec_signing
"""The gateway's P-256 key for ``private_key_jwt`` assertions (Singpass FAPI, MyInfo v4)."""
CLIENT_RSA_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:client-rsa"
CLIENT_EC_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:client-ec"
CLIENT_SIGNING_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:client-signing"
CLIENT_SECRET_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:client-secret"
SECRETS = {
    CLIENT_RSA_ARN: pem(CLIENT_RSA),
    CLIENT_EC_ARN: pem(CLIENT_EC),
    CLIENT_SIGNING_ARN: pem(CLIENT_SIGNING_EC),
    CLIENT_SECRET_ARN: "s3cret",
}
"""Secrets Manager's contents: the client keys' PEMs (so the real PEM key backend decrypts and signs) and the
client secret."""
CLIENT_RSA_KEY = PemKey(CLIENT_RSA_ARN, FakeSecrets(SECRETS))  # type: ignore[arg-type]
CLIENT_EC_KEY = PemKey(CLIENT_EC_ARN, FakeSecrets(SECRETS))  # type: ignore[arg-type]
PROVIDER_JWKS = {"keys": [public_jwk(PROVIDER_RSA, "k1"), public_jwk(PROVIDER_EC, "e1")]}


def fuzz_toolkit(http: FakeHttp) -> FakeToolkit:
    """The providers' toolkit over a fake upstream, with the real PEM key backend for the client's keys."""
    return FakeToolkit(http, SECRETS)


# -- the property --------------------------------------------------------------------------------------------


def only_gateway_errors(call: Callable[[], T], codes: Collection[str]) -> T | GatewayError:
    """``call()``'s result, or the GatewayError it raised, which must carry one of ``codes``; any other
    exception propagates and fails the property."""
    try:
        result = call()
    except GatewayError as error:
        caught = error
    else:
        event("accepted")
        return result
    event(f"{caught.code}: {caught.detail[:48]}")  # what was reached (pytest --hypothesis-show-statistics)
    assert caught.code in codes, f"{type(caught).__name__} with code {caught.code!r}: {caught.detail}"
    return caught


class AnsweringHttp(FakeHttp):
    """A FakeHttp that answers unrouted requests with ``fallback`` (fuzzed discovery names arbitrary URLs)."""

    def __init__(self, fallback: HttpResponse | None = None) -> None:
        super().__init__()
        self.fallback = fallback or HttpResponse(404, {}, b"")

    def _answer(self, method: str, url: str, call: UpstreamCall, **request: Any) -> HttpResponse:
        if (method, url) not in self.routes:
            self.requests.append({"method": method, "url": url, "call": call, **request})
            return self.fallback
        return super()._answer(method, url, call, **request)


# -- encodings -----------------------------------------------------------------------------------------------


def unb64(segment: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except ValueError:
        return None


def sign_compact(header: bytes, payload: bytes, alg: str = "RS256") -> str:
    """A compact JWS over arbitrary header and payload bytes, really signed with the provider's key for ``alg``
    (so hostile content reaches the checks after the signature)."""
    key = PROVIDER_EC if alg.startswith("ES") else PROVIDER_RSA
    signing_input = f"{b64url(header)}.{b64url(payload)}"
    signature = jwt.algorithms.get_default_algorithms()[alg].sign(signing_input.encode(), key)
    return f"{signing_input}.{b64url(signature)}"


def dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# -- JSON values ---------------------------------------------------------------------------------------------

AWKWARD_STRINGS = st.sampled_from(
    ["", " ", "NA", "null", "\x00", "\ud800", "\udfff", "é", "日本", "\u202e", "a" * 300, "https://[", "..", "'"]
)
"""Strings that break naive code: empty, NUL, lone surrogates (valid in JSON as escapes), non-ASCII, long."""
texts = st.text(max_size=24) | AWKWARD_STRINGS
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)


def deeply_nested(depth: int, kind: str) -> str:
    """JSON nested past Python's recursion limit (the parser raises RecursionError, not ValueError)."""
    if kind == "array":
        return "[" * depth + "]" * depth
    if kind == "object":
        return '{"a":' * depth + "1" + "}" * depth
    return "[" * depth  # unbalanced


deep_json = st.builds(deeply_nested, st.integers(2_000, 5_000), st.sampled_from(["array", "object", "open"]))
non_utf8 = st.binary(min_size=1, max_size=40).map(lambda data: b"\xff" + data + b"\xc3")
json_texts = (
    json_values.map(lambda value: json.dumps(value))
    | deep_json
    | st.text(max_size=40)
    | st.sampled_from(['{"a":1,"a":2}', "{'a': 1}", "[]", '""', "NaN", "-Infinity", "1e999", "{", '{"a":1}x'])
)
"""JSON documents, almost-JSON and not-JSON, as text."""
json_bodies = json_texts.map(lambda text: text.encode("utf-8", "surrogatepass")) | non_utf8 | st.binary(max_size=64)
"""HTTP bodies: the above as bytes, plus non-UTF-8 and random bytes."""


def objects_like(valid: Mapping[str, Any], values: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[Any]:
    """``valid`` with members overridden by wrong types, removed or added; sometimes not an object at all."""
    values = values if values is not None else json_values
    names = st.sampled_from(sorted(valid)) | texts if valid else texts

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        obj = dict(valid)
        for name in draw(st.lists(names, max_size=4)):
            if draw(st.booleans()) and name in obj:
                del obj[name]
            else:
                obj[name] = draw(values)
        return obj

    return mostly(build(), json_values)


def mostly(usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` four times in five (and what failures shrink towards), else ``other``: hostile input at one
    step of a flow while the steps before it mostly pass, so that every step is reached."""
    return st.integers(0, 4).flatmap(lambda n: other if n == 4 else usual)


# -- MyInfo person data --------------------------------------------------------------------------------------

myinfo_leaves = (
    st.fixed_dictionaries(
        {"value": json_scalars},
        optional={
            "classification": st.just("C"),
            "source": st.just("1"),
            "unavailable": st.booleans() | json_scalars,
            "lastupdated": texts,
        },
    )
    | st.fixed_dictionaries({}, optional={"code": json_scalars, "desc": json_scalars})
    | st.fixed_dictionaries(
        {"nbr": st.just({"value": "97399245"}) | json_scalars},
        optional={
            "prefix": st.just({"value": "+"}) | json_scalars,
            "areacode": st.just({"value": "65"}) | json_scalars,
        },
    )
    | json_scalars
)
myinfo_attributes = st.recursive(
    myinfo_leaves,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(texts, children, max_size=3)
        | st.fixed_dictionaries({"value": children})
        | st.fixed_dictionaries({"nbr": children, "prefix": children})
    ),
    max_leaves=10,
)
persons = st.dictionaries(
    st.sampled_from(["name", "mobileno", "regadd", "vehicles"]) | texts, myinfo_attributes, max_size=5
)
"""MyInfo person objects: attributes with values, codes, phone numbers, metadata, nesting, and garbage."""


# -- JOSE header members -------------------------------------------------------------------------------------

# fmt: off
ALGS = [
    "none", "None", "HS256", "RS256", "RS512", "PS256", "ES256", "ES384", "ES512", "EdDSA", "RSA1_5", "RSA-OAEP",
    "RSA-OAEP-256", "RSA-OAEP-512", "dir", "A128KW", "A256KW", "A128GCMKW", "A256GCMKW", "ECDH-ES", "ECDH-ES+A128KW",
    "ECDH-ES+A256KW", "ECDH-1PU+A128KW", "PBES2-HS256+A128KW", "",
]
ENCS = ["A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A256CBC-HS512", "A512GCM", "DEF", ""]
HEADER_NAMES = [
    "alg", "enc", "zip", "crit", "jku", "x5u", "jwk", "x5c", "x5t", "kid", "typ", "cty", "epk", "apu", "apv", "iv",
    "tag", "p2s", "p2c", "b64", "iss", "sub", "aud", "exp",
]
# fmt: on
header_values = (
    st.sampled_from(ALGS + ENCS + ["JWT", "dpop+jwt", "https://evil.example/jwks.json", "k1", "e1"])
    | st.lists(st.sampled_from(HEADER_NAMES) | texts, max_size=3)  # crit
    | st.just(public_jwk(STRANGER_RSA))  # an embedded jwk that must never be trusted
    | st.integers(min_value=-(2**64), max_value=2**64)
    | json_values
)
header_members = st.dictionaries(st.sampled_from(HEADER_NAMES) | texts, header_values, max_size=4)


def _segment_garbage() -> st.SearchStrategy[str]:
    return (
        st.binary(max_size=80).map(b64url)
        | st.text(alphabet="ABCDEFabcdef0123456789-_+/=. \n%", max_size=60)
        | texts
        | non_utf8.map(b64url)
        | json_texts.map(lambda text: b64url(text.encode("utf-8", "surrogatepass")))
    )


MUTATIONS = [
    *("bitflip", "garbage", "header", "json", "donor") * 2,  # keep the token's shape: reach the deeper checks
    *("char", "truncate", "drop", "extra", "duplicate", "swap", "empty", "huge"),
]


@st.composite
def mutated(draw: st.DrawFn, token: str, donors: tuple[str, ...] = ()) -> str:
    """``token`` after one or two random mutations."""
    for _ in range(draw(st.integers(1, 2))):
        parts = token.split(".")
        index = draw(st.integers(0, len(parts) - 1))
        kind = draw(st.sampled_from(MUTATIONS))
        if kind == "bitflip":  # a flipped bit in the decoded bytes: ciphertext, tag, key, signature, JSON
            data = unb64(parts[index])
            if data:
                position = draw(st.integers(0, len(data) - 1))
                flipped = bytearray(data)
                flipped[position] ^= 1 << draw(st.integers(0, 7))
                parts[index] = b64url(bytes(flipped))
        elif kind == "char" and token:
            position = draw(st.integers(0, len(token) - 1))
            token = token[:position] + draw(st.characters() | AWKWARD_STRINGS) + token[position + 1 :]
            continue
        elif kind == "truncate":
            token = token[: draw(st.integers(0, max(0, len(token) - 1)))]
            continue
        elif kind == "drop" and len(parts) > 1:
            del parts[index]
        elif kind == "extra":
            parts.insert(draw(st.integers(0, len(parts))), draw(_segment_garbage()))
        elif kind == "duplicate":
            parts.insert(index, parts[index])
        elif kind == "swap":
            other = draw(st.integers(0, len(parts) - 1))
            parts[index], parts[other] = parts[other], parts[index]
        elif kind == "empty":
            parts[index] = ""
        elif kind == "garbage":
            parts[index] = draw(_segment_garbage())
        elif kind == "header":  # unexpected or wrongly typed header members, in a still-readable header
            decoded = unb64(parts[0])
            try:
                header = json.loads(decoded or b"")
            except (ValueError, RecursionError):
                header = {}
            header = header if isinstance(header, dict) else {}
            header.update(draw(header_members))
            parts[0] = b64url(dumps(header))
        elif kind == "json":  # a header or payload that is not a JSON object, or not JSON at all
            parts[index] = draw(json_bodies.map(b64url))
        elif kind == "huge":
            parts[index] = "A" * draw(st.sampled_from([16 * 1024, 64 * 1024 + 1]))
        elif kind == "donor" and donors:  # swapped headers: another token's header on this one's body
            parts[0] = draw(st.sampled_from(donors)).split(".")[0]
        token = ".".join(parts)
    return token


def random_tokens(segments: int) -> st.SearchStrategy[str]:
    """Compact serialisations made of garbage: the right number of segments, or not."""
    return (
        st.lists(_segment_garbage(), min_size=segments, max_size=segments).map(".".join)
        | st.lists(_segment_garbage(), max_size=segments + 2).map(".".join)
        | texts
        | st.binary(max_size=60).map(lambda data: data.decode("latin-1"))
    )


def under_hostile_headers(token: str) -> st.SearchStrategy[str]:
    """``token``'s other segments under a protected header with unexpected members, or one that is not a JSON
    object at all (random bytes, nested past the parser's limit)."""
    rest = token.split(".", 1)[1]
    headers = header_members.map(dumps) | json_bodies | deep_json.map(str.encode)
    return headers.map(lambda header: f"{b64url(header)}.{rest}")


# -- valid tokens to mutate ----------------------------------------------------------------------------------


def rsa_jwe(plaintext: bytes, alg: str = "RSA-OAEP", enc: str = "A128CBC-HS256") -> str:
    recipient = RSAKey.import_key(CLIENT_RSA.public_key())
    return jwe.encrypt_compact({"alg": alg, "enc": enc}, plaintext, recipient, algorithms=[alg, enc])


def ecdh_jwe(plaintext: bytes | str, alg: str = "ECDH-ES+A256KW", enc: str = "A256GCM", kid: str = "enc") -> str:
    recipient = ECKey.import_key(CLIENT_EC.public_key())
    header = {"alg": alg, "enc": enc, "cty": "JWT", "kid": kid}
    return jwe.encrypt_compact(header, _bytes(plaintext), recipient, algorithms=[alg, enc])


def oct_jwe(plaintext: bytes | str, key: OctKey, alg: str = "dir", enc: str = "A256GCM") -> str:
    return jwe.encrypt_compact({"alg": alg, "enc": enc}, _bytes(plaintext), key, algorithms=[alg, enc])


def _bytes(plaintext: bytes | str) -> bytes:
    return plaintext.encode("utf-8", "surrogatepass") if isinstance(plaintext, str) else plaintext


@st.composite
def epk_headers(draw: st.DrawFn) -> str:
    """ECDH-ES JWEs whose ephemeral key is hostile: another curve, off the curve, OKP, wrong types, missing."""
    valid = ECKey.import_key(ec.generate_private_key(ec.SECP256R1()).public_key()).as_dict()
    p384 = ECKey.import_key(ec.generate_private_key(ec.SECP384R1()).public_key()).as_dict()
    off_curve = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(draw(st.binary(min_size=32, max_size=32))),
        "y": b64url(draw(st.binary(min_size=32, max_size=32))),
    }
    okp = {"kty": "OKP", "crv": draw(st.sampled_from(["X25519", "X448", "Ed25519"])), "x": b64url(bytes(32))}
    epk = draw(
        st.sampled_from([valid, p384, off_curve, okp, {**valid, "d": b64url(bytes(32))}, {**valid, "kty": "RSA"}])
        | objects_like(valid)
    )
    header = {
        "alg": draw(st.sampled_from(["ECDH-ES+A256KW", "ECDH-ES+A128KW", "ECDH-ES"])),
        "enc": draw(st.sampled_from(["A256GCM", "A128CBC-HS256"])),
        "epk": epk,
    }
    rest = [b64url(draw(st.binary(min_size=0, max_size=48))) for _ in range(4)]
    return ".".join([b64url(dumps(header)), *rest])


# -- signed tokens with hostile headers and claims -----------------------------------------------------------

CLAIM_NAMES = ["iss", "aud", "azp", "sub", "exp", "iat", "nbf", "nonce", "at_hash", "acr", "amr", "jti"]
BENIGN_HEADER_NAMES = ["jku", "x5u", "jwk", "x5c", "typ", "cty", "iss", "sub", "aud", "x-unknown"]
hostile_claim_values: st.SearchStrategy[Any] = (
    st.sampled_from([NOW, NOW - 5, NOW + 300, 2**64, -1, 1e300, "1800000000", True, None, [], {}, ["a", "b"]])
    | json_values
)


def signed_jwts(
    claims: Mapping[str, Any],
    algs: tuple[str, ...],
    values: st.SearchStrategy[Any] = hostile_claim_values,
    header: Mapping[str, Any] | None = None,
) -> st.SearchStrategy[str]:
    """Tokens really signed by a provider JWKS key (``k1`` RSA, ``e1`` P-256), so that hostile content reaches
    the checks after the signature: mostly a readable header (``alg``, ``kid`` and any members of ``header``, such
    as an access token's ``typ``) and ``claims`` with a few members wrong, removed or replaced by ``values``;
    sometimes a hostile header, or a payload that is not a claims object at all."""
    base = dict(header or {})

    @st.composite
    def build(draw: st.DrawFn) -> str:
        alg = draw(st.sampled_from(algs))
        header: dict[str, Any] = {"alg": alg, "kid": "e1" if alg.startswith("ES") else "k1", **base}
        mode = draw(st.integers(0, 9))
        if mode < 6:  # members that must be ignored: keys and key URLs in a header are never trusted
            header.update(draw(st.dictionaries(st.sampled_from(BENIGN_HEADER_NAMES), header_values, max_size=2)))
        elif mode < 9:
            header.update(draw(header_members))
        header_bytes = dumps(header) if mode < 9 else draw(json_bodies)
        payload = dict(claims)
        for name in draw(st.lists(st.sampled_from(sorted({*CLAIM_NAMES, *claims})), max_size=3)):
            if draw(st.booleans()):
                payload.pop(name, None)
            else:
                payload[name] = draw(values)
        payload_bytes = dumps(payload) if draw(st.integers(0, 9)) < 8 else draw(json_bodies | deep_json.map(str.encode))
        return sign_compact(header_bytes, payload_bytes, alg)

    return build()


def hostile_jwts(
    claims: Mapping[str, Any],
    algs: tuple[str, ...],
    values: st.SearchStrategy[Any] = hostile_claim_values,
    header: Mapping[str, Any] | None = None,
) -> st.SearchStrategy[str]:
    """Signed tokens as above, mutations of a valid one, and garbage."""
    valid_header = {"alg": algs[0], "kid": "e1" if algs[0].startswith("ES") else "k1", **(header or {})}
    valid = sign_compact(dumps(valid_header), dumps(claims), algs[0])
    signed = signed_jwts(claims, algs, values, header)
    return signed | signed | mutated(valid) | random_tokens(3)


# -- HTTP answers --------------------------------------------------------------------------------------------

statuses = st.integers(0, 9).flatmap(
    lambda n: st.just(200) if n < 7 else st.sampled_from([201, 302, 400, 401, 403, 404, 429, 500, 502, 503])
)
"""Mostly 200, so that what follows an answer is reached too."""


def answers(valid: st.SearchStrategy[Any], content_type: str = "application/json") -> st.SearchStrategy[HttpResponse]:
    """A provider's answer: mostly ``valid``-shaped JSON (possibly with members broken) under a random status,
    sometimes a body that is not JSON at all, with random headers."""
    headers = st.fixed_dictionaries(
        {"Content-Type": mostly(st.just(content_type), st.sampled_from(["application/jwt", "text/html", ""]))},
        optional={"WWW-Authenticate": texts | st.just('DPoP error="use_dpop_nonce"'), "DPoP-Nonce": nonces},
    )
    bodies = mostly(valid.map(dumps), json_bodies)
    return st.builds(HttpResponse, statuses, headers, bodies)


nonces = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=24) | st.sampled_from(["", "n-1"])
"""DPoP nonces as an HTTP header can carry them (latin-1)."""

url_values = (
    st.sampled_from(
        [
            "https://[",
            "http://[::1",
            "https://op.example:99999/x",
            "https://op.example/x?y=1",
            "https://op.example/#f",
            "ftp://op.example",
            "",
            "/relative",
            "http://evil.example/x",
            "http://localhost/x",
            "https://\u0000x",
            "https://op.example/\ud800",
            "https://op.example/ok",
        ]
    )
    | texts
    | json_values
)
"""Values for URL members of a discovery document, most of them unusable."""
