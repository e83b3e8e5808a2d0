"""Property-based fuzzing of MyInfo v3 and v4: error answers, access tokens, person responses and documents.

The property: whatever MyInfo (or something in its place) answers (mutations of a valid answer, random JSON,
random bytes, members of the wrong type), a login either completes with a well-formed identity or fails with
a typed GatewayError carrying one of the codes below; nothing else escapes. A login drawn with every answer
valid must succeed (as must the plain tests at the end), so the mutations start from a working login.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import jwt
from hypothesis import example, given, settings
from hypothesis import strategies as st
from joserfc.jwk import ECKey
from singpass_gateway.errors import GatewayError
from singpass_gateway.http import HttpResponse
from singpass_gateway.providers import Callback, Identity, myinfo, myinfo_v3, myinfo_v4
from singpass_gateway.settings import ProviderSettings

from tests.unit.fuzzing import (
    AWKWARD_STRINGS,
    CLIENT_EC_ARN,
    CLIENT_EC_KEY,
    CLIENT_RSA_ARN,
    CLIENT_SECRET_ARN,
    CLIENT_SIGNING_ARN,
    FUZZ,
    PROVIDER_JWKS,
    PROVIDER_RSA,
    AnsweringHttp,
    answers,
    dumps,
    ecdh_jwe,
    fuzz_toolkit,
    header_members,
    hostile_claim_values,
    hostile_jwts,
    json_bodies,
    json_values,
    mostly,
    mutated,
    myinfo_attributes,
    non_utf8,
    objects_like,
    only_gateway_errors,
    persons,
    random_tokens,
    rsa_jwe,
    sign_compact,
    texts,
    under_hostile_headers,
)
from tests.unit.upstream import NOW, b64url, certificate

STATUS_CODES = {
    "token_rejected",
    "request_unauthorized",
    "request_forbidden",
    "no_myinfo_profile",
    "provider_maintenance",
    "provider_unavailable",
}
"""What MyInfo's error statuses map to."""
MYINFO_CODES = STATUS_CODES | {"invalid_token"}
"""What a MyInfo login may fail with: never ``internal_error`` (a bug the flow had to swallow)."""
UINFIN = "S9812381D"
UUID = "6e6f7a2b-1b6d-4f59-9e42-0c6f0d1f3b0a"
SECRET_MESSAGE = f"Signature failed: POST&...&client_secret=s3cret&{UINFIN}"
"""What MyInfo's ``message`` can echo; it must never reach an error's detail (and so a log line)."""
REDIRECT = "https://id.example/auth/myinfo/callback"
CALLBACK = Callback("code-1", {}, "v" * 64, "n", REDIRECT, NOW)
IDENTIFYING_V3 = myinfo_v3.IDENTIFYING_ATTRIBUTES

person_values = myinfo_attributes | hostile_claim_values
"""Values for a person document's members: MyInfo-shaped attributes, or claims of the wrong type."""
error_bodies = objects_like({"code": 401, "message": SECRET_MESSAGE, "fields": ""}).map(dumps) | json_bodies
"""MyInfo's ``{code, message, fields}`` with members broken, and bodies that are not that at all."""
any_status = st.integers(100, 599) | st.sampled_from([200, 400, 401, 403, 404, 500, 502, 503])
refusals = st.builds(HttpResponse, any_status, st.just({}), error_bodies)
"""MyInfo's error answers (mostly), under any status."""


def as_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def assert_identity(identity: Identity) -> None:
    assert isinstance(identity.sub, str)
    assert identity.sub
    json.dumps(identity.person)  # the session stores both as JSON
    json.dumps(identity.provenance)


# -- what MyInfo v3 and v4 share -----------------------------------------------------------------------------


@settings(FUZZ, max_examples=150)
@given(status=any_status, body=error_bodies, step=st.sampled_from(["token", "person"]))
@example(status=401, body=b"[" * 5_000, step="token")  # raised RecursionError reading the error code
def test_any_status_passes_a_200_and_raises_a_stable_code_otherwise(
    status: int, body: bytes, step: myinfo.Step
) -> None:
    result = only_gateway_errors(lambda: myinfo.raise_for_status(HttpResponse(status, {}, body), step), STATUS_CODES)
    assert (result is None) == (status == 200)
    if isinstance(result, GatewayError):
        assert SECRET_MESSAGE not in result.detail
        assert status != 503 or result.code == "provider_maintenance"


subjects = st.sampled_from([UINFIN, UUID, "x" * 65, "x" * 129, "S98/../1"]) | AWKWARD_STRINGS | hostile_claim_values
"""What an access token's ``sub`` can be: the UIN/FIN or a UUID, too long, awkward strings, the wrong type."""
access_token_claims = st.fixed_dictionaries(
    {}, optional={"sub": subjects, "exp": st.just(NOW + 1800) | hostile_claim_values, "iat": hostile_claim_values}
)


@settings(FUZZ, max_examples=150)
@given(claims=access_token_claims, max_length=st.sampled_from([64, 128]))
@example(claims={"sub": "\ud800", "exp": NOW + 1800}, max_length=64)  # raised UnicodeEncodeError in quote()
def test_an_access_token_subject_is_usable_in_the_person_url_or_refused(
    claims: dict[str, Any], max_length: int
) -> None:
    sub = only_gateway_errors(lambda: myinfo.access_token_subject(claims, NOW, max_length), {"invalid_token"})
    if isinstance(sub, str):
        assert sub == claims["sub"]
        assert 0 < len(sub) <= max_length
        quote(sub, safe="")  # how both versions put it in the person URL


@settings(FUZZ, max_examples=100)
@given(body=json_bodies | non_utf8 | random_tokens(5).map(as_bytes))
def test_a_person_body_is_a_compact_jwe_string_or_refused(body: bytes) -> None:
    token = only_gateway_errors(lambda: myinfo.compact_jwe(HttpResponse(200, {}, body)), {"invalid_token"})
    if isinstance(token, str):
        assert token.isascii()


@st.composite
def documents_about(draw: st.DrawFn, identifying: tuple[str, ...]) -> Any:
    """Person documents naming the subject, someone else, both or nobody, by identifying attribute or ``sub``."""
    document = draw(persons)
    for name in (*identifying, "sub"):
        if draw(st.booleans()):
            named = draw(st.sampled_from([UINFIN, UUID, "S0000000A"]) | person_values)
            document[name] = named if name == "sub" else draw(st.just({"value": named}) | st.just(named))
    return draw(mostly(st.just(document), json_values))


@settings(FUZZ, max_examples=100)
@given(
    sub=st.sampled_from([UINFIN, UUID]),
    identifying=st.sampled_from([IDENTIFYING_V3, ("uuid",)]),
    data=st.data(),
)
def test_a_person_document_becomes_the_subjects_identity_or_is_refused(
    sub: str, identifying: tuple[str, ...], data: st.DataObject
) -> None:
    document = data.draw(documents_about(identifying))
    result = only_gateway_errors(lambda: myinfo.identity(sub, document, identifying), {"invalid_token"})
    if isinstance(result, Identity):
        assert_identity(result)
        named = [document.get("sub")] + [
            attribute.get("value") for attribute in map(document.get, identifying) if isinstance(attribute, dict)
        ]
        names = [name for name in named if isinstance(name, str) and name]
        assert not names or sub in names  # data naming only someone else is never accepted


# -- a login with one hostile step ---------------------------------------------------------------------------


class OneHostileStep:
    """Draws every answer of a login valid except the one at a step chosen first, so that each step's checks
    are reached with the steps before it passing; or none, and then the login must succeed."""

    def __init__(self, data: st.DataObject, steps: tuple[str, ...]) -> None:
        self._data = data
        self.hostile = data.draw(st.sampled_from([None, *steps]), label="hostile step")

    def draw(self, step: str, valid: Any, hostile: st.SearchStrategy[Any]) -> Any:
        return self._data.draw(hostile, label=step) if step == self.hostile else valid

    def check(self, login: Callable[[], Identity], sub: str) -> None:
        """The property: the valid login succeeds as ``sub``; any other ends in an identity or a MyInfo code."""
        if self.hostile is None:
            assert login().sub == sub
            return
        result = only_gateway_errors(login, MYINFO_CODES)
        if isinstance(result, Identity):
            assert_identity(result)


def token_answers(access_token: str, token_type: str) -> st.SearchStrategy[HttpResponse]:
    """A token response with members broken, removed or added, not JSON, or not a 200."""
    valid = {"access_token": access_token, "token_type": token_type, "expires_in": 1800}
    bodies = objects_like(valid) | st.just(valid).map(
        lambda body: {**body, "token_type": token_type.lower()}  # compared case-insensitively
    )
    return answers(bodies) | refusals


def ok(body: bytes | str) -> HttpResponse:
    """A 200 answer carrying ``body``."""
    return HttpResponse(200, {"Content-Type": "application/json"}, body if isinstance(body, bytes) else as_bytes(body))


def person_answers(valid_jwe: str) -> st.SearchStrategy[HttpResponse]:
    """A person response that is not the JWE it should be: mutated, under a hostile header, garbage, an error."""
    bodies = (
        mutated(valid_jwe)
        | under_hostile_headers(valid_jwe)
        | random_tokens(5)
        | st.just(valid_jwe).map(lambda jwe: f'"{jwe}"')  # a JSON string, not a compact JWE
    )
    return bodies.map(ok) | st.builds(ok, json_bodies | non_utf8) | refusals


# -- MyInfo v3 -----------------------------------------------------------------------------------------------

V3_API = "https://test.api.myinfo.gov.sg/com/v3"
V3_SANDBOX_API = "https://sandbox.api.myinfo.gov.sg/com/v3"
V3_ATTRIBUTES = ["uinfin", "name", "sex"]
V3_CLAIMS = {"sub": UINFIN, "scope": V3_ATTRIBUTES, "exp": NOW + 1800, "iat": NOW, "aud": "STG-CLIENT"}
V3_PERSON = {
    "uinfin": {"value": UINFIN, "source": "1", "classification": "C", "lastupdated": "2020-02-04"},
    "name": {"value": "TAN HENG HUAT", "source": "1", "classification": "C", "lastupdated": "2020-02-04"},
    "sex": {"code": "M", "desc": "MALE", "source": "1", "classification": "C", "lastupdated": "2020-02-04"},
}
V3_STEPS = ("token response", "access token", "person response", "person plaintext", "person JWS")
V3_SANDBOX_STEPS = ("token response", "access token", "person response")


def rs256(payload: object) -> str:
    """Signed by MyInfo v3's certificate key (the fuzzing module's provider RSA key)."""
    return sign_compact(dumps({"alg": "RS256", "typ": "JWT"}), dumps(payload), "RS256")


V3_CERTIFICATE = certificate(PROVIDER_RSA)
"""MyInfo v3's signing certificate, for the key that signs as MyInfo v3 here."""
V3_TOKEN = rs256(V3_CLAIMS)
V3_PERSON_JWS = rs256(V3_PERSON)


def v3_person_jwe(plaintext: bytes) -> str:
    return rsa_jwe(plaintext, "RSA-OAEP", "A256GCM")


def v3_provider(http: AnsweringHttp, *, sandbox: bool = False) -> myinfo_v3.MyInfoV3Provider:
    options: dict[str, Any] = {
        "environment": "test",
        "client_id": "STG-CLIENT",
        "client_secret_arn": CLIENT_SECRET_ARN,
        "signing_key_arn": CLIENT_RSA_ARN,
        "decryption_key_arn": CLIENT_RSA_ARN,
        "myinfo_certificates": [V3_CERTIFICATE],
        "attributes": V3_ATTRIBUTES,
        "purpose": "fuzzing",
    }
    if sandbox:
        options = {**options, "environment": "sandbox", "myinfo_certificates": None}
    entry = ProviderSettings(id="myinfo-v3", type="myinfo-v3", name="MyInfo", options=options)
    return myinfo_v3.create(entry, fuzz_toolkit(http))  # type: ignore[arg-type]


v3_access_tokens = hostile_jwts(V3_CLAIMS, ("RS256",), AWKWARD_STRINGS | hostile_claim_values) | json_values
v3_signed_persons = hostile_jwts(V3_PERSON, ("RS256",), person_values) | documents_about(IDENTIFYING_V3).map(rs256)
v3_person_plaintexts = (
    st.sampled_from([V3_PERSON_JWS, f'"{V3_PERSON_JWS}', f'"{V3_PERSON_JWS}" x', f'["{V3_PERSON_JWS}"]'])
    | st.builds(lambda jws, dots: jws + dots, st.just(V3_PERSON_JWS), st.text(alphabet=".", min_size=1, max_size=2))
    | random_tokens(3)
).map(as_bytes) | json_bodies


@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_a_myinfo_v3_login_succeeds_or_fails_with_a_myinfo_code(data: st.DataObject) -> None:
    steps = OneHostileStep(data, V3_STEPS)
    access_token = steps.draw("access token", V3_TOKEN, v3_access_tokens)
    signed_person = steps.draw("person JWS", V3_PERSON_JWS, v3_signed_persons)
    plaintext = steps.draw("person plaintext", as_bytes(json.dumps(signed_person)), v3_person_plaintexts)
    person_jwe = v3_person_jwe(plaintext)
    http = AnsweringHttp(steps.draw("person response", ok(person_jwe), person_answers(person_jwe)))
    # the person URL names the subject and the consented attributes, whatever the access token says they are
    valid_token = ok(dumps({"access_token": access_token, "token_type": "Bearer"}))
    http.on("POST", f"{V3_API}/token", steps.draw("token response", valid_token, token_answers(V3_TOKEN, "Bearer")))
    steps.check(lambda: v3_provider(http).complete(CALLBACK), UINFIN)


unsigned_tokens = st.builds(
    lambda header, claims: ".".join([b64url(dumps(header)), b64url(dumps(claims)), ""]),
    st.just({"alg": "none"}) | header_members,
    objects_like(V3_CLAIMS, AWKWARD_STRINGS | hostile_claim_values),
)
"""The sandbox's access tokens are not verified: anything that reads as a JWT gets as far as its claims."""


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_a_myinfo_v3_sandbox_login_succeeds_or_fails_with_a_myinfo_code(data: st.DataObject) -> None:
    steps = OneHostileStep(data, V3_SANDBOX_STEPS)
    access_token = steps.draw("access token", V3_TOKEN, unsigned_tokens | v3_access_tokens)
    documents = objects_like(V3_PERSON, person_values) | documents_about(IDENTIFYING_V3)
    http = AnsweringHttp(steps.draw("person response", ok(dumps(V3_PERSON)), answers(documents) | refusals))
    valid_token = ok(dumps({"access_token": access_token}))
    token = steps.draw("token response", valid_token, token_answers(V3_TOKEN, "Bearer"))
    http.on("POST", f"{V3_SANDBOX_API}/token", token)
    steps.check(lambda: v3_provider(http, sandbox=True).complete(CALLBACK), UINFIN)


# -- MyInfo v4 -----------------------------------------------------------------------------------------------

V4_API = "https://test.api.myinfo.gov.sg/com/v4"
AUTHORISE_JWKS = "https://test.authorise.singpass.gov.sg/.well-known/keys.json"
MYINFO_JWKS = "https://test.myinfo.singpass.gov.sg/.well-known/keys.json"
V4_PERSON = {
    "uinfin": {"value": UINFIN, "source": "1", "classification": "C", "lastupdated": "2024-01-01"},
    "uuid": {"value": UUID},
    "name": {"value": "TAN HENG HUAT", "source": "1", "classification": "C", "lastupdated": "2024-01-01"},
}
V4_STEPS = (
    "token response",
    "access token",
    "authorise JWKS",
    "person response",
    "person JWE",
    "person JWS",
    "MyInfo JWKS",
)
ENCRYPTION_KID = CLIENT_EC_KEY.key_id


def es256(payload: object) -> str:
    """Signed by the key that MyInfo v4's JWKS (both of them, here) publishes as ``e1``."""
    return sign_compact(dumps({"alg": "ES256", "kid": "e1"}), dumps(payload), "ES256")


V4_PERSON_JWS = es256(V4_PERSON)


def v4_person_jwe(plaintext: bytes | str, kid: str = ENCRYPTION_KID) -> str:
    return ecdh_jwe(plaintext, kid=kid)


def v4_provider(http: AnsweringHttp) -> myinfo_v4.MyInfoV4Provider:
    options = {
        "environment": "test",
        "client_id": "STG2-CLIENT",
        "signing_key_arn": CLIENT_SIGNING_ARN,
        "decryption_key_arns": [CLIENT_EC_ARN],
        "scopes": ["uinfin", "uuid", "name"],
        "purpose_id": "fuzzing",
    }
    entry = ProviderSettings(id="myinfo-v4", type="myinfo-v4", name="MyInfo v4", options=options)
    return myinfo_v4.create(entry, fuzz_toolkit(http))  # type: ignore[arg-type]


def v4_claims(thumbprint: str) -> dict[str, Any]:
    return {"sub": UUID, "exp": NOW + 1800, "iat": NOW, "cnf": {"jkt": thumbprint}, "scope": "uinfin uuid name"}


def v4_access_tokens(thumbprint: str) -> st.SearchStrategy[Any]:
    """Access tokens for the DPoP key with ``thumbprint``: bound to another key, not bound, or broken."""
    bindings = objects_like({"jkt": thumbprint}) | st.just({"jkt": "another key"}) | hostile_claim_values
    return hostile_jwts(v4_claims(thumbprint), ("ES256",), AWKWARD_STRINGS | bindings) | json_values


def dpop_thumbprint(proof: str) -> str:
    """The thumbprint of the key in a DPoP proof's header, as MyInfo binds the access token to it."""
    return ECKey.import_key(jwt.get_unverified_header(proof)["jwk"]).thumbprint()


v4_jwks_answers = answers(objects_like(PROVIDER_JWKS)) | refusals
v4_signed_persons = hostile_jwts(V4_PERSON, ("ES256",), person_values) | documents_about(("uuid",)).map(es256)
v4_person_jwes = (
    st.builds(v4_person_jwe, json_bodies | st.just(V4_PERSON_JWS).map(json.dumps) | random_tokens(3))
    | st.builds(v4_person_jwe, st.just(V4_PERSON_JWS), kid=texts)  # encrypted to a key named otherwise
    | st.builds(  # key wrapping or content encryption other than MyInfo's
        ecdh_jwe,
        st.just(V4_PERSON_JWS),
        st.sampled_from(["ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A256KW"]),
        st.sampled_from(["A128GCM", "A128CBC-HS256"]),
        kid=st.just(ENCRYPTION_KID),
    )
)


@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_a_myinfo_v4_login_succeeds_or_fails_with_a_myinfo_code(data: st.DataObject) -> None:
    steps = OneHostileStep(data, V4_STEPS)
    signed_person = steps.draw("person JWS", V4_PERSON_JWS, v4_signed_persons)
    person_jwe = steps.draw("person JWE", v4_person_jwe(signed_person), v4_person_jwes)
    http = AnsweringHttp(steps.draw("person response", ok(person_jwe), person_answers(person_jwe)))
    jwks = ok(dumps(PROVIDER_JWKS))
    http.on("GET", AUTHORISE_JWKS, steps.draw("authorise JWKS", jwks, v4_jwks_answers))
    http.on("GET", MYINFO_JWKS, steps.draw("MyInfo JWKS", jwks, v4_jwks_answers))

    def token(headers: dict[str, str], **_: Any) -> HttpResponse:
        """The token binds the login's DPoP key, which complete() makes: drawn once the key's proof arrives."""
        thumbprint = dpop_thumbprint(headers["DPoP"])
        access_token = steps.draw("access token", es256(v4_claims(thumbprint)), v4_access_tokens(thumbprint))
        valid = ok(dumps({"access_token": access_token, "token_type": "DPoP"}))
        return steps.draw("token response", valid, token_answers(access_token, "DPoP"))  # type: ignore[no-any-return]

    http.on("POST", f"{V4_API}/token", token)
    steps.check(lambda: v4_provider(http).complete(CALLBACK), UUID)


# -- the harness's valid answers log in ----------------------------------------------------------------------


def test_the_valid_myinfo_v3_answers_log_in() -> None:
    http = AnsweringHttp(ok(v3_person_jwe(as_bytes(json.dumps(V3_PERSON_JWS)))))
    http.on("POST", f"{V3_API}/token", ok(dumps({"access_token": V3_TOKEN, "token_type": "Bearer"})))
    identity = v3_provider(http).complete(CALLBACK)
    assert (identity.sub, identity.person["name"]) == (UINFIN, "TAN HENG HUAT")
    assert http.requests[-1]["url"].startswith(f"{V3_API}/person/{UINFIN}?")


def test_the_valid_myinfo_v3_sandbox_answers_log_in() -> None:
    http = AnsweringHttp(ok(dumps(V3_PERSON)))
    http.on("POST", f"{V3_SANDBOX_API}/token", ok(dumps({"access_token": V3_TOKEN})))
    identity = v3_provider(http, sandbox=True).complete(CALLBACK)
    assert (identity.sub, identity.person["sex"]) == (UINFIN, "MALE")


def test_the_valid_myinfo_v4_answers_log_in() -> None:
    http = AnsweringHttp(ok(v4_person_jwe(V4_PERSON_JWS)))
    http.on("GET", AUTHORISE_JWKS, ok(dumps(PROVIDER_JWKS)))
    http.on("GET", MYINFO_JWKS, ok(dumps(PROVIDER_JWKS)))
    http.on(
        "POST",
        f"{V4_API}/token",
        lambda headers, **_: ok(
            dumps({"access_token": es256(v4_claims(dpop_thumbprint(headers["DPoP"]))), "token_type": "DPoP"})
        ),
    )
    identity = v4_provider(http).complete(CALLBACK)
    assert (identity.sub, identity.person["uinfin"]) == (UUID, UINFIN)
    assert any(request["url"].startswith(f"{V4_API}/person/{UUID}?") for request in http.requests)
