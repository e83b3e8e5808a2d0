"""MyInfo v4: client assertion, DPoP binding, person JWE(JWS) by kid, and every check the client must make."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwe
from joserfc.jwk import ECKey
from singpass_gateway.errors import ConfigurationError, GatewayError
from singpass_gateway.http import HttpResponse
from singpass_gateway.keys.pem import PemKey
from singpass_gateway.providers import AuthorizationRequest, Callback
from singpass_gateway.providers.myinfo_v4 import MyInfoV4Provider, create
from singpass_gateway.settings import ProviderSettings

from tests.unit.fakes import FakeHttp, FakeSecrets, FakeToolkit, json_response, pem

API = "https://test.api.myinfo.gov.sg/com/v4"
AUTHORISE_JWKS = "https://test.authorise.singpass.gov.sg/.well-known/keys.json"
MYINFO_JWKS = "https://test.myinfo.singpass.gov.sg/.well-known/keys.json"
NOW = int(time.time())
REDIRECT = "https://app.example/auth/myinfo-v4/callback"
SUB = "6e6f7a2b-1b6d-4f59-9e42-0c6f0d1f3b0a"
SIGNING, NEXT_SIGNING = "arn:aws:secretsmanager:x:1:secret:sig", "arn:aws:secretsmanager:x:1:secret:sig-next"
ENC, NEXT_ENC = "arn:aws:secretsmanager:x:1:secret:enc", "arn:aws:secretsmanager:x:1:secret:enc-next"
PERSON = {
    "uinfin": {"value": "S9812381D", "source": "1", "classification": "C", "lastupdated": "2024-01-01"},
    "uuid": {"value": SUB},
    "name": {"value": "TAN HENG HUAT", "source": "1", "classification": "C", "lastupdated": "2024-01-01"},
}
PERSON_URL = f"{API}/person/{SUB}?scope=uinfin%20uuid%20name"


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


KEYS = {name: new_key() for name in (SIGNING, NEXT_SIGNING, ENC, NEXT_ENC, "authorise", "myinfo", "rogue")}


SECRETS = {name: pem(key) for name, key in KEYS.items()}


def kid(reference: str) -> str:
    return PemKey(reference, FakeSecrets(SECRETS)).key_id  # type: ignore[arg-type]


def make(http: FakeHttp, cooldown: float = 10, **options: Any) -> MyInfoV4Provider:
    base = {
        "environment": "test",
        "client_id": "STG2-CLIENT",
        "signing_key_arn": SIGNING,
        "decryption_key_arns": [ENC],
        "scopes": ["uinfin", "uuid", "name"],
        "purpose_id": "demonstration",
    }
    entry = ProviderSettings(id="myinfo-v4", type="myinfo-v4", name="MyInfo v4", options={**base, **options})
    return create(entry, FakeToolkit(http, SECRETS, refetch_cooldown_seconds=cooldown))  # type: ignore[arg-type]


def jwks(*names: str) -> dict[str, Any]:
    return {
        "keys": [{**ECKey.import_key(KEYS[name].public_key()).as_dict(), "kid": name, "use": "sig"} for name in names]
    }


def access_token(thumbprint: str, signer: str = "authorise", **overrides: Any) -> str:
    claims = {"sub": SUB, "exp": NOW + 1800, "iat": NOW, "cnf": {"jkt": thumbprint}, "scope": "uinfin uuid name"}
    return jwt.encode({**claims, **overrides}, KEYS[signer], algorithm="ES256", headers={"kid": signer})


def person_jwe(person: object = PERSON, *, to: str = ENC, signer: str = "myinfo", named: str | None = None) -> bytes:
    signed = jwt.encode(person, KEYS[signer], algorithm="ES256", headers={"kid": signer})  # type: ignore[arg-type]
    header = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "kid": named if named is not None else kid(to)}
    recipient = ECKey.import_key(KEYS[to].public_key())
    return jwe.encrypt_compact(header, signed, recipient, algorithms=["ECDH-ES+A256KW", "A256GCM"]).encode()


class Upstream:
    """MyInfo v4 as the client sees it; ``token`` builds the access token from the DPoP proof it receives."""

    def __init__(self, http: FakeHttp) -> None:
        self.http = http
        self.token = lambda thumbprint: access_token(thumbprint)
        http.on("GET", AUTHORISE_JWKS, json_response(jwks("authorise")))
        http.on("GET", MYINFO_JWKS, json_response(jwks("myinfo")))
        http.on("POST", f"{API}/token", self._token)
        self.person(person_jwe())

    def _token(self, headers: dict[str, str], **_: Any) -> HttpResponse:
        proof_jwk = jwt.get_unverified_header(headers["DPoP"])["jwk"]
        thumbprint = ECKey.import_key(proof_jwk).thumbprint()
        return json_response({"access_token": self.token(thumbprint), "token_type": "DPoP"})

    def person(self, body: bytes, status: int = 200) -> None:
        self.http.on("GET", PERSON_URL, HttpResponse(status, {"Content-Type": "application/jose"}, body))


@pytest.fixture
def upstream(fake_http: FakeHttp) -> Upstream:
    return Upstream(fake_http)


def callback() -> Callback:
    return Callback(code="code-1", params={}, code_verifier="v" * 64, nonce="n", redirect_uri=REDIRECT, now=NOW)


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def assert_fails(provider: MyInfoV4Provider, code: str) -> GatewayError:
    with pytest.raises(GatewayError) as raised:
        provider.complete(callback())
    assert raised.value.code == code, raised.value.detail
    return raised.value


def test_the_authorize_redirect_carries_pkce_purpose_and_scopes(fake_http: FakeHttp) -> None:
    url = make(fake_http).authorize(AuthorizationRequest("state-1", "n", "challenge-1", REDIRECT, NOW)).url
    assert url.startswith(f"{API}/authorize?")
    assert {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()} == {
        "client_id": "STG2-CLIENT",
        "scope": "uinfin uuid name",
        "purpose_id": "demonstration",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "code_challenge": "challenge-1",
        "code_challenge_method": "S256",
        "state": "state-1",
    }


def test_a_login_binds_token_and_person_call_to_one_dpop_key(fake_http: FakeHttp, upstream: Upstream) -> None:
    identity = make(fake_http).complete(callback())

    assert identity.sub == SUB
    assert identity.person == {"uinfin": "S9812381D", "uuid": SUB, "name": "TAN HENG HUAT"}
    assert identity.provenance["name"]["source"] == "1"
    token_call = next(r for r in fake_http.requests if r["method"] == "POST")
    person_call = next(r for r in fake_http.requests if r["url"] == PERSON_URL)
    form = token_call["form"]
    assert {key: form[key] for key in ("grant_type", "code", "redirect_uri", "client_id", "code_verifier")} == {
        "grant_type": "authorization_code",
        "code": "code-1",
        "redirect_uri": REDIRECT,
        "client_id": "STG2-CLIENT",
        "code_verifier": "v" * 64,
    }
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    token_proof, person_proof = token_call["headers"]["DPoP"], person_call["headers"]["DPoP"]
    proof_jwk = jwt.get_unverified_header(token_proof)["jwk"]
    assert "d" not in proof_jwk
    assert jwt.get_unverified_header(person_proof)["jwk"] == proof_jwk  # the same ephemeral key
    thumbprint = ECKey.import_key(proof_jwk).thumbprint()

    assertion_header = jwt.get_unverified_header(form["client_assertion"])
    assert (assertion_header["alg"], assertion_header["kid"]) == ("ES256", kid(SIGNING))
    assertion = jwt.decode(  # its times are checked against the login's clock below, not against this machine's
        form["client_assertion"],
        KEYS[SIGNING].public_key(),
        algorithms=["ES256"],
        audience=f"{API}/token",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert assertion["iat"] == NOW
    assert (assertion["iss"], assertion["sub"], assertion["cnf"]) == ("STG2-CLIENT", "STG2-CLIENT", {"jkt": thumbprint})
    assert assertion["exp"] - assertion["iat"] <= 300
    assert len(assertion["jti"]) >= 32

    assert jwt.get_unverified_header(token_proof)["typ"] == "dpop+jwt"
    token_claims, person_claims = claims_of(token_proof), claims_of(person_proof)
    assert (token_claims["htm"], token_claims["htu"], "ath" in token_claims) == ("POST", f"{API}/token", False)
    access = claims_of(upstream.token(thumbprint))
    assert person_call["headers"]["Authorization"].startswith("DPoP ey")
    expected_ath = base64.urlsafe_b64encode(
        hashlib.sha256(person_call["headers"]["Authorization"].removeprefix("DPoP ").encode()).digest()
    ).rstrip(b"=")
    assert (person_claims["htm"], person_claims["htu"]) == ("GET", f"{API}/person/{SUB}")  # no query
    assert person_claims["ath"] == expected_ath.decode()
    assert access["cnf"]["jkt"] == thumbprint
    assert person_call["single_use"] is True


def test_each_login_uses_a_fresh_dpop_key_and_assertion(fake_http: FakeHttp, upstream: Upstream) -> None:
    provider = make(fake_http)
    provider.complete(callback())
    provider.complete(callback())
    posts = [r for r in fake_http.requests if r["method"] == "POST"]
    assert len({json.dumps(jwt.get_unverified_header(r["headers"]["DPoP"])["jwk"]) for r in posts}) == 2
    assert len({claims_of(r["form"]["client_assertion"])["jti"] for r in posts}) == 2


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (lambda thumbprint: access_token(thumbprint, signer="rogue"), "invalid_token"),
        (lambda thumbprint: access_token("someone-elses-key"), "invalid_token"),
        (lambda thumbprint: access_token(thumbprint, exp=NOW - 120), "invalid_token"),
        (lambda thumbprint: access_token(thumbprint, sub=""), "invalid_token"),
        # a lone surrogate in sub raised UnicodeEncodeError building the person URL (found by fuzzing)
        (lambda thumbprint: access_token(thumbprint, sub="\ud800"), "invalid_token"),
        (lambda thumbprint: jwt.encode({"sub": SUB, "exp": NOW + 60}, "k" * 32, algorithm="HS256"), "invalid_token"),
    ],
    ids=["foreign-signer", "bound-to-another-key", "expired", "no-sub", "lone-surrogate-sub", "hs256"],
)
def test_access_tokens_that_are_not_myinfos_or_not_ours_are_refused(
    fake_http: FakeHttp, upstream: Upstream, token: Any, code: str
) -> None:
    upstream.token = token
    assert_fails(make(fake_http), code)


@pytest.mark.parametrize(
    "body",
    [
        person_jwe(signer="rogue"),  # JWS not by MyInfo (kid unknown even after a refetch)
        person_jwe(to=NEXT_ENC),  # encrypted to a key this client does not have configured
        person_jwe(named="unknown-kid"),
        person_jwe({**PERSON, "uuid": {"value": "another-person"}, "uinfin": {"value": "S0000000A"}}),
        json.dumps(PERSON).encode(),  # plain JSON is never accepted
        b"\xff\xfe not ascii",
        # a header nested past the JSON parser's limit raised RecursionError picking the key (found by fuzzing)
        base64.urlsafe_b64encode(b"[" * 5_000).rstrip(b"=") + b"." + person_jwe().split(b".", 1)[1],
    ],
    ids=["wrong-jws-key", "foreign-enc-key", "unknown-enc-kid", "someone-else", "plain-json", "binary", "deep-header"],
)
def test_person_data_the_client_must_not_trust_is_refused(fake_http: FakeHttp, upstream: Upstream, body: bytes) -> None:
    upstream.person(body)
    assert_fails(make(fake_http), "invalid_token")


@pytest.mark.parametrize("segment", [0, 2, 3, 4])
def test_a_tampered_person_jwe_is_refused(fake_http: FakeHttp, upstream: Upstream, segment: int) -> None:
    parts = person_jwe().decode().split(".")
    parts[segment] = parts[segment][:-2] + ("A" if parts[segment][-2] != "A" else "B") + parts[segment][-1]
    upstream.person(".".join(parts).encode())
    assert_fails(make(fake_http), "invalid_token")


def test_data_with_the_persons_nric_but_no_uuid_is_theirs_since_v4s_sub_is_a_uuid(
    fake_http: FakeHttp, upstream: Upstream
) -> None:
    upstream.person(person_jwe({name: value for name, value in PERSON.items() if name != "uuid"}))
    assert make(fake_http).complete(callback()).person["uinfin"] == "S9812381D"


def test_myinfos_signing_key_rotation_is_picked_up_with_one_refetch(fake_http: FakeHttp, upstream: Upstream) -> None:
    provider = make(fake_http, cooldown=0)
    provider.complete(callback())
    fake_http.on("GET", MYINFO_JWKS, json_response(jwks("myinfo", "rogue")))  # MyInfo publishes its next key
    upstream.person(person_jwe(signer="rogue"))
    assert provider.complete(callback()).sub == SUB
    assert fake_http.count("GET", MYINFO_JWKS) == 2


def test_during_rotation_both_encryption_keys_decrypt_and_all_keys_are_published(
    fake_http: FakeHttp, upstream: Upstream
) -> None:
    provider = make(fake_http, decryption_key_arns=[ENC, NEXT_ENC], additional_signing_key_arns=[NEXT_SIGNING])
    upstream.person(person_jwe(to=NEXT_ENC))
    assert provider.complete(callback()).sub == SUB
    published = {(key["kid"], key["use"], key["alg"]) for key in provider.client_jwks()}
    assert published == {
        (kid(SIGNING), "sig", "ES256"),
        (kid(NEXT_SIGNING), "sig", "ES256"),
        (kid(ENC), "enc", "ECDH-ES+A256KW"),
        (kid(NEXT_ENC), "enc", "ECDH-ES+A256KW"),
    }
    assert all("d" not in key for key in provider.client_jwks())


@pytest.mark.parametrize(
    ("option", "listed", "message"),
    [
        ("additional_signing_key_arns", [SIGNING], "'additional_signing_key_arns' repeats 'signing_key_arn'"),
        ("additional_signing_key_arns", [NEXT_SIGNING, NEXT_SIGNING], f"lists {NEXT_SIGNING} twice"),
        ("decryption_key_arns", [ENC, NEXT_ENC, ENC], f"'decryption_key_arns' lists {ENC} twice"),
        ("decryption_key_arns", [ENC, NEXT_ENC, NEXT_ENC], f"lists {NEXT_ENC} twice"),
    ],
)
def test_a_key_listed_twice_is_refused_at_start_up(
    fake_http: FakeHttp, option: str, listed: list[str], message: str
) -> None:
    """Two copies of one key share its kid: a JWKS with a repeated kid, and JWEs that match two keys and fail."""
    with pytest.raises(ConfigurationError, match=f"provider myinfo-v4: .*{message}"):
        make(fake_http, **{option: listed})


@pytest.mark.parametrize(
    ("step", "status", "code"),
    [
        ("token", 400, "token_rejected"),
        ("token", 401, "request_unauthorized"),
        ("token", 500, "provider_unavailable"),
        ("person", 401, "request_unauthorized"),
        ("person", 403, "request_forbidden"),
        ("person", 404, "no_myinfo_profile"),
        ("person", 503, "provider_maintenance"),
    ],
)
def test_myinfo_statuses_map_to_stable_codes(
    fake_http: FakeHttp, upstream: Upstream, step: str, status: int, code: str
) -> None:
    body = json.dumps({"code": status, "message": "S9812381D: Duplicate client_assertion"}).encode()
    if step == "token":
        fake_http.on("POST", f"{API}/token", HttpResponse(status, {}, body))
    else:
        upstream.person(body, status)
    assert "S9812381D" not in assert_fails(make(fake_http), code).detail
