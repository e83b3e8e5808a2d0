"""Property-based fuzzing of what providers answer and what browsers send: token responses, userinfo bodies,
discovery documents, JWKS and DPoP nonces (sgID, OIDC, Singpass FAPI over a fake upstream), plain OAuth 2.0's JWT
access tokens, introspection answers, user endpoints and RFC 8414 metadata, MyInfo person data, a login's start
with any return_to and session cookie, and the callback handler with random query strings, cookies and headers.

The properties: a provider call either succeeds or raises a GatewayError with a stable login code, and the
callback handler always answers a clean response (a 302 to the frontend, with ``?error=<code>`` when the login
failed, or the documented 404 for an unknown provider): never a 500, never an ``internal_error``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar
from unittest.mock import patch
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from joserfc.jwk import OctKey
from singpass_gateway.errors import GatewayError, LoginError, UnknownProvider
from singpass_gateway.flows import Gateway, LoginFailed
from singpass_gateway.http import HttpResponse
from singpass_gateway.person import normalise
from singpass_gateway.providers import AuthorizationRequest, Callback, Identity, Refreshed
from singpass_gateway.providers import oauth2 as oauth2_module
from singpass_gateway.providers import oidc as oidc_module
from singpass_gateway.providers import sgid as sgid_module
from singpass_gateway.providers import singpass as singpass_module
from singpass_gateway.providers.oauth2 import OAuth2Provider
from singpass_gateway.providers.oauth2_identity import MAX_DEPTH, MAX_SUBJECT_LENGTH, IdentityReader
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
    hostile_claim_values,
    hostile_jwts,
    json_bodies,
    json_scalars,
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
    signed_jwts,
    texts,
    url_values,
)
from tests.unit.upstream import NOW, b64url

T = TypeVar("T")

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


# -- plain OAuth 2.0: a JWT access token, introspection or a user endpoint -----------------------------------

AS_ISSUER = "https://as.example"
AS_METADATA_URL = f"{AS_ISSUER}/.well-known/oauth-authorization-server"
AS_METADATA = {
    "issuer": AS_ISSUER,
    "authorization_endpoint": f"{AS_ISSUER}/authorize",
    "token_endpoint": f"{AS_ISSUER}/token",
    "jwks_uri": f"{AS_ISSUER}/jwks",
    "introspection_endpoint": f"{AS_ISSUER}/introspect",
    "revocation_endpoint": f"{AS_ISSUER}/revoke",
    "authorization_response_iss_parameter_supported": True,
}


def ok(body: Any) -> HttpResponse:
    return HttpResponse(200, {"Content-Type": "application/json"}, dumps(body))


def with_member(valid: dict[str, Any], name: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``valid`` with its ``name`` member drawn from ``values``: each check is reached with the others passing."""
    return values.map(lambda value: {**valid, name: value})


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Each strategy drawn from as often as its weight says (``|`` draws from each branch alike); failures shrink
    towards the first, and hypothesis's simplest examples come from it too."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(table.__getitem__)


as_metadata_documents = weighted(
    (3, st.one_of([with_member(AS_METADATA, name, url_values | st.booleans()) for name in sorted(AS_METADATA)])),
    (1, st.just(AS_METADATA)),
    (1, objects_like(AS_METADATA, url_values | st.booleans())),
    (
        1,
        objects_like(AS_METADATA, url_values | st.booleans()).map(
            lambda doc: doc | {"issuer": AS_ISSUER} if isinstance(doc, dict) else doc
        ),
    ),
    (1, json_values),
)
"""RFC 8414 metadata: one member unusable (most often), the honest document, several members wrong, or not an
object at all."""
OAUTH2_MODES = ("access_token", "introspection", "user_endpoint")
OAUTH2_OPTIONS: dict[str, dict[str, Any]] = {
    # the harness's three servers (tests/unit/upstream_oauth2.py): an RFC 9068 server read from its metadata ...
    "access_token": {
        "issuer": AS_ISSUER,
        "metadata": True,
        "client_secret_arn": CLIENT_SECRET_ARN,
        "client_auth": "client_secret_post",
        "scopes": ["profile", "orders:read"],
    },
    # ... an RFC 7662 server with private_key_jwt clients ...
    "introspection": {
        "issuer": AS_ISSUER,
        "client_auth": "private_key_jwt",
        "signing_key_arn": CLIENT_SIGNING_ARN,
        "authorization_endpoint": f"{AS_ISSUER}/authorize",
        "token_endpoint": f"{AS_ISSUER}/token",
        "introspection_endpoint": f"{AS_ISSUER}/introspect",
        "revocation_endpoint": f"{AS_ISSUER}/revoke",
        "permissions_claim": "roles",
    },
    # ... and a GitHub-style API naming the user by an integer id, with no issuer and no PKCE
    "user_endpoint": {
        "client_secret_arn": CLIENT_SECRET_ARN,
        "pkce": False,
        "authorization_endpoint": f"{AS_ISSUER}/authorize",
        "token_endpoint": f"{AS_ISSUER}/token",
        "user_endpoint": f"{AS_ISSUER}/me",
        "subject_claim": "id",
        "scopes": ["read:user"],
    },
}
OAUTH2_SUBJECTS = {"access_token": ("sub", "alice"), "introspection": ("sub", "u-1001"), "user_endpoint": ("id", 4242)}
"""Per mode, the claim or field that names the user and the user the honest server names."""
OAUTH2_LOGIN_CODES = LOGIN_CODES | {"provider_maintenance"}
OAUTH2_REFRESH_CODES = {
    "not_authenticated",
    "invalid_token",
    "provider_unavailable",
    "token_rejected",
    "provider_maintenance",
}
"""What ``refresh`` may fail with: RefreshRejected (``not_authenticated``) or a login error the flow keeps the
session through; a server saying it is down for maintenance (``temporarily_unavailable``) is one of those."""

AWKWARD_SUBJECTS = [
    "", " ", "\t", "a" * 256, "a" * 100_000, "alice\nadmin", "\u202eecila", "\x00", "\ud800", "a" * 255, True, False, 0,
    -1, 2**64, 1.5, 1e300, None, [], ["alice"], {}, {"id": 1}, "4242",
]  # fmt: skip
subject_values = (
    st.sampled_from(AWKWARD_SUBJECTS)
    | st.sampled_from(["mallory", "u-666", 666, 2**53, "4243"])  # someone else
    | st.tuples(texts, st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs"]), min_size=1), texts).map(
        "".join
    )
    | st.text(min_size=MAX_SUBJECT_LENGTH - 5, max_size=MAX_SUBJECT_LENGTH + 5)
    | st.integers(10**250, 10**300)  # an integer's digits are held to the same length (found by these properties)
    | json_values
)
"""Who a hostile server says logged in: wrong types, blanks, control characters, huge strings, another user."""
claim_values = subject_values | hostile_claim_values | st.sampled_from(["true", "True", 1, 1.0, "client-2"])
"""Members of an access token, an introspection answer or a user."""
grant_values = (
    st.sampled_from(["profile", "a  b", "", " ", [], ["a", "b"], ["a", 1], [None], [["a"]], {"a": "b"}, 1, None, True])
    | st.lists(json_scalars, min_size=1, max_size=3)
    | json_values
)
"""Scopes and permissions: a space-separated string or an array of strings, or anything else."""
active_values = st.sampled_from([True, False, "true", "True", 1, 1.0, None, [True], {"active": True}]) | json_values
"""RFC 7662 ``active``: only ``true`` counts."""
AT_CLAIMS = {
    "iss": AS_ISSUER,
    "sub": "alice",
    "aud": "client-1",
    "client_id": "client-1",
    "iat": NOW,
    "exp": NOW + 600,
    "scope": "profile orders:read",
    "permissions": ["orders:read"],
    "name": "Alice",
}
AT_HEADER = {"typ": "at+jwt"}
INTROSPECTION = {
    "active": True,
    "iss": AS_ISSUER,
    "sub": "u-1001",
    "client_id": "client-1",
    "scope": "profile",
    "exp": NOW + 600,
    "iat": NOW,
    "roles": ["staff"],
    "name": "Alice",
}


def at_jwt(claims: dict[str, Any], alg: str = "RS256") -> str:
    return sign_compact(dumps({"alg": alg, "kid": "e1" if alg == "ES256" else "k1", **AT_HEADER}), dumps(claims), alg)


def nest(depth: int, kind: str) -> Any:
    """A JSON value ``depth`` levels deep (1: a scalar)."""
    value: Any = 1
    for _ in range(depth - 1):
        value = [value] if kind == "array" else {"a": value}
    return value


def json_depth(value: object) -> int:
    """How deeply ``value`` nests, counted as the user endpoint's limit counts (a scalar is 1), without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        deepest = max(deepest, level)
        members = item.values() if isinstance(item, dict) else item if isinstance(item, list) else []
        pending.extend((member, level + 1) for member in members)
    return deepest


def vouching(valid: dict[str, Any], members: st.SearchStrategy[Any]) -> st.SearchStrategy[HttpResponse]:
    """An identity answer (introspection, a user): a 200 with hostile ``members`` (most of the time, so that every
    check after the status and the parsing is reached), the honest answer, or anything."""
    return weighted((4, members.map(ok)), (1, st.just(ok(valid))), (1, answers(objects_like(valid))))


def user_answers(claim: str, value: Any) -> st.SearchStrategy[HttpResponse]:
    """A user endpoint's answers, naming the user by ``claim``: the name or other members broken, or the JSON
    nested around the depth limit."""
    user = {claim: value, "login": "alice", "name": "Alice"}
    deep = st.builds(  # one level past the limit, at it, or far either side
        lambda depth, kind: {**user, "repos": nest(depth - 1, kind)},
        st.sampled_from([MAX_DEPTH + 1, MAX_DEPTH, MAX_DEPTH + 8, 3, 500]),
        st.sampled_from(["array", "object"]),
    )
    members = weighted((2, with_member(user, claim, subject_values)), (1, deep), (1, objects_like(user, claim_values)))
    return vouching(user, members)


def oauth2_routes(mode: str) -> st.SearchStrategy[dict[tuple[str, str], HttpResponse]]:
    """What each of the server's endpoints answers, for a provider reading who logged in from ``mode``: mostly a
    token response; a JWT access token with its subject, other claims or header hostile, or any hostile JWT; an
    identity answer with hostile members. A user endpoint beside a JWT or introspection (profile data) names the
    user as the token does."""
    claim, user = OAUTH2_SUBJECTS[mode]
    access_token = mostly(st.just("at-1"), access_tokens)
    if mode == "access_token":
        access_token = weighted(
            (3, subject_values.map(lambda sub: at_jwt({**AT_CLAIMS, "sub": sub}))),
            (1, grant_values.map(lambda permissions: at_jwt({**AT_CLAIMS, "permissions": permissions}))),
            (1, st.just(at_jwt(AT_CLAIMS))),
            (3, signed_jwts(AT_CLAIMS, ("RS256", "ES256"), claim_values, AT_HEADER)),
            (2, hostile_jwts(AT_CLAIMS, ("RS256", "ES256"), claim_values, AT_HEADER)),
        )
    tokens = st.fixed_dictionaries(
        {"access_token": access_token},
        optional={
            "token_type": mostly(st.sampled_from(["Bearer", "bearer"]), st.just("DPoP") | json_values),
            "refresh_token": mostly(st.just("rt-2"), json_values),
            "scope": mostly(st.just("profile"), grant_values),
            "expires_in": json_values,
        },
    )
    refusals = st.sampled_from(
        [
            HttpResponse(400, {}, dumps({"error": "invalid_grant"})),
            HttpResponse(503, {}, dumps({"error": "temporarily_unavailable"})),
            HttpResponse(400, {}, b"[" * 5_000),
        ]
    )
    routes = {
        ("POST", f"{AS_ISSUER}/token"): mostly(tokens.map(ok), answers(tokens.flatmap(objects_like)) | refusals),
        ("GET", f"{AS_ISSUER}/me"): user_answers(claim, user),
    }
    if mode == "access_token":
        routes[("GET", AS_METADATA_URL)] = mostly(st.just(ok(AS_METADATA)), answers(as_metadata_documents))
        routes[("GET", f"{AS_ISSUER}/jwks")] = jwks_answers
    if mode == "introspection":
        members = weighted(
            (2, with_member(INTROSPECTION, "sub", subject_values)),
            (2, with_member(INTROSPECTION, "active", active_values)),
            (1, with_member(INTROSPECTION, "roles", grant_values)),
            (1, objects_like(INTROSPECTION, claim_values)),
        )
        routes[("POST", f"{AS_ISSUER}/introspect")] = vouching(INTROSPECTION, members)
    return st.fixed_dictionaries(routes)


OAUTH2_ROUTES = {mode: oauth2_routes(mode) for mode in OAUTH2_MODES}
"""Built once: a strategy made afresh for every example costs hypothesis more than the example."""


def oauth2_provider(http: AnsweringHttp, mode: str, *, profile: bool = False, metadata: bool = False) -> OAuth2Provider:
    """An ``oauth2`` provider reading who logged in from ``mode``, with a user endpoint for profile data beside a
    token (``profile``), and its endpoints from RFC 8414 metadata (``metadata``) instead of configured."""
    options: dict[str, Any] = {"client_id": "client-1", "identity": mode, **OAUTH2_OPTIONS[mode]}
    if profile:
        options["user_endpoint"] = f"{AS_ISSUER}/me"
    if metadata:
        options = {name: value for name, value in options.items() if not name.endswith("_endpoint")}
        options |= {"issuer": AS_ISSUER, "metadata": True}
        options |= {"user_endpoint": f"{AS_ISSUER}/me"} if mode == "user_endpoint" or profile else {}
    entry = ProviderSettings(id="oauth2", type="oauth2", name="OAuth 2.0", options=options)
    return oauth2_module.create(entry, fuzz_toolkit(http))  # type: ignore[arg-type]


def assert_access(access: object) -> None:
    assert isinstance(access, dict)
    assert set(access) == {"scopes", "permissions"}
    for granted in access.values():
        assert isinstance(granted, list)
        assert all(isinstance(item, str) for item in granted)


def assert_oauth2_identity(identity: Identity, mode: str) -> None:
    sub = identity.sub
    assert isinstance(sub, str)
    assert sub.strip()
    assert sub.isprintable()
    assert len(sub) <= MAX_SUBJECT_LENGTH
    assert isinstance(identity.person, dict)
    json.dumps(identity.person)  # the session stores it as JSON
    assert_access(identity.access)
    if mode == "user_endpoint":  # the whole person came from the user endpoint's JSON, which has a depth limit
        assert json_depth(identity.person) <= MAX_DEPTH
    if identity.grant is not None:
        assert identity.grant == {"refresh_token": identity.grant["refresh_token"], "sub": sub}
        assert isinstance(identity.grant["refresh_token"], str)
        assert identity.grant["refresh_token"]


def only_login_errors(call: Callable[[], T], codes: Collection[str]) -> T | GatewayError:
    """As :func:`only_gateway_errors`, and the error a LoginError (the flow's stable login codes)."""
    result = only_gateway_errors(call, codes)
    assert not isinstance(result, GatewayError) or isinstance(result, LoginError), repr(result)
    return result


@pytest.mark.parametrize("mode", OAUTH2_MODES)
@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_oauth2_complete_only_ever_fails_with_a_login_code(mode: str, data: st.DataObject) -> None:
    profile = mode != "user_endpoint" and data.draw(st.booleans(), label="profile")
    routes = data.draw(OAUTH2_ROUTES[mode], label="routes")
    params = data.draw(mostly(st.just({"iss": AS_ISSUER}), st.fixed_dictionaries({}, optional={"iss": texts})))
    provider = oauth2_provider(routed(routes), mode, profile=profile)
    callback = Callback("code-1", params, "v" * 64, "", REDIRECT, NOW)
    result = only_login_errors(lambda: provider.complete(callback), OAUTH2_LOGIN_CODES)
    if isinstance(result, Identity):
        assert_oauth2_identity(result, mode)
        if mode == "introspection":  # no login without the server vouching for the token
            assert json.loads(routes[("POST", f"{AS_ISSUER}/introspect")].body)["active"] is True


@pytest.mark.parametrize("mode", OAUTH2_MODES)
@settings(FUZZ, max_examples=50)
@given(data=st.data())
def test_oauth2_refresh_only_ever_fails_with_a_session_code(mode: str, data: st.DataObject) -> None:
    profile = mode != "user_endpoint" and data.draw(st.booleans(), label="profile")
    routes = data.draw(OAUTH2_ROUTES[mode], label="routes")
    provider = oauth2_provider(routed(routes), mode, profile=profile)
    grant = {"refresh_token": "rt-1", "sub": str(OAUTH2_SUBJECTS[mode][1])}
    named: list[str] = []  # whom each answer named, as the provider read it
    identify = IdentityReader.identify

    def recording(reader: IdentityReader, *args: Any) -> Any:
        who = identify(reader, *args)
        named.append(who.sub)
        return who

    with patch.object(IdentityReader, "identify", recording):
        result = only_gateway_errors(lambda: provider.refresh(grant, NOW), OAUTH2_REFRESH_CODES)
    if isinstance(result, Refreshed):
        assert named == [grant["sub"]]  # the same user, or no refresh
        assert result.grant["sub"] == grant["sub"]
        assert isinstance(result.grant["refresh_token"], str)
        assert result.grant["refresh_token"]
        assert isinstance(result.person, dict)
        json.dumps(result.person)
        assert_access(result.access)


@settings(FUZZ, max_examples=100)
@given(mode=st.sampled_from(OAUTH2_MODES), metadata=answers(as_metadata_documents))
@example(mode="access_token", metadata=HttpResponse(200, {}, dumps({**AS_METADATA, "jwks_uri": None})))
def test_any_authorization_server_metadata_starts_an_oauth2_login_or_is_provider_unavailable(
    mode: str, metadata: HttpResponse
) -> None:
    provider = oauth2_provider(routed({("GET", AS_METADATA_URL): metadata}), mode, metadata=True)
    request = AuthorizationRequest("st", NONCE, "challenge", REDIRECT, NOW)
    result = only_login_errors(lambda: provider.authorize(request), {"provider_unavailable"})
    if not isinstance(result, GatewayError):
        parts = urlsplit(result.url)
        assert parts.scheme in ("https", "http")
        query = parse_qs(parts.query)
        assert (query["state"], query["client_id"], query["response_type"]) == (["st"], ["client-1"], ["code"])
        assert "nonce" not in query


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
GATEWAY_ISSUERS = {"sgid": SGID_ISSUER, "oidc": ISSUER, "oauth2": AS_ISSUER}
"""The providers the gateway-level properties log in with, and the ``iss`` each one's callback carries."""


def gateway_providers(http: AnsweringHttp) -> dict[str, Any]:
    """One provider of each of those types over ``http``, their discovery and metadata answered honestly."""
    http.on("GET", f"{ISSUER}/.well-known/openid-configuration", ok(DISCOVERY))
    http.on("GET", AS_METADATA_URL, ok(AS_METADATA))
    return {"sgid": sgid_provider(http), "oidc": oidc_provider(http), "oauth2": oauth2_provider(http, "access_token")}


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
    provider=st.sampled_from(sorted(GATEWAY_ISSUERS)) | texts,
    params=st.dictionaries(st.sampled_from(["state", "code", "error", "iss"]) | texts, texts, max_size=4),
    binding=st.none() | texts,
)
@example(provider="sgid", params={"state": "\ud800", "code": "c"}, binding="b")  # was a 500
def test_complete_login_with_any_parameters_and_cookie_fails_with_a_callback_code(
    provider: str, params: dict[str, str], binding: str | None
) -> None:
    store = MemoryStore()
    gateway = Gateway(SETTINGS, store, gateway_providers(AnsweringHttp()))
    with pytest.raises((LoginFailed, UnknownProvider)) as failure:  # no login transaction: it can only fail
        gateway.complete_login(provider, params, binding)
    if isinstance(failure.value, LoginFailed):
        assert failure.value.error.code in CALLBACK_CODES
        assert failure.value.location.startswith(FRONTEND + "/?")
    else:
        assert provider not in GATEWAY_ISSUERS


@settings(FUZZ, max_examples=80)
@given(
    provider=st.sampled_from(sorted(GATEWAY_ISSUERS)) | texts,
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
    gateway = Gateway(SETTINGS, store, gateway_providers(AnsweringHttp()), clock=lambda: float(NOW))
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
    store = MemoryStore()
    providers = gateway_providers(http)
    gateway = Gateway(SETTINGS, store, providers, clock=lambda: clock[0])
    CALLBACK_APP.GATEWAY = gateway  # type: ignore[attr-defined]

    # a login in progress, and what the provider will answer when it is finished
    started = data.draw(st.sampled_from(sorted(providers)))
    return_to = data.draw(st.sampled_from(["/", "/back", "/p?x=1&error=old#frag"]))
    login = gateway.begin_login(started, return_to, "https://id.example")
    [txn] = store.transactions.values()
    routes = data.draw(
        sgid_routes(txn.nonce) if started == "sgid" else oidc_routes(txn.nonce) if started == "oidc" else
        OAUTH2_ROUTES["access_token"]
    )  # fmt: skip
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
        "iss": usually(GATEWAY_ISSUERS[started], texts),
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
