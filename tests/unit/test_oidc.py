"""The generic OIDC provider: discovery, client authentication, RFC 9207 iss, ID token and userinfo rules."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from singpass_gateway.errors import (
    ConfigurationError,
    RefreshRejected,
)
from singpass_gateway.providers import AuthorizationRequest, Callback
from singpass_gateway.providers.oidc import OidcProvider, create
from singpass_gateway.settings import ProviderSettings

from tests.unit.fakes import FakeHttp, FakeToolkit, json_response
from tests.unit.upstream import public_jwk

ISSUER = "https://op.example"
SECRET_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:oidc"
KEY_ARN = "arn:aws:kms:ap-southeast-1:1:key/sig-key-id"
NOW = 1_800_000_000
NONCE = "nonce-1"
REDIRECT = "https://app.example/auth/oidc/callback"
DISCOVERY = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/auth",
    "token_endpoint": f"{ISSUER}/token",
    "userinfo_endpoint": f"{ISSUER}/me",
    "jwks_uri": f"{ISSUER}/jwks",
    "authorization_response_iss_parameter_supported": True,
}


def make(http: FakeHttp, **options: Any) -> OidcProvider:
    base = {"issuer": ISSUER, "client_id": "client 1", "client_secret_arn": SECRET_ARN, "scopes": ["openid", "email"]}
    entry = ProviderSettings(id="oidc", type="oidc", name="OIDC", options={**base, **options})
    return create(entry, FakeToolkit(http, {SECRET_ARN: "s3cret:with%chars"}))  # type: ignore[arg-type]


def at_hash(access_token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()[:16]).rstrip(b"=").decode()


def id_token(key: rsa.RSAPrivateKey) -> str:
    claims = {
        "iss": ISSUER, "aud": "client 1", "sub": "alice", "iat": NOW, "exp": NOW + 300, "nonce": NONCE,
        "at_hash": at_hash("at-1"), "acr": "loa2", "email": "alice@example.com",
    }  # fmt: skip
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture
def upstream(fake_http: FakeHttp, provider_key: rsa.RSAPrivateKey) -> FakeHttp:
    fake_http.on("GET", f"{ISSUER}/.well-known/openid-configuration", json_response(DISCOVERY))
    fake_http.on("GET", f"{ISSUER}/jwks", json_response({"keys": [public_jwk(provider_key)]}))
    tokens = {"access_token": "at-1", "id_token": id_token(provider_key), "token_type": "bearer"}
    fake_http.on("POST", f"{ISSUER}/token", json_response(tokens))
    fake_http.on("GET", f"{ISSUER}/me", json_response({"sub": "alice", "name": "Alice", "email": "alice@example.com"}))
    return fake_http


def callback() -> Callback:
    return Callback(
        code="code-1", params={"iss": ISSUER}, code_verifier="v" * 64, nonce=NONCE, redirect_uri=REDIRECT, now=NOW
    )


def test_the_authorization_url_comes_from_discovery_with_pkce_and_extra_parameters(upstream: FakeHttp) -> None:
    provider = make(upstream, authorization_params={"prompt": "consent"})
    url = provider.authorize(AuthorizationRequest("st", NONCE, "challenge", REDIRECT, NOW)).url
    params = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{ISSUER}/auth?")
    assert params["code_challenge_method"] == "S256"
    assert (params["state"], params["nonce"], params["prompt"], params["scope"]) == (
        "st",
        NONCE,
        "consent",
        "openid email",
    )


def test_a_login_uses_basic_auth_checks_the_id_token_and_reads_userinfo(upstream: FakeHttp) -> None:
    identity = make(upstream).complete(callback())

    [token_request] = [r for r in upstream.requests if r["method"] == "POST"]
    expected = "Basic " + base64.b64encode(b"client%201:s3cret%3Awith%25chars").decode()
    assert token_request["headers"] == {"Authorization": expected}
    assert token_request["form"]["code_verifier"] == "v" * 64
    assert "client_secret" not in token_request["form"]
    assert identity.sub == "alice"
    assert identity.person == {"name": "Alice", "email": "alice@example.com"}


def test_client_secret_post_sends_the_secret_in_the_body(upstream: FakeHttp) -> None:
    make(upstream, client_auth="client_secret_post").complete(callback())
    [token_request] = [r for r in upstream.requests if r["method"] == "POST"]
    assert token_request["form"]["client_secret"] == "s3cret:with%chars"
    assert token_request["headers"] == {}


def test_discovery_is_fetched_once_per_container(upstream: FakeHttp) -> None:
    provider = make(upstream)
    provider.complete(callback())
    provider.complete(callback())
    assert upstream.count("GET", f"{ISSUER}/.well-known/openid-configuration") == 1


def test_without_userinfo_the_person_comes_from_the_id_token(upstream: FakeHttp) -> None:
    identity = make(upstream, userinfo=False).complete(callback())
    assert identity.person == {"email": "alice@example.com"}
    assert identity.authentication == {"acr": "loa2"}
    assert upstream.count("GET", f"{ISSUER}/me") == 0


def test_explicit_endpoints_need_no_discovery(upstream: FakeHttp) -> None:
    provider = make(
        upstream, discovery=False, authorization_endpoint=f"{ISSUER}/auth", token_endpoint=f"{ISSUER}/token",
        jwks_uri=f"{ISSUER}/jwks", userinfo_endpoint=f"{ISSUER}/me",
    )  # fmt: skip
    bare = Callback(code="c", params={}, code_verifier="v" * 64, nonce=NONCE, redirect_uri=REDIRECT, now=NOW)
    assert provider.complete(bare).person["name"] == "Alice"
    assert upstream.count("GET", f"{ISSUER}/.well-known/openid-configuration") == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scopes": ["email"]}, "openid"),
        ({"client_auth": "none"}, "one of"),
        ({"authorization_params": {"state": "fixed"}}, "protocol parameters"),
        ({"discovery": False}, "authorization_endpoint"),
        ({"issuer": "http://op.example"}, "https"),
        (
            {"client_auth": "private_key_jwt", "signing_key_arn": KEY_ARN, "additional_signing_key_arns": [KEY_ARN]},
            "'additional_signing_key_arns' repeats 'signing_key_arn'",
        ),
    ],
)
def test_bad_configuration_is_refused_at_start_up(fake_http: FakeHttp, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make(fake_http, **options)


def test_a_login_keeps_the_refresh_token_as_a_grant(upstream: FakeHttp, provider_key: rsa.RSAPrivateKey) -> None:
    tokens = {"access_token": "at-1", "id_token": id_token(provider_key), "refresh_token": "rt-1"}
    upstream.on("POST", f"{ISSUER}/token", json_response(tokens))
    assert make(upstream).complete(callback()).grant == {"refresh_token": "rt-1", "sub": "alice"}


def test_without_a_refresh_token_nothing_is_kept(upstream: FakeHttp) -> None:
    assert make(upstream).complete(callback()).grant is None


@pytest.mark.parametrize(("answered", "kept"), [("rt-2", "rt-2"), (None, "rt-1")])
def test_a_refresh_keeps_the_rotated_token_or_the_old_one(upstream: FakeHttp, answered: str | None, kept: str) -> None:
    body = {"access_token": "at-1", **({"refresh_token": answered} if answered else {})}
    upstream.on("POST", f"{ISSUER}/token", json_response(body))

    refreshed = make(upstream).refresh({"refresh_token": "rt-1", "sub": "alice"}, NOW)

    [request] = [r for r in upstream.requests if r["method"] == "POST"]
    assert request["form"] == {"grant_type": "refresh_token", "refresh_token": "rt-1"}
    assert request["headers"]["Authorization"].startswith("Basic ")
    assert refreshed.grant == {"refresh_token": kept, "sub": "alice"}
    assert refreshed.person == {"name": "Alice", "email": "alice@example.com"}


def test_an_invalid_grant_ends_the_session(upstream: FakeHttp) -> None:
    upstream.on("POST", f"{ISSUER}/token", json_response({"error": "invalid_grant"}, 400))
    with pytest.raises(RefreshRejected):
        make(upstream).refresh({"refresh_token": "rt-1", "sub": "alice"}, NOW)


def test_revocation_sends_the_refresh_token_with_client_authentication(upstream: FakeHttp) -> None:
    upstream.on(
        "GET",
        f"{ISSUER}/.well-known/openid-configuration",
        json_response({**DISCOVERY, "revocation_endpoint": f"{ISSUER}/revoke"}),
    )
    upstream.on("POST", f"{ISSUER}/revoke", json_response({}))

    make(upstream).revoke({"refresh_token": "rt-1", "sub": "alice"})

    [request] = [r for r in upstream.requests if r["url"] == f"{ISSUER}/revoke"]
    assert request["form"] == {"token": "rt-1", "token_type_hint": "refresh_token"}
    assert request["headers"]["Authorization"].startswith("Basic ")


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_the_client_jwks_publishes_the_signing_key_for_its_assertion_algorithm(
    fake_http: FakeHttp, client_key: rsa.RSAPrivateKey, algorithm: str
) -> None:
    key = client_key if algorithm == "RS256" else ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    key_arn = "arn:aws:secretsmanager:ap-southeast-1:1:secret:oidc-signing-key"
    options = {
        "issuer": ISSUER, "client_id": "client 1", "client_auth": "private_key_jwt", "signing_key_arn": key_arn,
        "assertion_algorithm": algorithm,
    }  # fmt: skip
    provider = create(
        ProviderSettings(id="oidc", type="oidc", name="OIDC", options=options),
        FakeToolkit(fake_http, {key_arn: pem}),  # type: ignore[arg-type]
    )

    [published] = provider.client_jwks()

    assert (published["use"], published["alg"]) == ("sig", algorithm)
    assert "d" not in published
    assert jwt.PyJWK(published).key.public_numbers() == key.public_key().public_numbers()
