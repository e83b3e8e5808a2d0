"""Singpass FAPI 2.0 against a Singpass-like oidc-provider (infra/sandbox/fapi_provider.mjs), with the stack's two
Singpass apps: the Login app ``sp`` (the person in the ID token) and the Myinfo app ``sp-data`` (the person from
userinfo). PAR, DPoP, private_key_jwt, encrypted ID tokens; what the server was asked comes from its
``/sandbox/calls``."""

from __future__ import annotations

import time
import uuid

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from infra.sandbox.browser import Browser, provider_redirect, query
from infra.sandbox.fapi import fapi_calls
from infra.sandbox.stack import SANDBOX_PERSONA, Sandbox

LOGIN_CLIENT, MYINFO_CLIENT = "sandbox-singpass-client", "sandbox-singpass-myinfo-client"


def test_a_login_app_login_shows_the_person_from_the_id_token(sandbox: Sandbox, browser: Browser) -> None:
    before = fapi_calls(sandbox.fapi_url)

    callback = browser.login(return_to="/me", provider="sp")

    assert callback.headers["Location"] == f"{sandbox.url}/me"
    me = browser.api("/api/me").json()
    assert me["provider"] == "sp"
    assert me["person"] == {  # the ID token's sub_attributes, for scopes "openid user.identity name"
        "uinfin": SANDBOX_PERSONA,
        "identity_coi": "SG",
        "account_type": "standard",
        "name": "TAN HENG HUAT",
    }
    assert me["authentication"]["acr"] == "urn:singpass:authentication:loa:2"
    assert uuid.UUID(me["sub"]).version == 4  # Singpass's sub is an opaque UUID, never the NRIC
    calls = fapi_calls(sandbox.fapi_url)
    [par] = calls["par"][len(before["par"]) :]
    assert par == {
        "client_id": LOGIN_CLIENT,
        "scope": "openid user.identity name",
        "authentication_context_type": "APP_AUTHENTICATION_DEFAULT",
    }
    assert calls["userinfo"][LOGIN_CLIENT] == before["userinfo"][LOGIN_CLIENT]  # a Login app never calls it
    [id_token] = calls["id_tokens"][len(before["id_tokens"]) :]
    assert (id_token["client_id"], id_token["alg"], id_token["enc"]) == (
        LOGIN_CLIENT,
        "ECDH-ES+A256KW",
        "A256CBC-HS512",
    )
    assert id_token["kid"] == first_enc_kid(browser, "sp")
    assert not float(id_token["iat"]).is_integer()  # a fractional NumericDate, as MockPass 4.6 sends
    assert abs(id_token["iat"] - time.time()) < 120


def test_a_myinfo_app_login_shows_the_myinfo_person_from_userinfo(sandbox: Sandbox, browser: Browser) -> None:
    before = fapi_calls(sandbox.fapi_url)

    callback = browser.login(return_to="/me", provider="sp-data")

    assert callback.headers["Location"] == f"{sandbox.url}/me"
    me = browser.api("/api/me").json()
    assert me["provider"] == "sp-data"
    person = me["person"]
    assert person["uinfin"] == SANDBOX_PERSONA
    assert person["name"] == "TAN HENG HUAT"
    assert person["sex"] == "FEMALE"
    assert person["mobileno"] == "+65 97399245"
    assert person["regadd"]["postal"] == "460102"
    assert "lastupdated" not in str(person)
    assert me["provenance"]["uinfin"] == {"source": "1", "classification": "C", "lastupdated": "2020-02-04"}
    calls = fapi_calls(sandbox.fapi_url)
    [par] = calls["par"][len(before["par"]) :]
    assert par["client_id"] == MYINFO_CLIENT
    assert "authentication_context_type" not in par  # Singpass refuses one from a Myinfo app
    assert calls["userinfo"][MYINFO_CLIENT] == before["userinfo"][MYINFO_CLIENT] + 1
    [id_token] = calls["id_tokens"][len(before["id_tokens"]) :]
    assert (id_token["client_id"], id_token["enc"]) == (MYINFO_CLIENT, "A256GCM")
    assert id_token["kid"] == first_enc_kid(browser, "sp-data")


def test_the_browser_only_sees_client_id_and_request_uri_and_no_iss_comes_back(
    sandbox: Sandbox, browser: Browser
) -> None:
    for provider, client_id in (("sp", LOGIN_CLIENT), ("sp-data", MYINFO_CLIENT)):
        authorize = browser.start_login(provider=provider).headers["Location"]

        assert authorize.startswith(sandbox.fapi_url + "/auth?")
        assert query(authorize) == {"client_id": client_id, "request_uri": query(authorize)["request_uri"]}
        assert query(authorize)["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
        callback_url = provider_redirect(authorize)
        assert callback_url.startswith(f"{sandbox.url}/auth/{provider}/callback?")
        assert set(query(callback_url)) == {"code", "state"}  # no RFC 9207 iss, as Singpass and MockPass 4.6
        assert browser.get(callback_url).headers["Location"] == f"{sandbox.url}/"
    discovery = requests.get(f"{sandbox.fapi_url}/.well-known/openid-configuration", timeout=10).json()
    assert not discovery.get("authorization_response_iss_parameter_supported")


def test_each_singpass_app_publishes_the_singpass_keys_alone(sandbox: Sandbox, browser: Browser) -> None:
    response = browser.get("/.well-known/jwks/sp")  # the JWKS registered with Singpass for the Login app

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    keys = {key["kid"]: key for key in response.json()["keys"]}
    assert len(keys) == 2
    kms = sandbox.aws_client("kms")
    for use, logical_id, alg in (
        ("sig", "SingpassSigningKey", "ES256"),
        ("enc", "SingpassDecryptionKey", "ECDH-ES+A256KW"),
    ):
        key_id = sandbox.resources[logical_id]["KeyId"]
        public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
        assert isinstance(public, ec.EllipticCurvePublicKey)
        numbers = public.public_numbers()
        jwk = keys[key_id]
        assert (jwk["use"], jwk["alg"], jwk["crv"]) == (use, alg, "P-256")
        assert int.from_bytes(_b64(jwk["x"]), "big") == numbers.x
        assert int.from_bytes(_b64(jwk["y"]), "big") == numbers.y
        assert "d" not in jwk
    # The Myinfo app shares the Singpass keys: its JWKS is the same, and neither holds another provider's keys.
    assert browser.get("/.well-known/jwks/sp-data").json()["keys"] == list(keys.values())
    others = {key["kid"] for key in browser.get("/.well-known/jwks/mi-v4").json()["keys"]}
    assert others
    assert not others & set(keys)


def first_enc_kid(browser: Browser, provider: str) -> str:
    """The key MockPass 4.6 (and so the sandbox's server) encrypts to: the registered JWKS's first ``enc`` key."""
    kid: str = next(
        key["kid"] for key in browser.get(f"/.well-known/jwks/{provider}").json()["keys"] if key["use"] == "enc"
    )
    return kid


def _b64(value: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
