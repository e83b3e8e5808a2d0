"""MyInfo v3: PKI_SIGN against independently computed vectors, and every check MockPass does not make."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from joserfc import jwe
from joserfc.jwk import RSAKey
from singpass_gateway.errors import ConfigurationError, GatewayError
from singpass_gateway.http import HttpResponse
from singpass_gateway.keys.pem import PemKey
from singpass_gateway.providers import AuthorizationRequest, Callback
from singpass_gateway.providers.myinfo_v3 import (
    MyInfoV3Provider,
    create,
    load_certificate,
    pki_authorization,
    pki_base_string,
)
from singpass_gateway.settings import ProviderSettings

from tests.unit.fakes import FakeHttp, FakeSecrets, FakeToolkit, json_response, pem
from tests.unit.upstream import certificate

DATA = Path(__file__).parent / "data"
VECTORS = json.loads((DATA / "pki_sign_vectors.json").read_text())
API = "https://test.api.myinfo.gov.sg/com/v3"
NOW = int(time.time())
REDIRECT = "https://app.example/auth/myinfo-v3/callback"
SECRET_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:myinfo-secret"
KEY_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:myinfo-key"
UINFIN = "S9812381D"
PERSON_QUERY = "client_id=STG-CLIENT&attributes=uinfin,name,sex"
PERSON_URL = f"{API}/person/{UINFIN}?{PERSON_QUERY}"
PERSON = {
    "uinfin": {"value": UINFIN, "source": "1", "classification": "C", "lastupdated": "2020-02-04"},
    "name": {"value": "TAN HENG HUAT", "source": "1", "classification": "C", "lastupdated": "2020-02-04"},
    "sex": {"code": "M", "desc": "MALE", "source": "1", "classification": "C", "lastupdated": "2020-02-04"},
}


def toolkit(http: FakeHttp, client_key: rsa.RSAPrivateKey) -> FakeToolkit:
    return FakeToolkit(http, {SECRET_ARN: "client-s3cret", KEY_ARN: pem(client_key)})


def entry(**options: Any) -> ProviderSettings:
    base: dict[str, Any] = {
        "environment": "test",
        "client_id": "STG-CLIENT",
        "client_secret_arn": SECRET_ARN,
        "signing_key_arn": KEY_ARN,
        "decryption_key_arn": KEY_ARN,
        "attributes": ["uinfin", "name", "sex"],
        "purpose": "Demonstrating MyInfo",
    }
    return ProviderSettings(id="myinfo-v3", type="myinfo-v3", name="MyInfo", options={**base, **options})


@pytest.fixture
def make_provider(fake_http: FakeHttp, provider_key: rsa.RSAPrivateKey, client_key: rsa.RSAPrivateKey) -> Any:
    def make(**options: Any) -> MyInfoV3Provider:
        options.setdefault("myinfo_certificates", [certificate(provider_key)])
        return create(entry(**options), toolkit(fake_http, client_key))  # type: ignore[arg-type]

    return make


def access_token(key: rsa.RSAPrivateKey, **overrides: Any) -> str:
    claims = {"sub": UINFIN, "scope": ["uinfin", "name", "sex"], "exp": NOW + 1800, "iat": NOW, "aud": "myinfo"}
    return jwt.encode({**claims, **overrides}, key, algorithm="RS256")


def person_jwe(client_key: rsa.RSAPrivateKey, signer: rsa.RSAPrivateKey, person: object, quoted: bool = True) -> bytes:
    jws = jwt.encode(person, signer, algorithm="RS256")  # type: ignore[arg-type]
    plaintext = json.dumps(jws) if quoted else jws
    token = jwe.encrypt_compact(
        {"alg": "RSA-OAEP", "enc": "A256GCM"},
        plaintext,
        RSAKey.import_key(client_key.public_key()),
        algorithms=["RSA-OAEP", "A256GCM"],
    )
    return token.encode()


@pytest.fixture
def upstream(fake_http: FakeHttp, provider_key: rsa.RSAPrivateKey, client_key: rsa.RSAPrivateKey) -> FakeHttp:
    fake_http.on(
        "POST", f"{API}/token", json_response({"access_token": access_token(provider_key), "token_type": "Bearer"})
    )
    fake_http.on(
        "GET",
        PERSON_URL,
        HttpResponse(200, {"Content-Type": "application/jose"}, person_jwe(client_key, provider_key, PERSON)),
    )
    return fake_http


def callback() -> Callback:
    return Callback(code="code-1", params={}, code_verifier="v", nonce="n", redirect_uri=REDIRECT, now=NOW)


def authorization_fields(header: str) -> dict[str, str]:
    assert header.startswith("PKI_SIGN ")
    assert ", " not in header  # MockPass (and the official format) split on bare commas
    return dict(re.findall(r'(\w+)="([^"]*)"', header.split(",Bearer ")[0]))


def verifies(key: rsa.RSAPrivateKey, signature: str, base_string: str) -> bool:
    try:
        key.public_key().verify(base64.b64decode(signature), base_string.encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


# --- PKI_SIGN against independently computed vectors -------------------------------------------------------


@pytest.mark.parametrize("call", ["token", "person"])
def test_the_base_string_is_what_mockpass_recomputes(call: str) -> None:
    vector = VECTORS[call]
    fields = {
        "app_id": VECTORS["client_id"],
        "nonce": VECTORS["nonce"],
        "signature_method": "RS256",
        "timestamp": VECTORS["timestamp"],
    }
    assert pki_base_string(vector["method"], vector["url"], {**vector["params"], **fields}) == vector["baseString"]


@pytest.mark.parametrize("call", ["token", "person"])
def test_the_signature_is_what_node_computes_with_the_same_key(call: str) -> None:
    vector = VECTORS[call]
    secrets = FakeSecrets({KEY_ARN: (DATA / "pki_sign_test_key.pem").read_text()})
    key = PemKey(KEY_ARN, secrets)  # type: ignore[arg-type]
    header = pki_authorization(
        key,
        method=vector["method"],
        url=vector["url"],
        params=vector["params"],
        app_id=VECTORS["client_id"],
        timestamp_ms=int(VECTORS["timestamp"]),
        nonce=VECTORS["nonce"],
    )
    assert authorization_fields(header) == {
        "timestamp": VECTORS["timestamp"],
        "nonce": VECTORS["nonce"],
        "app_id": VECTORS["client_id"],
        "signature_method": "RS256",
        "signature": vector["signature"],
    }


# --- authorise -----------------------------------------------------------------------------------------------


def test_the_authorise_redirect_carries_the_seeds_parameters(make_provider: Any) -> None:
    provider = make_provider()
    url = provider.authorize(AuthorizationRequest("state-1", "nonce-1", "challenge", REDIRECT, NOW)).url
    assert url.startswith(f"{API}/authorise?")
    assert "attributes=uinfin,name,sex" in url  # commas, not %2C
    assert {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()} == {
        "client_id": "STG-CLIENT",
        "attributes": "uinfin,name,sex",
        "purpose": "Demonstrating MyInfo",
        "state": "state-1",
        "redirect_uri": REDIRECT,
        "response_type": "code",
    }


def test_optional_authorise_parameters_are_sent_when_configured(make_provider: Any) -> None:
    provider = make_provider(authmode="SINGPASS", login_type="QR", app_launch_url="myapp://back", sp_esvc_id="ESVC-1")
    query = parse_qs(urlsplit(provider.authorize(AuthorizationRequest("s", "n", "c", REDIRECT, NOW)).url).query)
    assert (query["authmode"], query["login_type"], query["appLaunchURL"], query["sp_esvcId"]) == (
        ["SINGPASS"],
        ["QR"],
        ["myapp://back"],
        ["ESVC-1"],
    )


# --- a whole login -----------------------------------------------------------------------------------------------


def test_a_login_signs_both_calls_and_returns_the_verified_person(
    make_provider: Any, upstream: FakeHttp, client_key: rsa.RSAPrivateKey
) -> None:
    identity = make_provider().complete(callback())

    assert identity.sub == UINFIN
    assert identity.person == {"uinfin": UINFIN, "name": "TAN HENG HUAT", "sex": "MALE"}
    assert identity.provenance["name"] == {"source": "1", "classification": "C", "lastupdated": "2020-02-04"}
    token_call, person_call = upstream.requests
    assert token_call["form"] == {
        "grant_type": "authorization_code",
        "code": "code-1",
        "redirect_uri": REDIRECT,
        "client_id": "STG-CLIENT",
        "client_secret": "client-s3cret",
    }
    nonces = []
    for call, url, params in (
        (token_call, f"{API}/token", token_call["form"]),
        (person_call, f"{API}/person/{UINFIN}", {"client_id": "STG-CLIENT", "attributes": "uinfin,name,sex"}),
    ):
        header = call["headers"]["Authorization"]
        fields = authorization_fields(header)
        assert fields["app_id"] == "STG-CLIENT"
        assert abs(int(fields["timestamp"]) - time.time() * 1000) < 5000  # milliseconds, now
        base = pki_base_string(call["method"], url, {**params, **{k: v for k, v in fields.items() if k != "signature"}})
        assert verifies(client_key, fields["signature"], base)
        assert call["headers"]["Cache-Control"] == "no-cache"
        nonces.append(fields["nonce"])
    assert person_call["headers"]["Authorization"].endswith(f",Bearer {access_token_of(upstream)}")
    assert person_call["single_use"] is True  # a retry would repeat its nonce, which MyInfo refuses
    assert len(set(nonces)) == 2
    assert all(len(nonce) >= 32 for nonce in nonces)


def access_token_of(upstream: FakeHttp) -> str:
    token: str = json.loads(upstream.routes[("POST", f"{API}/token")]().body)["access_token"]
    return token


def test_every_login_signs_with_fresh_nonces(make_provider: Any, upstream: FakeHttp) -> None:
    provider = make_provider()
    provider.complete(callback())
    provider.complete(callback())
    nonces = [authorization_fields(call["headers"]["Authorization"])["nonce"] for call in upstream.requests]
    assert len(set(nonces)) == 4


def test_the_unquoted_jws_mockpass_sends_is_accepted_too(
    make_provider: Any, upstream: FakeHttp, provider_key: rsa.RSAPrivateKey, client_key: rsa.RSAPrivateKey
) -> None:
    body = person_jwe(client_key, provider_key, PERSON, quoted=False)
    upstream.on("GET", PERSON_URL, HttpResponse(200, {}, body))
    assert make_provider().complete(callback()).person["name"] == "TAN HENG HUAT"


def test_only_the_consented_attributes_are_asked_for(
    make_provider: Any, upstream: FakeHttp, provider_key: rsa.RSAPrivateKey, client_key: rsa.RSAPrivateKey
) -> None:
    token = access_token(provider_key, scope=["uinfin", "name"])
    upstream.on("POST", f"{API}/token", json_response({"access_token": token, "token_type": "Bearer"}))
    person = {name: PERSON[name] for name in ("uinfin", "name")}
    upstream.on(
        "GET",
        f"{API}/person/{UINFIN}?client_id=STG-CLIENT&attributes=uinfin,name",
        HttpResponse(200, {}, person_jwe(client_key, provider_key, person)),
    )
    assert make_provider().complete(callback()).person == {"uinfin": UINFIN, "name": "TAN HENG HUAT"}


def test_government_and_saas_parameters_reach_the_person_call_and_its_signature(
    make_provider: Any, upstream: FakeHttp, client_key: rsa.RSAPrivateKey
) -> None:
    provider = make_provider(sp_esvc_id="ESVC-1", subentity="180099736H", send_txn_no=True)
    with pytest.raises(KeyError):  # the fake upstream has no route for the person URL with its random txnNo
        provider.complete(callback())

    person_call = upstream.requests[-1]
    query = {key: values[0] for key, values in parse_qs(urlsplit(person_call["url"]).query).items()}
    assert (query["sp_esvcId"], query["subentity"]) == ("ESVC-1", "180099736H")
    assert re.fullmatch(r"[0-9a-f]{20}", query["txnNo"])
    fields = authorization_fields(person_call["headers"]["Authorization"])
    signed = {**query, **{key: value for key, value in fields.items() if key != "signature"}}
    assert verifies(client_key, fields["signature"], pki_base_string("GET", f"{API}/person/{UINFIN}", signed))


# --- what must be refused ----------------------------------------------------------------------------------------


def test_during_rotation_either_certificate_verifies(
    make_provider: Any,
    upstream: FakeHttp,
    provider_key: rsa.RSAPrivateKey,
    other_key: rsa.RSAPrivateKey,
    client_key: rsa.RSAPrivateKey,
) -> None:
    upstream.on("POST", f"{API}/token", json_response({"access_token": access_token(other_key)}))
    upstream.on(
        "GET",
        PERSON_URL,
        HttpResponse(200, {}, person_jwe(client_key, other_key, PERSON)),
    )
    provider = make_provider(myinfo_certificates=[certificate(provider_key), certificate(other_key)])
    assert provider.complete(callback()).sub == UINFIN


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        jwt.encode({"sub": UINFIN, "exp": NOW + 60}, "k" * 32, algorithm="HS256"),
        jwt.encode({"sub": UINFIN, "exp": NOW + 60}, None, algorithm="none"),  # type: ignore[arg-type]
    ],
    ids=["garbage", "hs256", "alg-none"],
)
def test_access_tokens_not_rs256_signed_by_myinfo_are_refused(
    make_provider: Any, upstream: FakeHttp, token: str
) -> None:
    upstream.on("POST", f"{API}/token", json_response({"access_token": token}))
    assert_login_fails(make_provider(), "invalid_token")


@pytest.mark.parametrize(
    "overrides",
    [{"exp": NOW - 120}, {"exp": None}, {"sub": None}, {"sub": ""}, {"sub": "\ud800"}, {"scope": ["vehicles"]}],
    # a lone surrogate in sub raised UnicodeEncodeError building the person URL (found by fuzzing)
    ids=["expired", "no-exp", "no-sub", "empty-sub", "lone-surrogate-sub", "no-configured-attribute"],
)
def test_access_token_claims_are_checked(
    make_provider: Any, upstream: FakeHttp, provider_key: rsa.RSAPrivateKey, overrides: dict[str, Any]
) -> None:
    claims = {key: value for key, value in overrides.items() if value is not None}
    token = access_token(provider_key, **claims)
    if None in overrides.values():
        decoded = jwt.decode(token, options={"verify_signature": False})
        for key in (key for key, value in overrides.items() if value is None):
            decoded.pop(key)
        token = jwt.encode(decoded, provider_key, algorithm="RS256")
    upstream.on("POST", f"{API}/token", json_response({"access_token": token}))
    assert_login_fails(make_provider(), "invalid_token")


def test_person_data_encrypted_to_another_key_is_refused(
    make_provider: Any, upstream: FakeHttp, provider_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    set_person(upstream, person_jwe(other_key, provider_key, PERSON))
    assert_login_fails(make_provider(), "invalid_token")


@pytest.mark.parametrize("segment", [1, 2, 3, 4])
def test_a_tampered_person_jwe_is_refused(
    make_provider: Any,
    upstream: FakeHttp,
    provider_key: rsa.RSAPrivateKey,
    client_key: rsa.RSAPrivateKey,
    segment: int,
) -> None:
    parts = person_jwe(client_key, provider_key, PERSON).decode().split(".")
    flipped = parts[segment][:-2] + ("A" if parts[segment][-2] != "A" else "B") + parts[segment][-1]
    parts[segment] = flipped
    set_person(upstream, ".".join(parts).encode())
    assert_login_fails(make_provider(), "invalid_token")


# --- the seed's error statuses, each a stable code ------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "token_rejected"),
        (401, "request_unauthorized"),
        (403, "request_forbidden"),
        (404, "request_forbidden"),
        (500, "provider_unavailable"),
        (503, "provider_maintenance"),
    ],
)
def test_token_errors_map_to_stable_codes(make_provider: Any, upstream: FakeHttp, status: int, code: str) -> None:
    body = {"code": status, "message": f"Signature verification failed, POST&...&client_secret=client-s3cret&{UINFIN}"}
    upstream.on("POST", f"{API}/token", json_response(body, status))
    error = assert_login_fails(make_provider(), code)
    assert "client-s3cret" not in error.detail
    assert UINFIN not in error.detail


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, "request_unauthorized"),
        (403, "request_forbidden"),
        (404, "no_myinfo_profile"),
        (500, "provider_unavailable"),
        (503, "provider_maintenance"),
    ],
)
def test_person_errors_map_to_stable_codes(make_provider: Any, upstream: FakeHttp, status: int, code: str) -> None:
    set_person(upstream, json.dumps({"code": status, "message": f"UIN/FIN {UINFIN} does not exist"}).encode(), status)
    error = assert_login_fails(make_provider(), code)
    assert UINFIN not in error.detail


def test_a_refusal_nested_past_the_json_parsers_limit_keeps_its_statuss_code(
    make_provider: Any, upstream: FakeHttp
) -> None:
    upstream.on("POST", f"{API}/token", HttpResponse(401, {}, b"[" * 5_000))  # raised RecursionError (fuzzing)
    assert "(code none)" in assert_login_fails(make_provider(), "request_unauthorized").detail


# --- MyInfo's sandbox environment, and configuration --------------------------------------------------------


def test_the_sandbox_environment_is_unsigned_plain_json_by_explicit_setting(
    fake_http: FakeHttp, client_key: rsa.RSAPrivateKey, provider_key: rsa.RSAPrivateKey
) -> None:
    sandbox = "https://sandbox.api.myinfo.gov.sg/com/v3"
    options = {"environment": "sandbox", "signing_key_arn": None, "decryption_key_arn": None}
    provider = create(entry(**options), toolkit(fake_http, client_key))  # type: ignore[arg-type]
    fake_http.on("POST", f"{sandbox}/token", json_response({"access_token": access_token(provider_key)}))
    fake_http.on("GET", f"{sandbox}/person/{UINFIN}?{PERSON_QUERY}", json_response(PERSON))

    assert provider.complete(callback()).person["name"] == "TAN HENG HUAT"
    token_call, person_call = fake_http.requests
    assert "Authorization" not in token_call["headers"]
    assert person_call["headers"]["Authorization"] == f"Bearer {access_token(provider_key)}"


@pytest.mark.parametrize(
    "options",
    [
        {"myinfo_certificates": []},
        {"myinfo_certificates": ["not a certificate"]},
        {"environment": "staging"},
        {"signing_key_arn": "a-pem-in-plain-config"},
        {"attributes": "name,sex"},
        {"purpose": ""},
        {"unknown_option": True},
    ],
)
def test_bad_configuration_is_refused_with_a_clear_message(
    fake_http: FakeHttp, client_key: rsa.RSAPrivateKey, provider_key: rsa.RSAPrivateKey, options: dict[str, Any]
) -> None:
    settings = entry(**{"myinfo_certificates": [certificate(provider_key)], **options})
    with pytest.raises(ConfigurationError, match="myinfo-v3"):
        create(settings, toolkit(fake_http, client_key))  # type: ignore[arg-type]


def test_certificates_load_from_pem_or_bare_base64_der(provider_key: rsa.RSAPrivateKey) -> None:
    text = certificate(provider_key)
    der = base64.b64encode(x509.load_pem_x509_certificate(text.encode()).public_bytes(serialization.Encoding.DER))
    expected = provider_key.public_key().public_numbers()
    assert load_certificate(text, "p").public_numbers() == expected  # type: ignore[union-attr]
    assert load_certificate(der.decode(), "p").public_numbers() == expected  # type: ignore[union-attr]
    assert load_certificate(text.replace("\n", "\\n"), "p").public_numbers() == expected  # type: ignore[union-attr]


def set_person(upstream: FakeHttp, body: bytes, status: int = 200) -> None:
    upstream.on("GET", PERSON_URL, HttpResponse(status, {}, body))


def assert_login_fails(provider: MyInfoV3Provider, code: str) -> GatewayError:
    with pytest.raises(GatewayError) as raised:
        provider.complete(callback())
    assert raised.value.code == code, raised.value.detail
    return raised.value
