"""sgID provider: what MockPass does not check, proven on the gateway's side."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwe
from joserfc.jwk import OctKey, RSAKey
from singpass_gateway.errors import ConfigurationError, InvalidToken, ProviderUnavailable, TokenRejected
from singpass_gateway.flows import pkce_challenge
from singpass_gateway.providers import AuthorizationRequest, Callback
from singpass_gateway.providers.sgid import SgidProvider, create, parse_value
from singpass_gateway.settings import ProviderSettings

from tests.unit.fakes import FakeHttp, FakeToolkit, json_response, pem
from tests.unit.upstream import public_jwk

ISSUER = "https://sgid.example/v2"
NOW = 1_800_000_000
VERIFIER = "v" * 64
NONCE = "nonce-123"
REDIRECT = "https://app.example/auth/sgid/callback"


SECRET_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:sgid"
KEY_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:sgid-key"


def toolkit(http: FakeHttp, client_key: rsa.RSAPrivateKey) -> FakeToolkit:
    return FakeToolkit(http, {SECRET_ARN: "s3cret", KEY_ARN: pem(client_key)})


def entry(**options: Any) -> ProviderSettings:
    base = {
        "issuer": ISSUER,
        "client_id": "client-1",
        "client_secret_arn": SECRET_ARN,
        "decryption_key_arn": KEY_ARN,
        "scopes": ["openid", "myinfo.name", "myinfo.vehicles", "myinfo.email"],
    }
    return ProviderSettings(id="sgid", type="sgid", name="sgID", options={**base, **options})


@pytest.fixture
def provider(fake_http: FakeHttp, client_key: rsa.RSAPrivateKey) -> SgidProvider:
    return create(entry(), toolkit(fake_http, client_key))  # type: ignore[arg-type]


def id_token(key: rsa.RSAPrivateKey) -> str:
    claims = {"iss": ISSUER, "aud": "client-1", "sub": "u=1", "iat": NOW, "exp": NOW + 600, "nonce": NONCE}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def userinfo(client_key: rsa.RSAPrivateKey, fields: dict[str, str]) -> dict[str, Any]:
    block = OctKey.generate_key(256)
    key_jwe = jwe.encrypt_compact(
        {"alg": "RSA-OAEP", "enc": "A128CBC-HS256"},
        json.dumps(block.as_dict(private=True)),
        RSAKey.import_key(client_key.public_key()),
        algorithms=["RSA-OAEP", "A128CBC-HS256"],
    )
    data = {
        name: jwe.encrypt_compact({"alg": "dir", "enc": "A256GCM"}, value, block, algorithms=["dir", "A256GCM"])
        for name, value in fields.items()
    }
    return {"sub": "u=1", "key": key_jwe, "data": data}


@pytest.fixture
def upstream(fake_http: FakeHttp, provider_key: rsa.RSAPrivateKey, client_key: rsa.RSAPrivateKey) -> FakeHttp:
    fake_http.on("GET", f"{ISSUER}/.well-known/jwks.json", json_response({"keys": [public_jwk(provider_key)]}))
    fake_http.on(
        "POST",
        f"{ISSUER}/oauth/token",
        json_response({"access_token": "at-1", "id_token": id_token(provider_key), "token_type": "Bearer"}),
    )
    fields = {"myinfo.name": "TAN HENG HUAT", "myinfo.vehicles": '[{"vehicle_number":"SBA1"}]', "myinfo.email": "NA"}
    fake_http.on("GET", f"{ISSUER}/oauth/userinfo", json_response(userinfo(client_key, fields)))
    return fake_http


def callback(code: str = "code-1") -> Callback:
    return Callback(code=code, params={}, code_verifier=VERIFIER, nonce=NONCE, redirect_uri=REDIRECT, now=NOW)


def test_the_authorization_url_carries_pkce_s256_state_nonce_and_scopes(provider: SgidProvider) -> None:
    url = provider.authorize(AuthorizationRequest("st", NONCE, pkce_challenge(VERIFIER), REDIRECT, NOW)).url
    from urllib.parse import parse_qs, urlsplit

    params = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{ISSUER}/oauth/authorize?")
    assert params == {
        "response_type": "code",
        "client_id": "client-1",
        "redirect_uri": REDIRECT,
        "scope": "openid myinfo.name myinfo.vehicles myinfo.email",
        "state": "st",
        "nonce": NONCE,
        "code_challenge": pkce_challenge(VERIFIER),
        "code_challenge_method": "S256",
    }


def test_complete_sends_verifier_and_secret_and_returns_plain_person_values(
    provider: SgidProvider, upstream: FakeHttp
) -> None:
    identity = provider.complete(callback())

    [token_request] = [r for r in upstream.requests if r["method"] == "POST"]
    assert token_request["form"] == {
        "grant_type": "authorization_code",
        "client_id": "client-1",
        "client_secret": "s3cret",
        "redirect_uri": REDIRECT,
        "code": "code-1",
        "code_verifier": VERIFIER,
    }
    [userinfo_request] = [r for r in upstream.requests if r["url"].endswith("/userinfo")]
    assert userinfo_request["headers"] == {"Authorization": "Bearer at-1"}
    assert identity.sub == "u=1"
    assert identity.person == {
        "myinfo.name": "TAN HENG HUAT",
        "myinfo.vehicles": [{"vehicle_number": "SBA1"}],
        "myinfo.email": None,
    }


def test_person_data_encrypted_to_another_key_is_rejected(
    provider: SgidProvider, upstream: FakeHttp, other_key: rsa.RSAPrivateKey
) -> None:
    upstream.on("GET", f"{ISSUER}/oauth/userinfo", json_response(userinfo(other_key, {"myinfo.name": "X"})))
    with pytest.raises(InvalidToken):
        provider.complete(callback())


def test_only_openid_gives_an_empty_person(provider: SgidProvider, upstream: FakeHttp) -> None:
    upstream.on("GET", f"{ISSUER}/oauth/userinfo", json_response({"sub": "u=1"}))
    assert provider.complete(callback()).person == {}


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, {"error": "invalid_grant", "error_description": "code S1234567A reused"}, TokenRejected),
        (401, {"error": "invalid_client"}, TokenRejected),
        (500, {"message": "boom"}, ProviderUnavailable),
        (503, {}, ProviderUnavailable),
        (200, ["not", "an", "object"], ProviderUnavailable),
        (200, {"access_token": "a"}, InvalidToken),
        (200, {"access_token": "a", "id_token": "b", "token_type": "DPoP"}, InvalidToken),
    ],
)
def test_token_endpoint_failures_map_to_stable_errors(
    provider: SgidProvider, upstream: FakeHttp, status: int, body: object, error: type[Exception]
) -> None:
    upstream.on("POST", f"{ISSUER}/oauth/token", json_response(body, status))
    with pytest.raises(error) as raised:
        provider.complete(callback())
    assert "S1234567A" not in str(raised.value)  # upstream descriptions never reach the error


def test_userinfo_refusal_is_reported_with_its_oauth_code_only(provider: SgidProvider, upstream: FakeHttp) -> None:
    refusal = json_response({}, 401, {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="x"'})
    upstream.on("GET", f"{ISSUER}/oauth/userinfo", refusal)
    with pytest.raises(TokenRejected, match="invalid_token"):
        provider.complete(callback())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scopes": ["myinfo.name"]}, "openid"),
        ({"client_secret_arn": "plain-secret"}, "ARN"),
        ({"issuer": "http://sgid.example/v2"}, "https"),
        ({"colour": "red"}, "unknown option"),
    ],
)
def test_bad_configuration_is_refused_at_start_up(
    fake_http: FakeHttp, client_key: rsa.RSAPrivateKey, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        create(entry(**options), toolkit(fake_http, client_key))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "value"),
    [("NA", None), ("1998-06", "1998-06"), ("123", "123"), ('["a"]', ["a"]), ('{"a":1}', {"a": 1}), ("[x", "[x")],
)
def test_field_values_become_plain_values(raw: str, value: object) -> None:
    assert parse_value(raw) == value
