"""The MyInfo v4 emulator, driven by a hand-written client: one full login, then one refusal per enforced rule."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwe, jws, jwt
from joserfc.jwk import ECKey, KeySet

from infra.sandbox.myinfo_v4 import run_myinfo_v4
from infra.sandbox.processes import free_port

from .myinfo_v4_support import (
    PERSONA,
    PERSONAS,
    ClientKeys,
    JwksServer,
    b64url,
    jose_header,
    new_key,
    persona_uuid,
    private_jwk,
    public_jwk,
    sign,
    thumbprint,
)

pytestmark = pytest.mark.stack

CLIENT_ID = "STG2-MYINFO-V4-TEST"
PURPOSE_BOUND_CLIENT = "STG2-MYINFO-V4-ONE-PURPOSE"
"""A client registered with purpose_ids ["only-this-purpose"]."""
NO_ENC_KEY_CLIENT = "STG2-MYINFO-V4-NO-ENC-KEY"
"""A client whose JWKS has no enc key."""
DEAD_JWKS_CLIENT = "STG2-MYINFO-V4-DEAD-JWKS"
"""A client whose jwks_uri answers 404."""
REDIRECT_URI = "http://127.0.0.1:5000/callback"
ALLOWED_SCOPES = ["uinfin", "name", "sex", "dob", "regadd", "email", "mobileno", "uuid"]
SCOPE = "uinfin name sex dob regadd"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
Overrides = dict[str, Any]


def merged(base: dict[str, Any], overrides: Overrides) -> dict[str, Any]:
    """`base` updated by `overrides`, where an override of None removes the member."""
    result = {**base, **overrides}
    return {name: value for name, value in result.items() if value is not None}


@dataclass
class Login:
    code: str
    verifier: str


@dataclass
class Token:
    access_token: str
    key: ec.EllipticCurvePrivateKey
    """The DPoP key the token is bound to."""


class Client:
    """A MyInfo v4 client written from the protocol description, with a knob for every part it sends."""

    def __init__(self, base_url: str, keys: ClientKeys, client_id: str = CLIENT_ID) -> None:
        self.base_url = base_url
        self.keys = keys
        self.client_id = client_id
        self.token_url = f"{base_url}/com/v4/token"

    def person_url(self, sub: str) -> str:
        return f"{self.base_url}/com/v4/person/{sub}"

    def authorize(self, verifier: str, **overrides: str | None) -> requests.Response:
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        params = {
            "client_id": self.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": SCOPE,
            "purpose_id": "demonstration",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "state-123",
        }
        return requests.get(
            f"{self.base_url}/com/v4/authorize", params=merged(params, overrides), allow_redirects=False, timeout=10
        )

    def login(self, **overrides: str | None) -> Login:
        verifier = secrets.token_urlsafe(32)
        response = self.authorize(verifier, **overrides)
        assert response.status_code == 302, response.text
        return Login(code=callback(response)["code"], verifier=verifier)

    def assertion(
        self,
        dpop_key: ec.EllipticCurvePrivateKey,
        signing_key: ec.EllipticCurvePrivateKey | bytes | None = None,
        header: Overrides | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        base_claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(30),
            "cnf": {"jkt": thumbprint(public_jwk(dpop_key))},
        }
        base_header = {"typ": "JWT", "alg": "ES256", "kid": self.keys.sig_kid}
        return sign(merged(base_header, header or {}), merged(base_claims, claims), signing_key or self.keys.sig)

    def proof(
        self,
        key: ec.EllipticCurvePrivateKey,
        method: str,
        url: str,
        access_token: str | None = None,
        signing_key: ec.EllipticCurvePrivateKey | bytes | None = None,
        header: Overrides | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        base_claims: dict[str, Any] = {
            "htu": url,
            "htm": method,
            "jti": secrets.token_urlsafe(30),
            "iat": now,
            "exp": now + 120,
        }
        if access_token is not None:
            base_claims["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
        base_header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": {**public_jwk(key), "use": "sig", "alg": "ES256"}}
        return sign(merged(base_header, header or {}), merged(base_claims, claims), signing_key or key)

    def token(
        self,
        login: Login,
        key: ec.EllipticCurvePrivateKey,
        assertion: str | None = None,
        proof: str | None = None,
        **form: str | None,
    ) -> requests.Response:
        body = {
            "grant_type": "authorization_code",
            "code": login.code,
            "redirect_uri": REDIRECT_URI,
            "client_id": self.client_id,
            "code_verifier": login.verifier,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion or self.assertion(key),
        }
        headers = {"DPoP": proof or self.proof(key, "POST", self.token_url), "Cache-Control": "no-cache"}
        return requests.post(self.token_url, data=merged(body, form), headers=headers, timeout=10)

    def access(self, **login_overrides: str | None) -> Token:
        key = new_key()
        response = self.token(self.login(**login_overrides), key)
        assert response.status_code == 200, response.text
        return Token(response.json()["access_token"], key)

    def person(
        self,
        token: Token,
        sub: str | None = None,
        scope: str = SCOPE,
        proof: str | None = None,
        authorization: str | None = None,
    ) -> requests.Response:
        url = self.person_url(sub or persona_uuid(PERSONA))
        headers = {
            "Authorization": authorization or f"DPoP {token.access_token}",
            "DPoP": proof or self.proof(token.key, "GET", url, token.access_token),
            "Cache-Control": "no-cache",
        }
        return requests.get(url, params={"scope": scope}, headers=headers, timeout=10)

    def open_person(self, response: requests.Response) -> dict[str, Any]:
        """Decrypt the person JWE with the client's enc key and verify the JWS with the MyInfo JWKS."""
        decrypted = jwe.decrypt_compact(
            response.text, ECKey.import_key(self.keys.enc), algorithms=["ECDH-ES+A256KW", "A256GCM"]
        )
        assert decrypted.plaintext is not None
        myinfo_jwks = KeySet.import_key_set(
            requests.get(f"{self.base_url}/myinfo/.well-known/keys.json", timeout=10).json()
        )
        verified = jws.deserialize_compact(decrypted.plaintext, myinfo_jwks, algorithms=["ES256"])
        data: dict[str, Any] = json.loads(verified.payload)
        return data


def callback(response: requests.Response) -> dict[str, str]:
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def error(response: requests.Response) -> str:
    """The error text of an OAuth ({error_description}) or MyInfo ({message}) error body."""
    body = response.json()
    text: str = body.get("error_description") or body["message"]
    return text


# ------------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def keys() -> ClientKeys:
    return ClientKeys()


@pytest.fixture(scope="module")
def jwks_server(keys: ClientKeys) -> Iterator[JwksServer]:
    with JwksServer(keys.jwks()).running() as server:
        yield server


def start(
    jwks_server: JwksServer, workdir: Path, show_login_page: bool = False, ttl: int = 0
) -> contextlib.AbstractContextManager[str]:
    """An emulator with the test clients registered; a `ttl` shortens codes' and access tokens' lives."""
    client = {"client_id": CLIENT_ID, "redirect_uris": [REDIRECT_URI], "jwks_uri": jwks_server.url}
    clients = [
        {**client, "scopes": ALLOWED_SCOPES},
        {**client, "client_id": PURPOSE_BOUND_CLIENT, "purpose_ids": ["only-this-purpose"]},
        {**client, "client_id": NO_ENC_KEY_CLIENT, "jwks_uri": f"{jwks_server.origin}/jwks-sig-only"},
        {**client, "client_id": DEAD_JWKS_CLIENT, "jwks_uri": f"{jwks_server.origin}/nothing-here"},
    ]
    return run_myinfo_v4(
        free_port(), clients, show_login_page, workdir, code_ttl_seconds=ttl or 60, token_ttl_seconds=ttl or 1800
    )


@pytest.fixture(scope="module")
def client(jwks_server: JwksServer, keys: ClientKeys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    with start(jwks_server, tmp_path_factory.mktemp("myinfo-v4")) as base_url:
        yield Client(base_url, keys)


@pytest.fixture(scope="module")
def short_lived(
    jwks_server: JwksServer, keys: ClientKeys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Client]:
    """An emulator whose codes and access tokens live one second."""
    with start(jwks_server, tmp_path_factory.mktemp("myinfo-v4-short"), ttl=1) as url:
        yield Client(url, keys)


@pytest.fixture(scope="module")
def picker(jwks_server: JwksServer, keys: ClientKeys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """An emulator that shows the persona picker."""
    with start(jwks_server, tmp_path_factory.mktemp("myinfo-v4-picker"), show_login_page=True) as base_url:
        yield Client(base_url, keys)


# --------------------------------------------------------------------------------------------------- the happy path
def test_a_full_login_returns_the_personas_data_encrypted_and_signed(client: Client, keys: ClientKeys) -> None:
    login = client.login()
    key = new_key()
    token_response = client.token(login, key)

    assert token_response.status_code == 200, token_response.text
    assert token_response.headers["Cache-Control"] == "no-store"
    body = token_response.json()
    assert body["token_type"] == "DPoP"
    assert body["scope"] == SCOPE
    assert body["expires_in"] == 1800
    authorise_jwks = KeySet.import_key_set(requests.get(f"{client.base_url}/.well-known/keys.json", timeout=10).json())
    access = jwt.decode(body["access_token"], authorise_jwks, algorithms=["ES256"])
    assert access.header["kid"] == authorise_jwks.keys[0].kid
    claims = access.claims
    assert claims["sub"] == persona_uuid(PERSONA)
    assert claims["aud"] == CLIENT_ID
    assert claims["iss"] == client.base_url
    assert claims["scope"] == SCOPE
    assert claims["cnf"] == {"jkt": thumbprint(public_jwk(key))}
    assert 1790 <= claims["exp"] - time.time() <= 1800

    response = client.person(Token(body["access_token"], key), sub=claims["sub"])

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/jose"
    header = jose_header(response.text)
    assert (header["alg"], header["enc"], header["kid"]) == ("ECDH-ES+A256KW", "A256GCM", keys.enc_kid)
    person = client.open_person(response)
    assert person["name"]["value"] == "TAN HENG HUAT"
    assert person["uinfin"]["value"] == PERSONA
    assert person["regadd"]["postal"]["value"] == "460102"
    assert set(person) == set(SCOPE.split())


def test_the_state_comes_back_with_the_code(client: Client) -> None:
    response = client.authorize(secrets.token_urlsafe(32), state="a b&c=d")

    assert response.status_code == 302
    assert callback(response)["state"] == "a b&c=d"
    assert len(callback(response)["code"]) >= 43


def test_person_data_holds_only_the_scopes_asked_for(client: Client) -> None:
    token = client.access()

    response = client.person(token, scope="name")

    assert response.status_code == 200, response.text
    assert set(client.open_person(response)) == {"name"}


# ------------------------------------------------------------------------------------------------------ authorize
@pytest.mark.parametrize(
    ("overrides", "status", "message"),
    [
        pytest.param({"client_id": "someone-else"}, 404, "unknown client_id", id="unknown-client"),
        pytest.param({"redirect_uri": REDIRECT_URI + "/x"}, 400, "redirect_uri", id="unregistered-redirect-uri"),
        pytest.param({"redirect_uri": None}, 400, "redirect_uri", id="no-redirect-uri"),
        pytest.param({"response_type": "token"}, 400, "response_type", id="response-type-token"),
        pytest.param({"code_challenge": None}, 400, "code_challenge", id="no-code-challenge"),
        pytest.param({"code_challenge": "short"}, 400, "code_challenge", id="malformed-code-challenge"),
        pytest.param({"code_challenge_method": "plain"}, 400, "S256", id="plain-pkce"),
        pytest.param({"code_challenge_method": None}, 400, "S256", id="no-pkce-method"),
        pytest.param({"purpose_id": None}, 400, "purpose_id", id="no-purpose-id"),
    ],
)
def test_authorize_refuses_bad_parameters_without_redirecting(
    client: Client, overrides: dict[str, str | None], status: int, message: str
) -> None:
    response = client.authorize(secrets.token_urlsafe(32), **overrides)

    assert response.status_code == status
    assert "Location" not in response.headers
    assert response.json()["error"] in {"invalid_request", "invalid_client"}
    assert message in error(response)


def test_a_client_registered_with_purpose_ids_may_use_only_those(client: Client) -> None:
    bound = Client(client.base_url, client.keys, PURPOSE_BOUND_CLIENT)

    refused = bound.authorize(secrets.token_urlsafe(32), purpose_id="demonstration")
    accepted = bound.authorize(secrets.token_urlsafe(32), purpose_id="only-this-purpose")

    assert refused.status_code == 400
    assert "purpose_id is not registered" in error(refused)
    assert accepted.status_code == 302


def test_a_client_without_a_scopes_list_may_ask_for_any_attribute(client: Client) -> None:
    bound = Client(client.base_url, client.keys, PURPOSE_BOUND_CLIENT)

    assert (
        bound.authorize(secrets.token_urlsafe(32), purpose_id="only-this-purpose", scope="cpfbalances").status_code
        == 302
    )


def test_authorize_refuses_a_repeated_parameter(client: Client) -> None:
    query = f"client_id={CLIENT_ID}&client_id=other&redirect_uri={REDIRECT_URI}"

    response = requests.get(f"{client.base_url}/com/v4/authorize?{query}", allow_redirects=False, timeout=10)

    assert response.status_code == 400
    assert "repeated" in error(response)


def test_the_response_type_may_be_left_out_as_the_official_demo_app_does(client: Client) -> None:
    assert client.authorize(secrets.token_urlsafe(32), response_type=None).status_code == 302


@pytest.mark.parametrize("scope", ["name cpfbalances", "", "name  nosuchthing"])
def test_a_scope_the_client_may_not_ask_for_goes_back_as_invalid_scope(client: Client, scope: str) -> None:
    response = client.authorize(secrets.token_urlsafe(32), scope=scope)

    assert response.status_code == 302
    params = callback(response)
    assert params["error"] == "invalid_scope"
    assert params["state"] == "state-123"
    assert "code" not in params


# ---------------------------------------------------------------------------------------------- code and PKCE
@pytest.mark.parametrize(
    ("form", "status", "error_code", "message"),
    [
        pytest.param(
            {"redirect_uri": REDIRECT_URI + "?x"}, 400, "invalid_grant", "redirect_uri", id="other-redirect-uri"
        ),
        pytest.param({"code_verifier": None}, 400, "invalid_request", "code_verifier", id="no-verifier"),
        pytest.param({"code_verifier": "a" * 43}, 400, "invalid_grant", "code_challenge", id="wrong-verifier"),
        pytest.param({"code_verifier": "a" * 42}, 400, "invalid_grant", "malformed", id="short-verifier"),
        pytest.param({"code": "not-a-code"}, 400, "invalid_grant", "invalid, expired", id="unknown-code"),
        pytest.param({"grant_type": "refresh_token"}, 400, "unsupported_grant_type", "grant_type", id="grant-type"),
        pytest.param({"client_id": "someone-else"}, 401, "invalid_client", "unknown client_id", id="unknown-client"),
        pytest.param(
            {"client_assertion_type": "x"}, 401, "invalid_client", "client_assertion_type", id="assertion-type"
        ),
        pytest.param({"client_assertion": None}, 401, "invalid_client", "client_assertion missing", id="no-assertion"),
    ],
)
def test_the_token_endpoint_checks_the_grant(
    client: Client, form: dict[str, str | None], status: int, error_code: str, message: str
) -> None:
    response = client.token(client.login(), new_key(), **form)

    assert response.status_code == status, response.text
    assert response.json()["error"] == error_code
    assert message in error(response)


def test_a_code_is_spent_by_its_first_exchange(client: Client) -> None:
    login = client.login()
    assert client.token(login, new_key()).status_code == 200

    again = client.token(login, new_key())

    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_a_code_is_good_only_for_the_client_it_was_issued_to(client: Client) -> None:
    other = Client(client.base_url, client.keys, PURPOSE_BOUND_CLIENT)
    login = other.login(purpose_id="only-this-purpose")

    response = client.token(login, new_key())

    assert response.status_code == 400
    assert "issued to another client" in error(response)


def test_a_client_jwks_that_cannot_be_fetched_is_a_502(client: Client) -> None:
    dead = Client(client.base_url, client.keys, DEAD_JWKS_CLIENT)

    response = dead.token(dead.login(), new_key())

    assert response.status_code == 502
    assert "JWKS could not be fetched" in error(response)


def test_person_data_cannot_be_sealed_for_a_client_without_an_enc_key(client: Client) -> None:
    no_enc = Client(client.base_url, client.keys, NO_ENC_KEY_CLIENT)
    token = no_enc.access()

    response = no_enc.person(token)

    assert response.status_code == 500
    assert "no EC P-256 enc key" in error(response)


def test_a_failed_verifier_spends_the_code_too(client: Client) -> None:
    login = client.login()
    assert client.token(login, new_key(), code_verifier="b" * 43).status_code == 400

    assert client.token(login, new_key()).status_code == 400


def test_a_code_expires(short_lived: Client) -> None:
    login = short_lived.login()
    time.sleep(2.1)

    response = short_lived.token(login, new_key())

    assert response.status_code == 400
    assert "expired" in error(response)


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        pytest.param("application/x-www-form-urlencoded", b"", "No body", id="empty"),
        pytest.param("application/json", b'{"grant_type": "authorization_code"}', "Content-Type", id="json"),
        pytest.param("application/x-www-form-urlencoded", b"a=1&" * 20000, "too large", id="huge"),
        pytest.param("application/x-www-form-urlencoded", b"\xff\xfe=\xff&%%%", "grant_type", id="garbage"),
    ],
)
def test_a_bad_token_body_is_a_400(client: Client, content_type: str, body: bytes, message: str) -> None:
    response = requests.post(client.token_url, data=body, headers={"Content-Type": content_type}, timeout=10)

    assert response.status_code == 400
    assert message in error(response)


# ----------------------------------------------------------------------------------------------- client assertion
Assertion = Callable[[Client, ec.EllipticCurvePrivateKey], str]
OTHER_KEY = new_key()


@pytest.mark.parametrize(
    ("make_assertion", "message"),
    [
        pytest.param(
            lambda c, k: c.assertion(k, OTHER_KEY, header={"kid": "unknown"}), "kid is not a sig key", id="unknown-kid"
        ),
        pytest.param(lambda c, k: c.assertion(k, OTHER_KEY), "signature invalid", id="other-key-same-kid"),
        pytest.param(
            lambda c, k: c.assertion(k, c.keys.enc, header={"kid": c.keys.enc_kid}), "not a sig key", id="enc-key"
        ),
        pytest.param(lambda c, k: c.assertion(k, header={"kid": None}), "no kid", id="no-kid"),
        pytest.param(lambda c, k: c.assertion(k, b"secret", header={"alg": "HS256"}), "alg must be ES256", id="hs256"),
        pytest.param(lambda c, k: c.assertion(k)[:-4] + "AAAA", "signature invalid", id="bad-signature"),
        pytest.param(lambda c, k: c.assertion(k, iss="someone-else"), "iss", id="wrong-iss"),
        pytest.param(lambda c, k: c.assertion(k, sub="someone-else"), "sub", id="wrong-sub"),
        pytest.param(lambda c, k: c.assertion(k, aud=c.base_url), "aud", id="aud-is-the-issuer"),
        pytest.param(lambda c, k: c.assertion(k, aud=[c.token_url]), "aud", id="aud-array"),
        pytest.param(
            lambda c, k: c.assertion(k, aud=c.token_url.replace("127.0.0.1", "localhost")), "aud", id="aud-other-host"
        ),
        pytest.param(
            lambda c, k: c.assertion(k, iat=int(time.time()) - 400, exp=int(time.time()) - 100), "expired", id="expired"
        ),
        pytest.param(lambda c, k: c.assertion(k, exp=int(time.time()) + 600), "too far", id="exp-too-far"),
        pytest.param(lambda c, k: c.assertion(k, iat=int(time.time()) + 60), "future", id="iat-in-future"),
        pytest.param(lambda c, k: c.assertion(k, iat=None), "iat missing", id="no-iat"),
        pytest.param(lambda c, k: c.assertion(k, exp=None), "exp missing", id="no-exp"),
        pytest.param(lambda c, k: c.assertion(k, jti=None), "jti missing", id="no-jti"),
        pytest.param(lambda c, k: c.assertion(k, cnf=None), "cnf.jkt missing", id="no-cnf"),
        pytest.param(lambda c, k: c.assertion(OTHER_KEY), "cnf.jkt does not match", id="cnf-jkt-of-another-key"),
        pytest.param(lambda c, k: "not-a-jwt", "not a compact JWS", id="garbage"),
    ],
)
def test_the_client_assertion_is_checked(client: Client, make_assertion: Assertion, message: str) -> None:
    key = new_key()

    response = client.token(client.login(), key, assertion=make_assertion(client, key))

    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert message in error(response)


def test_a_replayed_client_assertion_is_refused(client: Client) -> None:
    key = new_key()
    assertion = client.assertion(key)
    assert client.token(client.login(), key, assertion=assertion).status_code == 200

    replay = client.token(client.login(), key, assertion=assertion)

    assert replay.status_code == 401
    assert error(replay) == "Duplicate client_assertion"


def test_a_signing_key_published_after_the_jwks_was_cached_is_fetched(client: Client, jwks_server: JwksServer) -> None:
    assert client.token(client.login(), new_key()).status_code == 200  # the JWKS is cached now
    rotated = new_key()
    kid = thumbprint(public_jwk(rotated))
    jwks_server.keys = [*jwks_server.keys, {**public_jwk(rotated), "kid": kid, "use": "sig", "alg": "ES256"}]
    fetches = jwks_server.fetches
    key = new_key()

    response = client.token(client.login(), key, assertion=client.assertion(key, rotated, header={"kid": kid}))

    assert response.status_code == 200, response.text
    assert jwks_server.fetches == fetches + 1


# ---------------------------------------------------------------------------------------------- DPoP at /token
Proof = Callable[[Client, ec.EllipticCurvePrivateKey], str]
P384_KEY = new_key(ec.SECP384R1())


def token_proof(**claims: Any) -> Proof:
    return lambda c, k: c.proof(k, "POST", c.token_url, **_now(claims))


def _now(claims: dict[str, Any]) -> dict[str, Any]:
    """Claims with time offsets (``iat_offset=60``) turned into times now, when the proof is made, not when the
    test module is collected (a full suite runs minutes later)."""
    timed = {
        name.removesuffix("_offset"): int(time.time()) + value
        for name, value in claims.items()
        if name.endswith("_offset")
    }
    return {**{name: value for name, value in claims.items() if not name.endswith("_offset")}, **timed}


DPOP_CASES = [
    pytest.param(token_proof(header={"typ": "JWT"}), "typ", id="typ-jwt"),
    pytest.param(token_proof(header={"typ": None}), "typ", id="no-typ"),
    pytest.param(token_proof(signing_key=b"secret", header={"alg": "HS256"}), "alg", id="hs256"),
    pytest.param(
        lambda c, k: c.proof(
            k, "POST", c.token_url, signing_key=P384_KEY, header={"alg": "ES384", "jwk": public_jwk(P384_KEY)}
        ),
        "alg",
        id="es384",
    ),
    pytest.param(token_proof(header={"jwk": None}), "no jwk", id="no-jwk"),
    pytest.param(token_proof(header={"jwk": public_jwk(P384_KEY)}), "P-256", id="p384-jwk"),
    pytest.param(token_proof(header={"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}), "P-256", id="rsa-jwk"),
    pytest.param(
        lambda c, k: c.proof(k, "POST", c.token_url, header={"jwk": private_jwk(k)}), "public key", id="private-jwk"
    ),
    pytest.param(token_proof(signing_key=OTHER_KEY), "signature invalid", id="signed-by-another-key"),
    pytest.param(token_proof(htm="GET"), "htm", id="htm-get"),
    pytest.param(lambda c, k: c.proof(k, "POST", c.token_url + "?a=b"), "htu", id="htu-with-query"),
    pytest.param(
        lambda c, k: c.proof(k, "POST", c.token_url.replace("127.0.0.1", "localhost")), "htu", id="htu-other-host"
    ),
    pytest.param(lambda c, k: c.proof(k, "POST", c.person_url("x")), "htu", id="htu-other-path"),
    pytest.param(token_proof(iat_offset=-120), "iat", id="stale-iat"),
    pytest.param(token_proof(iat_offset=60), "iat", id="future-iat"),
    pytest.param(token_proof(iat=None), "iat missing", id="no-iat"),
    pytest.param(token_proof(exp_offset=-1), "expired", id="expired"),
    pytest.param(token_proof(jti=None), "jti missing", id="no-jti"),
    pytest.param(lambda c, k: "garbage", "not a compact JWS", id="garbage"),
]


@pytest.mark.parametrize(("make_proof", "message"), DPOP_CASES)
def test_the_token_dpop_proof_is_checked(client: Client, make_proof: Proof, message: str) -> None:
    key = new_key()

    response = client.token(client.login(), key, proof=make_proof(client, key))

    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_dpop_proof"
    assert message in error(response)


def test_a_token_request_without_dpop_is_refused(client: Client) -> None:
    key = new_key()
    login = client.login()
    body = {
        "grant_type": "authorization_code",
        "code": login.code,
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "code_verifier": login.verifier,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client.assertion(key),
    }

    response = requests.post(client.token_url, data=body, timeout=10)

    assert response.status_code == 401
    assert error(response) == "DPoP proof missing"


def test_a_replayed_dpop_proof_is_refused(client: Client) -> None:
    key = new_key()
    proof = client.proof(key, "POST", client.token_url)
    assert client.token(client.login(), key, proof=proof).status_code == 200

    replay = client.token(client.login(), key, proof=proof)

    assert replay.status_code == 401
    assert "jti already used" in error(replay)


# ------------------------------------------------------------------------------------------------------- person
PersonCall = Callable[[Client, Token], requests.Response]
UUID = persona_uuid(PERSONA)
OTHER_PERSONA = next(nric for nric in PERSONAS if nric != PERSONA and "name" in PERSONAS[nric])


def person_proof(**claims: Any) -> PersonCall:
    return lambda c, t: c.person(t, proof=c.proof(t.key, "GET", c.person_url(UUID), t.access_token, **_now(claims)))


def tampered(token: Token) -> Token:
    header, claims, signature = token.access_token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    payload["scope"] += " email"
    return Token(f"{header}.{b64url(json.dumps(payload).encode())}.{signature}", token.key)


@pytest.mark.parametrize(
    ("call", "status", "message"),
    [
        pytest.param(
            lambda c, t: c.person(t, authorization=f"Bearer {t.access_token}"), 401, "DPoP <access", id="bearer"
        ),
        pytest.param(lambda c, t: c.person(t, authorization="DPoP"), 401, "DPoP <access", id="no-token"),
        pytest.param(lambda c, t: c.person(tampered(t)), 401, "access token is invalid", id="tampered-token"),
        pytest.param(
            lambda c, t: c.person(t, sub=persona_uuid(OTHER_PERSONA)), 401, "sub does not match", id="other-sub"
        ),
        pytest.param(lambda c, t: c.person(t, scope="name email"), 401, "not consented", id="scope-not-granted"),
        pytest.param(lambda c, t: c.person(t, scope="name cpfbalances"), 403, "not allowed", id="scope-not-allowed"),
        pytest.param(lambda c, t: c.person(t, scope=""), 400, "scope is required", id="no-scope"),
        pytest.param(person_proof(ath=None), 401, "ath", id="no-ath"),
        pytest.param(person_proof(ath=b64url(b"x" * 32)), 401, "ath", id="wrong-ath"),
        pytest.param(person_proof(htm="POST"), 401, "htm", id="htm-post"),
        pytest.param(
            lambda c, t: c.person(t, proof=c.proof(t.key, "GET", c.person_url(UUID) + "?scope=name", t.access_token)),
            401,
            "htu",
            id="htu-with-query",
        ),
        pytest.param(person_proof(iat_offset=-120), 401, "iat", id="stale-iat"),
        pytest.param(person_proof(header={"typ": "JWT"}), 401, "typ", id="typ-jwt"),
        pytest.param(
            lambda c, t: c.person(t, proof=c.proof(OTHER_KEY, "GET", c.person_url(UUID), t.access_token)),
            401,
            "not the key the access token is bound to",
            id="proof-by-another-key",
        ),
    ],
)
def test_the_person_call_is_checked(client: Client, call: PersonCall, status: int, message: str) -> None:
    response = call(client, client.access())

    assert response.status_code == status, response.text
    assert response.json()["code"] == status
    assert message in error(response)
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("DPoP ")


def test_a_replayed_person_proof_is_refused(client: Client) -> None:
    token = client.access()
    proof = client.proof(token.key, "GET", client.person_url(UUID), token.access_token)
    assert client.person(token, proof=proof).status_code == 200

    replay = client.person(token, proof=proof)

    assert replay.status_code == 401
    assert "jti already used" in error(replay)


def test_an_access_token_expires(short_lived: Client) -> None:
    token = short_lived.access()
    time.sleep(2.1)

    response = short_lived.person(token)

    assert response.status_code == 401
    assert "invalid or expired" in error(response)


@pytest.mark.parametrize("path", ["/com/v4/person/", f"/com/v4/person/{UUID}/", "/com/v4/persons/x", "/"])
def test_a_wrong_url_is_a_404(client: Client, path: str) -> None:
    response = requests.get(client.base_url + path, timeout=10)

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "Wrong URL"}


def test_a_wrong_method_is_a_405(client: Client) -> None:
    response = requests.get(client.token_url, timeout=10)

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


# ------------------------------------------------------------------------------------------------ persona picker
def test_the_picker_logs_in_the_chosen_persona(picker: Client) -> None:
    verifier = secrets.token_urlsafe(32)
    page = picker.authorize(verifier)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert f'<option value="{OTHER_PERSONA}"' in page.text

    answer = submit(picker, page, persona=OTHER_PERSONA, decision="allow")

    assert answer.status_code == 302
    params = callback(answer)
    assert params["state"] == "state-123"
    key = new_key()
    token = picker.token(Login(params["code"], verifier), key).json()["access_token"]
    response = picker.person(Token(token, key), sub=persona_uuid(OTHER_PERSONA), scope="name uinfin")
    assert picker.open_person(response)["uinfin"]["value"] == OTHER_PERSONA


def test_the_picker_escapes_what_it_shows(picker: Client) -> None:
    page = picker.authorize(secrets.token_urlsafe(32), purpose_id='<script>alert("x")</script>')

    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page.text


def test_denying_at_the_picker_goes_back_as_access_denied(picker: Client) -> None:
    page = picker.authorize(secrets.token_urlsafe(32))

    answer = submit(picker, page, persona=PERSONA, decision="deny")

    assert answer.status_code == 302
    assert callback(answer)["error"] == "access_denied"
    assert callback(answer)["state"] == "state-123"
    assert "code" not in callback(answer)


def test_a_picker_form_is_good_for_one_submission(picker: Client) -> None:
    page = picker.authorize(secrets.token_urlsafe(32))
    assert submit(picker, page, persona=PERSONA, decision="allow").status_code == 302

    again = submit(picker, page, persona=PERSONA, decision="allow")

    assert again.status_code == 440


def test_the_picker_refuses_an_unknown_persona(picker: Client) -> None:
    page = picker.authorize(secrets.token_urlsafe(32))

    answer = submit(picker, page, persona="S0000000X", decision="allow")

    assert answer.status_code == 400
    assert "unknown persona" in error(answer)


def submit(picker: Client, page: requests.Response, **fields: str) -> requests.Response:
    login_id = page.text.split('name="login_id" value="')[1].split('"')[0]
    return requests.post(
        f"{picker.base_url}/com/v4/authorize/login",
        data={"login_id": login_id, **fields},
        allow_redirects=False,
        timeout=10,
    )


# ------------------------------------------------------------------------------------------------------ robustness
def test_bad_input_never_stops_the_emulator(client: Client) -> None:
    garbage = ["a.b.c", "e30.e30.e30", "eyJhbGciOiJFUzI1NiIsImp3ayI6MX0.e30.AA", "....", "é" * 10]
    for value in garbage:
        assert (
            requests.get(
                client.person_url(UUID), headers={"Authorization": "DPoP " + value, "DPoP": value}, timeout=10
            ).status_code
            == 401
        )
        token = requests.post(
            client.token_url, data={"grant_type": "authorization_code"}, headers={"DPoP": value}, timeout=10
        )
        assert token.status_code == 400
    assert requests.get(f"{client.base_url}/com/v4/authorize?%zz=%", timeout=10).status_code in {400, 404}

    assert client.person(client.access()).status_code == 200


@pytest.mark.parametrize(
    ("clients", "persona"),
    [
        pytest.param([{"client_id": "x", "redirect_uris": [REDIRECT_URI]}], PERSONA, id="client-without-jwks-uri"),
        pytest.param(
            [{"client_id": "x", "redirect_uris": [], "jwks_uri": "", "scopes": "name"}], PERSONA, id="scopes-string"
        ),
        pytest.param([], "S0000000X", id="unknown-persona"),
    ],
)
def test_a_bad_configuration_stops_the_emulator_at_start(
    tmp_path: Path, clients: list[dict[str, Any]], persona: str
) -> None:
    with (
        pytest.raises(RuntimeError, match="exited"),
        run_myinfo_v4(free_port(), clients, False, tmp_path, persona=persona),
    ):
        pass
