"""Property-based fuzzing of what providers answer and what browsers send: token responses, userinfo bodies,
discovery documents, JWKS and DPoP nonces (sgID, OIDC, Singpass FAPI over a fake upstream), MyInfo person data,
a login's start with any return_to and session cookie, and the callback handler with random query strings,
cookies and headers.

The properties: a provider call either succeeds or raises a GatewayError with a stable login code, and the
callback handler always answers a clean response (a 302 to the frontend, with ``?error=<code>`` when the login
failed, or the documented 404 for an unknown provider): never a 500, never an ``internal_error``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from joserfc.jwk import OctKey
from singpass_gateway.errors import GatewayError, UnknownProvider
from singpass_gateway.flows import Gateway, LoginFailed
from singpass_gateway.http import HttpResponse
from singpass_gateway.person import normalise
from singpass_gateway.providers import AuthorizationRequest, Callback, Identity, Refreshed
from singpass_gateway.providers import oidc as oidc_module
from singpass_gateway.providers import sgid as sgid_module
from singpass_gateway.providers import singpass as singpass_module
from singpass_gateway.providers.oidc import OidcProvider
from singpass_gateway.providers.sgid import SgidProvider, parse_value
from singpass_gateway.settings import ProviderSettings, load_settings
from singpass_gateway.store import Session
from singpass_gateway.web import LOGIN_COOKIE, SESSION_COOKIE

from tests.unit.fakes import MemoryStore, load_handler
from tests.unit.fuzzing import (
    CLIENT_EC_ARN,
    CLIENT_RSA_ARN,
    CLIENT_SECRET_ARN,
    CLIENT_SIGNING_ARN,
    FUZZ,
    PROVIDER_JWKS,
    AnsweringHttp,
    answers,
    deep_json,
    dumps,
    ecdh_jwe,
    fuzz_toolkit,
    hostile_jwts,
    json_bodies,
    json_texts,
    json_values,
    mostly,
    mutated,
    non_utf8,
    nonces,
    objects_like,
    oct_jwe,
    only_gateway_errors,
    persons,
    rsa_jwe,
    sign_compact,
    texts,
    url_values,
)
from tests.unit.upstream import NOW, b64url

LOGIN_CODES = {"invalid_token", "provider_unavailable", "token_rejected", "invalid_callback"}
"""What a provider's ``complete`` may fail with: never ``internal_error`` (a bug the flow had to swallow)."""
REDIRECT = "https://id.example/auth/x/callback"

jwks_answers = st.just(HttpResponse(200, {}, dumps(PROVIDER_JWKS))) | answers(st.just(PROVIDER_JWKS))
"""Mostly the provider's real JWKS, so that the token checks behind it are reached."""

access_tokens = st.sampled_from(["é", "\ud800", "a\nb", "at 1", ""]) | texts
"""Access tokens a broken provider may hand out (RFC 6749 allows printable ASCII only)."""


def id_token(claims: dict[str, Any], alg: str = "RS256") -> str:
    return sign_compact(dumps({"alg": alg, "kid": "e1" if alg == "ES256" else "k1"}), dumps(claims), alg)


def id_tokens(claims: dict[str, Any], alg: str = "RS256") -> st.SearchStrategy[Any]:
    """The valid ID token for ``claims`` (often, so that userinfo is reached), hostile ones, and non-strings."""
    valid = id_token(claims, alg)
    return mostly(st.just(valid), hostile_jwts(claims, (alg,)) | json_values)


def assert_identity(identity: Identity) -> None:
    assert isinstance(identity.sub, str)
    assert identity.sub
    json.dumps(identity.person)  # the session stores it as JSON
    json.dumps(identity.authentication)


def answering(http: AnsweringHttp, routes: dict[tuple[str, str], HttpResponse]) -> AnsweringHttp:
    """``http`` answering each of ``routes`` with its response from now on."""
    http.routes.update({route: (lambda answer=answer, **_: answer) for route, answer in routes.items()})
    return http


def routed(routes: dict[tuple[str, str], HttpResponse], fallback: HttpResponse | None = None) -> AnsweringHttp:
    return answering(AnsweringHttp(fallback), routes)


# -- sgID ----------------------------------------------------------------------------------------------------

SGID_ISSUER = "https://sgid.example/v2"
SGID_NONCE = "nonce-sgid"
SGID_ENTRY = ProviderSettings(
    id="sgid",
    type="sgid",
    name="sgID",
    options={
        "issuer": SGID_ISSUER,
        "client_id": "client-1",
        "client_secret_arn": CLIENT_SECRET_ARN,
        "decryption_key_arn": CLIENT_RSA_ARN,
        "scopes": ["openid", "myinfo.name"],
    },
)


def sgid_claims(nonce: str) -> dict[str, Any]:
    return {"iss": SGID_ISSUER, "aud": "client-1", "sub": "u=1", "iat": NOW, "exp": NOW + 600, "nonce": nonce}


field_plaintexts = (
    st.sampled_from([b"TAN HENG HUAT", b"NA", b'[{"vehicle_number":"SBA1"}]', b"{'a': 1}", b"", b"[", b"{"])
    | deep_json.map(str.encode)
    | non_utf8
    | json_texts.map(lambda text: text.encode("utf-8", "surrogatepass"))
)
"""sgID data fields once decrypted: strings, JSON-encoded lists and objects, and what a broken provider sends."""


@st.composite
def sgid_userinfo(draw: st.DrawFn) -> Any:
    """``{sub, key, data}``: a block key encrypted to the client's RSA key, fields encrypted under it; each part
    valid, broken, or replaced."""
    block = OctKey.import_key({"kty": "oct", "k": b64url(draw(st.binary(min_size=32, max_size=32)))})
    block_json = dumps(block.as_dict(private=True))
    key_plaintext = draw(
        mostly(
            st.just(block_json),
            st.just(block_json.replace(b'"', b"'"))  # the official SDK's single quotes
            | objects_like(block.as_dict(private=True)).map(dumps)
            | json_bodies,
        )
    )
    key = rsa_jwe(key_plaintext, draw(st.sampled_from(["RSA-OAEP", "RSA-OAEP-256"])))
    fields = draw(
        st.dictionaries(st.sampled_from(["myinfo.name", "myinfo.email", "x"]) | texts, field_plaintexts, max_size=3)
    )
    data: Any = {name: oct_jwe(plaintext, block) for name, plaintext in fields.items()}
    data = draw(mostly(st.just(data), objects_like(data, st.builds(lambda p: oct_jwe(p, block), field_plaintexts))))
    body = {"sub": "u=1", "key": draw(mostly(st.just(key), mutated(key) | json_values)), "data": data}
    return draw(mostly(st.just(body), objects_like(body)))


def sgid_routes(nonce: str) -> st.SearchStrategy[dict[tuple[str, str], HttpResponse]]:
    tokens = st.fixed_dictionaries(
        {"access_token": mostly(st.just("at-1"), access_tokens), "id_token": id_tokens(sgid_claims(nonce))},
        optional={"token_type": mostly(st.sampled_from(["Bearer", "bearer"]), st.just("DPoP") | json_values)},
    )
    return st.fixed_dictionaries(
        {
            ("GET", f"{SGID_ISSUER}/.well-known/jwks.json"): jwks_answers,
            ("POST", f"{SGID_ISSUER}/oauth/token"): answers(mostly(tokens, tokens.flatmap(objects_like))),
            ("GET", f"{SGID_ISSUER}/oauth/userinfo"): answers(sgid_userinfo()),
        }
    )


def sgid_provider(http: AnsweringHttp) -> SgidProvider:
    return sgid_module.create(SGID_ENTRY, fuzz_toolkit(http))  # type: ignore[arg-type]


def sgid_answering(fields: dict[str, bytes]) -> dict[tuple[str, str], HttpResponse]:
    """A valid sgID upstream whose userinfo carries ``fields`` (decrypted plaintexts)."""
    block = OctKey.import_key({"kty": "oct", "k": b64url(b"k" * 32)})
    data = {name: oct_jwe(plaintext, block) for name, plaintext in fields.items()}
    tokens = {"access_token": "at-1", "id_token": id_token(sgid_claims(SGID_NONCE)), "token_type": "Bearer"}
    return {
        ("GET", f"{SGID_ISSUER}/.well-known/jwks.json"): HttpResponse(200, {}, dumps(PROVIDER_JWKS)),
        ("POST", f"{SGID_ISSUER}/oauth/token"): HttpResponse(200, {}, dumps(tokens)),
        ("GET", f"{SGID_ISSUER}/oauth/userinfo"): HttpResponse(
            200, {}, dumps({"sub": "u=1", "key": rsa_jwe(dumps(block.as_dict(private=True))), "data": data})
        ),
    }


@settings(FUZZ, max_examples=100)
@given(routes=sgid_routes(SGID_NONCE), code=st.just("code-1") | texts)
@example(routes=sgid_answering({"myinfo.name": b"\xffTAN"}), code="code-1")  # raised UnicodeDecodeError
@example(  # a refusal with a body nested past the parser's limit raised RecursionError (oauth.oauth_error)
    routes={("POST", f"{SGID_ISSUER}/oauth/token"): HttpResponse(400, {}, b"[" * 5_000)}, code="code-1"
)
def test_sgid_complete_only_ever_fails_with_a_login_code(
    routes: dict[tuple[str, str], HttpResponse], code: str
) -> None:
    http = routed(routes)
    callback = Callback(code, {}, "v" * 64, SGID_NONCE, REDIRECT, NOW)
    result = only_gateway_errors(lambda: sgid_provider(http).complete(callback), LOGIN_CODES)
    if isinstance(result, Identity):
        assert_identity(result)


@settings(FUZZ, max_examples=150)
@given(raw=texts | json_texts | deep_json)
@example(raw="[" * 5_000)  # raised RecursionError
def test_sgid_field_values_always_parse(raw: str) -> None:
    json.dumps(parse_value(raw))


# -- OIDC ----------------------------------------------------------------------------------------------------

ISSUER = "https://op.example"
NONCE = "nonce-1"
AT_HASH = b64url(hashlib.sha256(b"at-1").digest()[:16])
DISCOVERY = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/auth",
    "token_endpoint": f"{ISSUER}/token",
    "userinfo_endpoint": f"{ISSUER}/me",
    "jwks_uri": f"{ISSUER}/jwks",
    "revocation_endpoint": f"{ISSUER}/revoke",
    "authorization_response_iss_parameter_supported": True,
}
discovery_documents = (
    st.just(DISCOVERY)
    | objects_like(DISCOVERY, url_values | st.booleans())
    | objects_like(DISCOVERY, url_values | st.booleans()).map(
        lambda doc: {**doc, "issuer": ISSUER} if isinstance(doc, dict) else doc
    )
)


def oidc_provider(http: AnsweringHttp, **options: Any) -> OidcProvider:
    base = {"issuer": ISSUER, "client_id": "client 1", "client_secret_arn": CLIENT_SECRET_ARN, "scopes": ["openid"]}
    entry = ProviderSettings(id="oidc", type="oidc", name="OIDC", options={**base, **options})
    return oidc_module.create(entry, fuzz_toolkit(http))  # type: ignore[arg-type]


def oidc_claims(nonce: str) -> dict[str, Any]:
    return {
        "iss": ISSUER,
        "aud": "client 1",
        "sub": "alice",
        "iat": NOW,
        "exp": NOW + 300,
        "nonce": nonce,
        "at_hash": AT_HASH,
        "acr": "loa2",
        "email": "alice@example.com",
    }


def oidc_routes(nonce: str) -> st.SearchStrategy[dict[tuple[str, str], HttpResponse]]:
    tokens = st.fixed_dictionaries(
        {"access_token": mostly(st.just("at-1"), access_tokens), "id_token": id_tokens(oidc_claims(nonce))},
        optional={
            "token_type": mostly(st.sampled_from(["Bearer", "bearer"]), st.just("DPoP") | json_values),
            "refresh_token": mostly(st.just("rt-1"), json_values),
        },
    )
    userinfo_claims = {"iss": ISSUER, "aud": "client 1", "sub": "alice", "name": "Alice"}
    userinfo = mostly(
        answers(mostly(st.just(userinfo_claims), objects_like(userinfo_claims))),
        st.builds(
            HttpResponse,
            st.sampled_from([200, 200, 401, 500]),
            st.just({"Content-Type": "application/jwt"}),
            hostile_jwts(userinfo_claims, ("RS256", "ES256")).map(lambda jws: jws.encode("utf-8", "surrogatepass"))
            | json_bodies,
        ),
    )
    return st.fixed_dictionaries(
        {
            ("GET", f"{ISSUER}/.well-known/openid-configuration"): mostly(
                st.just(HttpResponse(200, {}, dumps(DISCOVERY))), answers(discovery_documents)
            ),
            ("GET", f"{ISSUER}/jwks"): jwks_answers,
            ("POST", f"{ISSUER}/token"): answers(mostly(tokens, tokens.flatmap(objects_like))),
            ("GET", f"{ISSUER}/me"): userinfo,
        }
    )


@settings(FUZZ, max_examples=100)
@given(
    routes=oidc_routes(NONCE),
    params=mostly(st.just({"iss": ISSUER}), st.fixed_dictionaries({}, optional={"iss": texts})),
    fallback=answers(st.just({"issuer": ISSUER})),
)
@example(  # a lone surrogate in the access token raised UnicodeEncodeError checking at_hash
    routes={
        ("GET", f"{ISSUER}/.well-known/openid-configuration"): HttpResponse(200, {}, dumps(DISCOVERY)),
        ("GET", f"{ISSUER}/jwks"): HttpResponse(200, {}, dumps(PROVIDER_JWKS)),
        ("POST", f"{ISSUER}/token"): HttpResponse(
            200, {}, dumps({"access_token": "\ud800", "id_token": id_token(oidc_claims(NONCE))})
        ),
    },
    params={"iss": ISSUER},
    fallback=HttpResponse(404, {}, b""),
)
def test_oidc_complete_only_ever_fails_with_a_login_code(
    routes: dict[tuple[str, str], HttpResponse], params: dict[str, str], fallback: HttpResponse
) -> None:
    provider = oidc_provider(routed(routes, fallback))
    result = only_gateway_errors(
        lambda: provider.complete(Callback("code-1", params, "v" * 64, NONCE, REDIRECT, NOW)), LOGIN_CODES
    )
    if isinstance(result, Identity):
        assert_identity(result)


@settings(FUZZ, max_examples=100)
@given(discovery=answers(discovery_documents), fallback=answers(st.just({"request_uri": "urn:x"})))
@example(
    discovery=HttpResponse(200, {}, dumps({**DISCOVERY, "token_endpoint": "https://["})),
    fallback=HttpResponse(404, {}, b""),
)  # raised ValueError (Invalid IPv6 URL) out of discovery
def test_any_discovery_document_starts_a_login_or_is_provider_unavailable(
    discovery: HttpResponse, fallback: HttpResponse
) -> None:
    http = routed({("GET", f"{ISSUER}/.well-known/openid-configuration"): discovery}, fallback)
    request = AuthorizationRequest("st", NONCE, "challenge", REDIRECT, NOW)
    result = only_gateway_errors(
        lambda: oidc_provider(http).authorize(request), {"provider_unavailable", "token_rejected"}
    )
    if not isinstance(result, GatewayError):
        assert urlsplit(result.url).scheme in ("https", "http")


@settings(FUZZ, max_examples=100)
@given(routes=oidc_routes(NONCE))
@example(  # raised RecursionError (oauth.oauth_error, deciding whether the refresh token is refused)
    routes={
        ("GET", f"{ISSUER}/.well-known/openid-configuration"): HttpResponse(200, {}, dumps(DISCOVERY)),
        ("POST", f"{ISSUER}/token"): HttpResponse(400, {}, b"[" * 5_000),
    }
)
@example(  # a refresh_token of true was kept as the grant's refresh token (and stored as "True" at login)
    routes={
        ("GET", f"{ISSUER}/.well-known/openid-configuration"): HttpResponse(200, {}, dumps(DISCOVERY)),
        ("POST", f"{ISSUER}/token"): HttpResponse(200, {}, dumps({"access_token": "at-1", "refresh_token": True})),
        ("GET", f"{ISSUER}/me"): HttpResponse(200, {}, dumps({"sub": "alice"})),
    }
)
def test_oidc_refresh_only_ever_fails_with_a_session_code(routes: dict[tuple[str, str], HttpResponse]) -> None:
    provider = oidc_provider(routed(routes))
    result = only_gateway_errors(
        lambda: provider.refresh({"refresh_token": "rt-1", "sub": "alice"}, NOW),
        {"not_authenticated", "invalid_token", "provider_unavailable", "token_rejected"},
    )
    if isinstance(result, Refreshed):
        assert isinstance(result.grant["refresh_token"], str)
        assert result.grant["refresh_token"]
        json.dumps(result.person)


# -- Singpass FAPI 2.0: PAR, DPoP nonces, encrypted tokens ---------------------------------------------------

FAPI_ISSUER = "https://id.example/fapi"
FAPI_DISCOVERY = {
    "issuer": FAPI_ISSUER,
    "authorization_endpoint": f"{FAPI_ISSUER}/auth",
    "pushed_authorization_request_endpoint": f"{FAPI_ISSUER}/par",
    "token_endpoint": f"{FAPI_ISSUER}/token",
    "userinfo_endpoint": f"{FAPI_ISSUER}/userinfo",
    "jwks_uri": f"{FAPI_ISSUER}/jwks",
    "require_pushed_authorization_requests": True,
    "authorization_response_iss_parameter_supported": True,
}


def fapi_provider(http: AnsweringHttp, app: str = "myinfo") -> OidcProvider:
    """A Singpass app of either kind: a Myinfo app reads userinfo, a Login app only its ID token."""
    options = {
        "issuer": FAPI_ISSUER,
        "client_id": "client-1",
        "signing_key_arn": CLIENT_SIGNING_ARN,
        "decryption_key_arn": CLIENT_EC_ARN,
        "app": app,
        "scopes": ["openid", "name"],
    }
    entry = ProviderSettings(id="singpass", type="singpass", name="Singpass", options=options)
    return singpass_module.create(entry, fuzz_toolkit(http))  # type: ignore[arg-type]


dpop_answers = st.builds(
    HttpResponse,
    st.sampled_from([200, 201, 400, 400, 401, 401, 500]),
    st.fixed_dictionaries(
        {},
        optional={
            "DPoP-Nonce": nonces,
            "WWW-Authenticate": st.sampled_from(['DPoP error="use_dpop_nonce"', 'DPoP error="invalid_dpop_proof"'])
            | texts,
        },
    ),
    st.sampled_from([dumps({"error": "use_dpop_nonce"}), dumps({"request_uri": "urn:x:1"})]) | json_bodies,
)
"""Answers of a DPoP-protected endpoint: asking for a nonce (properly or not), refusing, or answering."""


@settings(FUZZ, max_examples=100)
@given(par=st.lists(dpop_answers, min_size=2, max_size=2))
# raised RecursionError in oauth.oauth_error, reading whether the server asks for a nonce:
@example(par=[HttpResponse(400, {"DPoP-Nonce": "n-1"}, b"[" * 5_000), HttpResponse(201, {}, b"{}")])
def test_dpop_nonce_handling_retries_at_most_once_and_fails_only_with_a_code(par: list[HttpResponse]) -> None:
    http = routed(
        {("GET", f"{FAPI_ISSUER}/.well-known/openid-configuration"): HttpResponse(200, {}, dumps(FAPI_DISCOVERY))}
    )
    queue = iter(par)
    http.on("POST", f"{FAPI_ISSUER}/par", lambda **_: next(queue))
    request = AuthorizationRequest("st", NONCE, "challenge", REDIRECT, NOW)
    only_gateway_errors(lambda: fapi_provider(http).authorize(request), {"provider_unavailable", "token_rejected"})
    sent = [r for r in http.requests if r["url"] == f"{FAPI_ISSUER}/par"]
    assert 1 <= len(sent) <= 2
    if len(sent) == 2:  # the retry carries the nonce the server asked for
        assert (
            jwt.decode(sent[1]["headers"]["DPoP"], options={"verify_signature": False})["nonce"]
            == par[0].headers["DPoP-Nonce"]
        )


def nested_phone(depth: int) -> dict[str, Any]:
    """A phone number whose ``nbr`` is a phone number whose ``nbr`` is ...: fits in a userinfo JWT at ~450 deep."""
    attribute: dict[str, Any] = {"value": "97399245"}
    for _ in range(depth):
        attribute = {"prefix": {"value": "+"}, "nbr": attribute}
    return attribute


@st.composite
def fapi_routes(draw: st.DrawFn, nonce: str) -> dict[tuple[str, str], Any]:
    claims = {
        "iss": FAPI_ISSUER,
        "aud": "client-1",
        "sub": "u-1",
        "iat": NOW,
        "exp": NOW + 300,
        "nonce": nonce,
        "acr": "urn:singpass:authentication:loa:2",
        "amr": ["pwd"],
        "sub_attributes": draw(mostly(st.just({"identity_number": "S9812381D", "name": "TAN"}), json_values)),
    }
    if draw(st.booleans()):
        claims["iat"] = draw(st.floats(NOW - 700, NOW + 100) | json_values)  # NumericDate: fractions, or junk
    valid = id_token(claims, "ES256")
    signed = draw(mostly(st.just(valid), hostile_jwts(claims, ("ES256",))))
    encrypted = ecdh_jwe(signed)
    id_token_value = draw(mostly(st.just(encrypted), mutated(encrypted) | st.just(signed) | json_values))
    access_token = draw(mostly(st.just("at-1"), access_tokens))
    valid_tokens = {"access_token": access_token, "token_type": "DPoP", "id_token": id_token_value}
    tokens = draw(mostly(st.just(valid_tokens), objects_like(valid_tokens)))
    person = draw(mostly(persons, st.builds(lambda depth: {"mobileno": nested_phone(depth)}, st.integers(300, 450))))
    userinfo_claims = {"iss": FAPI_ISSUER, "aud": "client-1", "sub": "u-1", "person_info": person}
    userinfo_jws = sign_compact(dumps({"alg": "ES256", "kid": "e1"}), dumps(userinfo_claims), "ES256")
    userinfo = draw(
        mostly(st.just(ecdh_jwe(userinfo_jws)), st.just(userinfo_jws) | hostile_jwts(userinfo_claims, ("ES256",)))
    )
    jwt_answer = HttpResponse(200, {"Content-Type": "application/jwt"}, userinfo.encode("utf-8", "surrogatepass"))
    return {
        ("GET", f"{FAPI_ISSUER}/.well-known/openid-configuration"): HttpResponse(200, {}, dumps(FAPI_DISCOVERY)),
        ("GET", f"{FAPI_ISSUER}/jwks"): draw(jwks_answers),
        ("POST", f"{FAPI_ISSUER}/par"): HttpResponse(201, {}, dumps({"request_uri": "urn:x:1"})),
        ("POST", f"{FAPI_ISSUER}/token"): draw(mostly(st.just(HttpResponse(200, {}, dumps(tokens))), dpop_answers)),
        ("GET", f"{FAPI_ISSUER}/userinfo"): draw(mostly(st.just(jwt_answer), dpop_answers)),
    }


def fapi_answering(access_token: str) -> dict[tuple[str, str], HttpResponse]:
    """A valid Singpass upstream whose token endpoint hands out ``access_token``."""
    claims = {"iss": FAPI_ISSUER, "aud": "client-1", "sub": "u-1", "iat": NOW, "exp": NOW + 300, "nonce": NONCE}
    tokens = {"access_token": access_token, "token_type": "DPoP", "id_token": ecdh_jwe(id_token(claims, "ES256"))}
    return {
        ("GET", f"{FAPI_ISSUER}/jwks"): HttpResponse(200, {}, dumps(PROVIDER_JWKS)),
        ("POST", f"{FAPI_ISSUER}/token"): HttpResponse(200, {}, dumps(tokens)),
        ("GET", f"{FAPI_ISSUER}/userinfo"): HttpResponse(200, {}, dumps({"sub": "u-1"})),
    }


@settings(FUZZ, max_examples=80)
@given(routes=fapi_routes(NONCE), app=st.sampled_from(["myinfo", "login"]))
@example(routes=fapi_answering("é"), app="myinfo")  # raised UnicodeEncodeError making the userinfo DPoP proof's ath
def test_fapi_complete_only_ever_fails_with_a_login_code(routes: dict[tuple[str, str], HttpResponse], app: str) -> None:
    http = routed(
        {
            ("GET", f"{FAPI_ISSUER}/.well-known/openid-configuration"): HttpResponse(200, {}, dumps(FAPI_DISCOVERY)),
            ("POST", f"{FAPI_ISSUER}/par"): HttpResponse(201, {}, dumps({"request_uri": "urn:x:1"})),
        }
    )
    provider = fapi_provider(http, app)
    remembered = dict(provider.authorize(AuthorizationRequest("st", NONCE, "challenge", REDIRECT, NOW)).remember)
    answering(http, routes)
    callback = Callback("code-1", {"iss": FAPI_ISSUER}, "v" * 64, NONCE, REDIRECT, NOW, remembered)
    result = only_gateway_errors(lambda: provider.complete(callback), LOGIN_CODES)
    if isinstance(result, Identity):
        assert_identity(result)


# -- MyInfo person data --------------------------------------------------------------------------------------


@settings(FUZZ, max_examples=200)
@given(person=persons | json_values, phone_depth=st.none() | st.integers(1, 3_000))
# Raised RecursionError: _phone restarted the depth count at every level (nests of ~500 already overflow under
# Lambda's default recursion limit, and fit in a userinfo JWT; hypothesis raises the limit while testing).
@example(person={}, phone_depth=3_000)
def test_any_person_normalises_to_plain_json(person: Any, phone_depth: int | None) -> None:
    if phone_depth is not None:  # built here: hypothesis cannot even print a structure this deep
        person = {**person, "mobileno": nested_phone(phone_depth)} if isinstance(person, dict) else person
    json.dumps(normalise(person))


# -- the callback handler ------------------------------------------------------------------------------------

FRONTEND = "https://app.example"
SETTINGS = load_settings(
    {
        "GATEWAY_TABLE": "t",
        "GATEWAY_FRONTEND_URL": FRONTEND,
        "GATEWAY_PUBLIC_URL": "https://id.example",
        "GATEWAY_PROVIDERS": json.dumps([{"id": "sgid", "type": "sgid", "name": "sgID"}]),
    }
)
CALLBACK_CODES = {
    "invalid_state",
    "login_expired",
    "access_denied",
    "provider_error",
    "provider_maintenance",
    "invalid_callback",
    "provider_unavailable",
    "token_rejected",
    "invalid_token",
    "invalid_request",
}
"""Every code a callback may send the browser back with; ``internal_error`` would mean a swallowed bug."""


CALLBACK_APP = load_handler("callback")


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "callback"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:ap-southeast-1:1:function:callback"
    aws_request_id: str = "req-1"


def api_event(provider: str, query: dict[str, str], cookies: list[str], headers: dict[str, str]) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as the callback route receives it."""
    built: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "GET /auth/{provider}/callback",
        "rawPath": f"/auth/{provider}/callback",
        "rawQueryString": urlencode(query, errors="surrogatepass"),
        "headers": headers,
        "pathParameters": {"provider": provider},
        "requestContext": {
            "http": {"method": "GET", "path": f"/auth/{provider}/callback"},
            "domainName": "id.example",
            "requestId": "r-1",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    if query:
        built["queryStringParameters"] = query
    if cookies:
        built["cookies"] = cookies
    return built


@settings(FUZZ, max_examples=150)
@given(
    provider=st.sampled_from(["sgid", "oidc"]) | texts,
    params=st.dictionaries(st.sampled_from(["state", "code", "error", "iss"]) | texts, texts, max_size=4),
    binding=st.none() | texts,
)
@example(provider="sgid", params={"state": "\ud800", "code": "c"}, binding="b")  # was a 500
def test_complete_login_with_any_parameters_and_cookie_fails_with_a_callback_code(
    provider: str, params: dict[str, str], binding: str | None
) -> None:
    http = AnsweringHttp()
    http.on("GET", f"{ISSUER}/.well-known/openid-configuration", HttpResponse(200, {}, dumps(DISCOVERY)))
    store = MemoryStore()
    gateway = Gateway(SETTINGS, store, {"sgid": sgid_provider(http), "oidc": oidc_provider(http)})  # type: ignore[arg-type]
    with pytest.raises((LoginFailed, UnknownProvider)) as failure:  # no login transaction: it can only fail
        gateway.complete_login(provider, params, binding)
    if isinstance(failure.value, LoginFailed):
        assert failure.value.error.code in CALLBACK_CODES
        assert failure.value.location.startswith(FRONTEND + "/?")
    else:
        assert provider not in ("sgid", "oidc")


@settings(FUZZ, max_examples=80)
@given(
    provider=st.sampled_from(["sgid", "oidc"]) | texts,
    return_to=st.none() | st.sampled_from(["/", "/back?x=1#f", "//evil.example", "https://evil.example/"]) | texts,
    held_session=st.none() | st.just("s-1") | texts,
)
@example(provider="sgid", return_to="/", held_session="\ud800")  # the session cookie, now read at login
@example(provider="oidc", return_to="/", held_session="s-1")
def test_begin_login_with_any_return_to_and_session_cookie_redirects_or_refuses(
    provider: str, return_to: str | None, held_session: str | None
) -> None:
    store = MemoryStore()
    store.put_session("s-1", Session("sgid", "u=1", {}, expires_at=NOW + 600, seen_at=NOW))
    discovery = HttpResponse(200, {}, dumps(DISCOVERY))
    http = routed({("GET", f"{ISSUER}/.well-known/openid-configuration"): discovery})
    providers = {"sgid": sgid_provider(http), "oidc": oidc_provider(http)}
    gateway = Gateway(SETTINGS, store, providers, clock=lambda: float(NOW))  # type: ignore[arg-type]
    login = only_gateway_errors(
        lambda: gateway.begin_login(provider, return_to, "https://id.example", held_session),
        {"unknown_provider", "invalid_return_to"},
    )
    if isinstance(login, GatewayError):  # refused before anything is asked, stored or ended
        assert store.sessions
        assert store.transactions == {}
        return
    assert urlsplit(login.location).scheme == "https"
    assert len(store.transactions) == 1
    assert bool(store.sessions) == (held_session != "s-1")  # the held session ends as the login starts


@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_the_callback_handler_always_answers_a_clean_redirect(data: st.DataObject) -> None:
    clock = [float(NOW)]
    http = AnsweringHttp()
    http.on("GET", f"{ISSUER}/.well-known/openid-configuration", HttpResponse(200, {}, dumps(DISCOVERY)))
    store = MemoryStore()
    providers = {"sgid": sgid_provider(http), "oidc": oidc_provider(http)}
    gateway = Gateway(SETTINGS, store, providers, clock=lambda: clock[0])  # type: ignore[arg-type]
    CALLBACK_APP.GATEWAY = gateway  # type: ignore[attr-defined]

    # a login in progress, and what the provider will answer when it is finished
    started = data.draw(st.sampled_from(sorted(providers)))
    return_to = data.draw(st.sampled_from(["/", "/back", "/p?x=1&error=old#frag"]))
    login = gateway.begin_login(started, return_to, "https://id.example")
    [txn] = store.transactions.values()
    routes = data.draw(sgid_routes(txn.nonce) if started == "sgid" else oidc_routes(txn.nonce))
    answering(http, routes)
    clock[0] += data.draw(mostly(st.just(0), st.sampled_from([1, SETTINGS.login_ttl_seconds, 10**6])))

    # what the browser (or an attacker) sends back: mostly the real callback with one part hostile, so that the
    # provider's answers are reached; otherwise anything
    def usually(real: Any, other: st.SearchStrategy[Any]) -> Any:
        return real if data.draw(st.integers(0, 9)) < 8 else data.draw(other)

    provider = usually(started, st.sampled_from(sorted(providers)) | texts)
    callback_params = {
        "state": usually(txn.state, mutated(txn.state) | texts),
        "code": usually("code-1", texts | st.just("c" * 5_000)),
        "iss": usually(ISSUER if started == "oidc" else SGID_ISSUER, texts),
    }
    optional = st.fixed_dictionaries(
        {},
        optional={
            "error": st.sampled_from(["access_denied", "server_error", "temporarily_unavailable", "503", "a" * 100])
            | texts,
            "error_description": texts,
            "session_state": texts,
        },
    )
    query = {name: value for name, value in callback_params.items() if usually(True, st.booleans())}
    query.update(usually({}, optional))
    query = usually(query, st.dictionaries(texts, texts, max_size=4))
    cookie = st.sampled_from([LOGIN_COOKIE, SESSION_COOKIE, "other", ""]).flatmap(
        lambda name: st.builds(lambda value: f"{name}={value}", st.just(login.binding) | mutated(login.binding) | texts)
    )
    cookies = usually([f"{LOGIN_COOKIE}={login.binding}"], st.lists(cookie | texts, max_size=4))
    cookies = cookies + data.draw(st.lists(cookie | texts, max_size=2))
    headers = data.draw(
        st.dictionaries(st.sampled_from(["cookie", "x-csrf", "origin", "Host"]) | texts, texts, max_size=3)
    )

    response = CALLBACK_APP.lambda_handler(api_event(provider, query, cookies, headers), LambdaContext())

    if response["statusCode"] == 404:
        event("404")
        assert provider not in providers
        assert json.loads(response["body"]) == {"error": "unknown_provider"}
        return
    assert response["statusCode"] == 302, response
    location = response["headers"]["Location"]
    assert location.startswith(FRONTEND + "/")
    errors = parse_qs(urlsplit(location).query).get("error", [])
    event(f"302 error={errors}")
    session_cookies = [c for c in response["cookies"] if c.startswith(f"{SESSION_COOKIE}=")]
    if session_cookies:  # a completed login
        assert len(store.sessions) == 1
        assert errors == ([] if return_to != "/p?x=1&error=old#frag" else ["old"])
    else:
        assert len(errors) == 1
        assert errors[0] in CALLBACK_CODES, errors
        assert store.sessions == {}
