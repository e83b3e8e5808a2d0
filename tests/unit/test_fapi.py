"""Singpass FAPI 2.0 behaviours, proven against a scripted upstream: PAR, DPoP, assertions, encrypted tokens, and
keys being rotated (whole logins through the hostile-provider harness)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwe
from joserfc.jwk import ECKey
from singpass_gateway.errors import ConfigurationError, InvalidToken, TokenRejected
from singpass_gateway.http import HttpResponse
from singpass_gateway.jose import JwksCache
from singpass_gateway.keys.pem import thumbprint
from singpass_gateway.providers import AuthorizationRequest, Callback
from singpass_gateway.providers.oidc import OidcProvider, parse_config
from singpass_gateway.providers.singpass import create
from singpass_gateway.settings import ProviderSettings

from tests.unit.fakes import FakeHttp, json_response
from tests.unit.upstream import DROP, KEYS, RotatingSingpassUpstream, SingpassUpstream, Twist

ISSUER = "https://id.example/fapi"
NOW = 1_800_000_000
NONCE = "nonce-1"
REDIRECT = "https://app.example/auth/singpass/callback"
SIGNING_ARN = "arn:aws:kms:ap-southeast-1:1:key/sig-key-id"
DECRYPTION_ARN = "arn:aws:kms:ap-southeast-1:1:key/enc-key-id"
DISCOVERY = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/auth",
    "pushed_authorization_request_endpoint": f"{ISSUER}/par",
    "token_endpoint": f"{ISSUER}/token",
    "userinfo_endpoint": f"{ISSUER}/userinfo",
    "jwks_uri": f"{ISSUER}/jwks",
    "require_pushed_authorization_requests": True,
    "authorization_response_iss_parameter_supported": True,
}


class LocalEcKey:
    """The key interface over an in-memory P-256 key."""

    def __init__(self, arn: str) -> None:
        self.reference, self.key = arn, ec.generate_private_key(ec.SECP256R1())

    @property
    def key_id(self) -> str:
        return self.reference.rsplit("/", 1)[-1]

    def sign(self, message: bytes, alg: str) -> bytes:
        assert alg == "ES256"
        return self.key.sign(message, ec.ECDSA(hashes.SHA256()))

    def ecdh(self, peer: ec.EllipticCurvePublicKey) -> bytes:
        return self.key.exchange(ec.ECDH(), peer)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.key.public_key()


class Toolkit:
    def __init__(self, http: FakeHttp) -> None:
        self.http, self.jwks = http, JwksCache(http)  # type: ignore[arg-type]
        self.keys = {SIGNING_ARN: LocalEcKey(SIGNING_ARN), DECRYPTION_ARN: LocalEcKey(DECRYPTION_ARN)}
        self.pauses: list[float] = []

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)

    def key(self, reference: str) -> LocalEcKey:
        return self.keys[reference]


PROVIDER_KEY = ec.generate_private_key(ec.SECP256R1())


def make(http: FakeHttp, **options: Any) -> tuple[OidcProvider, Toolkit]:
    toolkit = Toolkit(http)
    base = {
        "issuer": ISSUER,
        "client_id": "client-1",
        "signing_key_arn": SIGNING_ARN,
        "decryption_key_arn": DECRYPTION_ARN,
        "app": "myinfo",  # the tests below read userinfo; Login apps: test_singpass_apps.py
        "scopes": ["openid", "name"],
    }
    entry = ProviderSettings(id="singpass", type="singpass", name="Singpass", options={**base, **options})
    return create(entry, toolkit), toolkit  # type: ignore[arg-type]


def encrypted(toolkit: Toolkit, claims: dict[str, Any]) -> str:
    signed = jwt.encode(claims, PROVIDER_KEY, algorithm="ES256", headers={"kid": "p1"})
    recipient = ECKey.import_key(toolkit.keys[DECRYPTION_ARN].public_key())
    header = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "cty": "JWT", "kid": "enc-key-id"}
    return jwe.encrypt_compact(header, signed, recipient, algorithms=["ECDH-ES+A256KW", "A256GCM"])


def id_claims() -> dict[str, Any]:
    return {"iss": ISSUER, "aud": "client-1", "sub": "u-1", "iat": NOW, "exp": NOW + 300, "nonce": NONCE,
            "acr": "urn:singpass:authentication:loa:2", "amr": ["pwd", "swk"]}  # fmt: skip


@pytest.fixture
def upstream(fake_http: FakeHttp) -> FakeHttp:
    provider_jwk = {**jwt.algorithms.ECAlgorithm.to_jwk(PROVIDER_KEY.public_key(), as_dict=True), "kid": "p1"}
    fake_http.on("GET", f"{ISSUER}/.well-known/openid-configuration", json_response(DISCOVERY))
    fake_http.on("GET", f"{ISSUER}/jwks", json_response({"keys": [provider_jwk]}))
    fake_http.on("POST", f"{ISSUER}/par", json_response({"request_uri": "urn:x:1", "expires_in": 60}, 201))
    return fake_http


def answer_tokens(upstream: FakeHttp, toolkit: Toolkit) -> None:
    body = {"access_token": "at-1", "token_type": "DPoP", "id_token": encrypted(toolkit, id_claims())}
    upstream.on("POST", f"{ISSUER}/token", json_response(body))
    userinfo = {"iss": ISSUER, "aud": "client-1", "sub": "u-1", "iat": NOW,
                "person_info": {"name": {"value": "TAN HENG HUAT", "source": "1"}}}  # fmt: skip
    upstream.on(
        "GET",
        f"{ISSUER}/userinfo",
        HttpResponse(200, {"Content-Type": "application/jwt"}, encrypted(toolkit, userinfo).encode()),
    )


def start(provider: OidcProvider) -> tuple[str, dict[str, str]]:
    authorization = provider.authorize(AuthorizationRequest("st", NONCE, "challenge", REDIRECT, NOW))
    return authorization.url, dict(authorization.remember)


def finish(provider: OidcProvider, remembered: dict[str, str]) -> Any:
    params = {"iss": ISSUER}
    return provider.complete(Callback("code-1", params, "v" * 64, NONCE, REDIRECT, NOW, remembered))


def decode(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


def test_par_pushes_everything_and_the_browser_gets_only_a_request_uri(upstream: FakeHttp) -> None:
    provider, toolkit = make(upstream)
    url, remembered = start(provider)

    assert url == f"{ISSUER}/auth?client_id=client-1&request_uri=urn%3Ax%3A1"
    [par] = upstream.requests[-1:]
    form = par["form"]
    assert (form["state"], form["nonce"], form["code_challenge"], form["code_challenge_method"]) == (
        "st",
        NONCE,
        "challenge",
        "S256",
    )
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    header, claims = decode(form["client_assertion"])
    assert (header["alg"], header["kid"], header["typ"]) == ("ES256", "sig-key-id", "JWT")
    assert claims["iss"] == claims["sub"] == "client-1"
    assert claims["aud"] == ISSUER  # FAPI 2.0 / Singpass: the issuer, not the token endpoint
    assert claims["exp"] - claims["iat"] <= 120
    assert len(claims["jti"]) >= 32
    public_key = toolkit.keys[SIGNING_ARN].public_key()
    jwt.decode(
        form["client_assertion"], public_key, algorithms=["ES256"], audience=ISSUER, options={"verify_iat": False}
    )
    proof_header, proof = decode(par["headers"]["DPoP"])
    assert proof_header["typ"] == "dpop+jwt"
    assert "d" not in proof_header["jwk"]
    assert (proof["htm"], proof["htu"]) == ("POST", f"{ISSUER}/par")
    assert json.loads(remembered["dpop_key"])["kty"] == "EC"


def test_a_dpop_nonce_request_is_retried_once_with_a_fresh_assertion(upstream: FakeHttp) -> None:
    answers = iter([
        json_response({"error": "use_dpop_nonce"}, 400, {"DPoP-Nonce": "n-1"}),
        json_response({"request_uri": "urn:x:2"}, 201),
    ])  # fmt: skip
    upstream.on("POST", f"{ISSUER}/par", lambda **_: next(answers))
    provider, _ = make(upstream)

    url, _ = start(provider)

    first, second = [r for r in upstream.requests if r["url"] == f"{ISSUER}/par"]
    assert url.endswith("request_uri=urn%3Ax%3A2")
    assert "nonce" not in decode(first["headers"]["DPoP"])[1]
    assert decode(second["headers"]["DPoP"])[1]["nonce"] == "n-1"
    assert decode(first["form"]["client_assertion"])[1]["jti"] != decode(second["form"]["client_assertion"])[1]["jti"]


def test_a_second_nonce_demand_is_not_retried_again(upstream: FakeHttp) -> None:
    counter = iter(range(10))
    upstream.on(
        "POST", f"{ISSUER}/par",
        lambda **_: json_response({"error": "use_dpop_nonce"}, 400, {"DPoP-Nonce": f"n-{next(counter)}"}),
    )  # fmt: skip
    provider, _ = make(upstream)
    with pytest.raises(TokenRejected, match="use_dpop_nonce"):
        start(provider)
    assert upstream.count("POST", f"{ISSUER}/par") == 2


def test_a_login_binds_every_step_to_one_dpop_key_and_decrypts_both_tokens(upstream: FakeHttp) -> None:
    provider, toolkit = make(upstream)
    _, remembered = start(provider)
    answer_tokens(upstream, toolkit)

    identity = finish(provider, remembered)

    par, token, userinfo = (r for r in upstream.requests if r["url"].endswith(("/par", "/token", "/userinfo")))
    keys = [decode(request["headers"]["DPoP"])[0]["jwk"] for request in (par, token, userinfo)]
    assert keys[0] == keys[1] == keys[2]
    assert userinfo["headers"]["Authorization"] == "DPoP at-1"
    assert userinfo["single_use"] is True  # a retried proof would be a replayed jti
    proof = decode(userinfo["headers"]["DPoP"])[1]
    expected_ath = base64.urlsafe_b64encode(hashlib.sha256(b"at-1").digest()).rstrip(b"=").decode()
    assert (proof["htm"], proof["htu"], proof["ath"], proof["iat"]) == ("GET", f"{ISSUER}/userinfo", expected_ath, NOW)
    assert "ath" not in decode(token["headers"]["DPoP"])[1]
    assert identity.person == {"name": "TAN HENG HUAT"}
    assert identity.authentication == {"acr": "urn:singpass:authentication:loa:2", "amr": ["pwd", "swk"]}


def test_an_id_token_encrypted_to_another_key_is_refused(upstream: FakeHttp) -> None:
    provider, _ = make(upstream)
    _, remembered = start(provider)
    stranger = Toolkit(upstream)  # other keys
    body = {"access_token": "a", "token_type": "DPoP", "id_token": encrypted(stranger, id_claims())}
    upstream.on("POST", f"{ISSUER}/token", json_response(body))
    with pytest.raises(InvalidToken):
        finish(provider, remembered)


def test_the_client_jwks_publishes_both_public_keys(upstream: FakeHttp) -> None:
    provider, toolkit = make(upstream)
    keys = {key["use"]: key for key in provider.client_jwks()}
    assert (keys["sig"]["kid"], keys["sig"]["alg"]) == ("sig-key-id", "ES256")
    assert (keys["enc"]["kid"], keys["enc"]["alg"]) == ("enc-key-id", "ECDH-ES+A256KW")
    assert all("d" not in key for key in keys.values())
    assert ECKey.import_key(keys["sig"]).thumbprint() == thumbprint(toolkit.keys[SIGNING_ARN].public_key())


@pytest.mark.parametrize("missing", ["client_id", "signing_key_arn", "decryption_key_arn"])
def test_singpass_needs_its_keys_and_client_id(fake_http: FakeHttp, missing: str) -> None:
    toolkit = Toolkit(fake_http)
    options = {"client_id": "c", "signing_key_arn": SIGNING_ARN, "decryption_key_arn": DECRYPTION_ARN}
    del options[missing]
    with pytest.raises(ConfigurationError, match=missing):
        create(ProviderSettings(id="singpass", type="singpass", name="Singpass", options=options), toolkit)  # type: ignore[arg-type]


def test_the_dpop_proof_omits_query_and_fragment_from_htu() -> None:
    from singpass_gateway.jose import dpop_proof, new_dpop_key

    proof = dpop_proof(new_dpop_key(), "GET", "https://rs.example/userinfo?x=1#frag", NOW)
    claims = decode(proof)[1]
    assert claims["htu"] == "https://rs.example/userinfo"
    assert claims["iat"] == NOW
    assert len(base64.urlsafe_b64decode(claims["jti"] + "==")) >= 12  # at least 96 random bits


# -- keys being rotated: a whole login through the harness's Singpass ------------------------------------------


def kid_of(key: ec.EllipticCurvePrivateKey) -> str:
    """The kid the gateway publishes for a PEM key: its RFC 7638 thumbprint."""
    return thumbprint(key.public_key())


def test_a_rotating_client_publishes_current_and_next_keys_each_under_its_own_kid() -> None:
    upstream = RotatingSingpassUpstream()

    published = upstream.gateway.client_jwks("singpass")["keys"]

    keys = [
        KEYS.client_ec_signing,
        KEYS.client_ec_next_signing,
        KEYS.client_ec_decryption,
        KEYS.client_ec_next_decryption,
    ]
    assert [(jwk["use"], jwk["alg"], jwk["kid"]) for jwk in published] == [
        ("sig", "ES256", kid_of(keys[0])),
        ("sig", "ES256", kid_of(keys[1])),
        ("enc", "ECDH-ES+A256KW", kid_of(keys[2])),
        ("enc", "ECDH-ES+A256KW", kid_of(keys[3])),
    ]
    assert [ECKey.import_key(jwk).thumbprint() for jwk in published] == [jwk["kid"] for jwk in published]
    assert all("d" not in jwk for jwk in published)


@pytest.mark.parametrize("next_key", [False, True], ids=["to-the-current-key", "to-the-additional-key"])
def test_a_login_succeeds_whichever_published_key_singpass_encrypts_to(next_key: bool) -> None:
    upstream = RotatingSingpassUpstream()
    upstream.encrypt_to(KEYS.client_ec_next_decryption if next_key else KEYS.client_ec_decryption)

    outcome = upstream.login()

    assert (outcome.error, outcome.complaints, outcome.sessions) == (None, (), 1)
    for endpoint in ("par", "token"):  # the next signing key is published, never used
        [request] = upstream.requests_to(endpoint)
        assert jwt.get_unverified_header(request["form"]["client_assertion"])["kid"] == kid_of(KEYS.client_ec_signing)


@pytest.mark.parametrize(
    ("rotating", "encryption"),
    [
        (True, {"id_token": Twist(jwe={"kid": "a-retired-key"})}),
        (True, {"userinfo": Twist(jwe={"kid": "a-retired-key"})}),
        (True, {"id_token": Twist(jwe={"kid": DROP})}),  # two keys could decrypt it: no guessing
        (False, "next"),  # the additional key is accepted only while configured
        (True, "foreign"),
    ],
    ids=["id-token-unknown-kid", "userinfo-unknown-kid", "no-kid-among-two", "next-key-not-configured", "foreign"],
)
def test_a_token_encrypted_to_a_key_the_client_does_not_hold_is_refused_without_a_session(
    rotating: bool, encryption: Any
) -> None:
    upstream = RotatingSingpassUpstream() if rotating else SingpassUpstream()
    if encryption == "next":
        upstream.encrypt_to(KEYS.client_ec_next_decryption)
    elif encryption == "foreign":
        upstream.encrypt_to(KEYS.foreign_ec)
    else:
        upstream.misbehave(**encryption)

    outcome = upstream.login()

    assert (outcome.error, outcome.sessions, outcome.complaints) == ("invalid_token", 0, ())
    assert "encrypted to a key this client does not have" in outcome.reason


def test_one_decryption_key_decrypts_a_jwe_that_names_no_kid() -> None:
    upstream = SingpassUpstream().misbehave(id_token=Twist(jwe={"kid": DROP}), userinfo=Twist(jwe={"kid": DROP}))

    assert upstream.login().error is None


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("additional_signing_key_arns", "need private_key_jwt"),
        ("additional_decryption_key_arns", "need decryption_key_arn"),
    ],
)
def test_an_additional_key_needs_the_key_it_rotates(option: str, message: str) -> None:
    options = {"issuer": ISSUER, "client_id": "c", "client_secret_arn": "arn:aws:secretsmanager:x:1:secret:s"}
    entry = ProviderSettings(id="op", type="oidc", name="OP", options={**options, option: [DECRYPTION_ARN]})

    with pytest.raises(ConfigurationError, match=message):
        parse_config(entry)


NEXT_ARN = "arn:aws:kms:ap-southeast-1:1:key/next-key-id"


@pytest.mark.parametrize(
    ("option", "listed", "message"),
    [
        ("additional_signing_key_arns", [SIGNING_ARN], "'additional_signing_key_arns' repeats 'signing_key_arn'"),
        ("additional_signing_key_arns", [NEXT_ARN, NEXT_ARN], f"'additional_signing_key_arns' lists {NEXT_ARN} twice"),
        ("additional_decryption_key_arns", [NEXT_ARN, DECRYPTION_ARN], "repeats 'decryption_key_arn'"),
        ("additional_decryption_key_arns", [NEXT_ARN, NEXT_ARN], f"lists {NEXT_ARN} twice"),
    ],
)
def test_a_key_listed_twice_is_refused_at_start_up(
    fake_http: FakeHttp, option: str, listed: list[str], message: str
) -> None:
    """Two copies of one key share its kid: a JWKS with a repeated kid, and JWEs that match two keys and fail."""
    with pytest.raises(ConfigurationError, match=f"provider singpass: .*{message}"):
        make(fake_http, **{option: listed})
