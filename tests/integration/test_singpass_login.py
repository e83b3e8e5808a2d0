"""Singpass FAPI 2.0 against a Singpass-like oidc-provider: PAR, DPoP, private_key_jwt, encrypted tokens."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from infra.sandbox.browser import Browser, provider_redirect, query
from infra.sandbox.stack import SANDBOX_PERSONA, Sandbox


def test_a_singpass_login_shows_the_myinfo_person(sandbox: Sandbox, browser: Browser) -> None:
    callback = browser.login(return_to="/me", provider="singpass")

    assert callback.headers["Location"] == f"{sandbox.url}/me"
    me = browser.api("/api/me").json()
    assert me["provider"] == "singpass"
    person = me["person"]
    assert person["uinfin"] == SANDBOX_PERSONA
    assert person["name"] == "TAN HENG HUAT"
    assert person["sex"] == "FEMALE"
    assert person["mobileno"] == "+65 97399245"
    assert person["regadd"]["postal"] == "460102"
    assert "lastupdated" not in str(person)


def test_the_browser_only_sees_client_id_and_request_uri(sandbox: Sandbox, browser: Browser) -> None:
    authorize = browser.start_login(provider="singpass").headers["Location"]

    assert authorize.startswith(sandbox.fapi_url + "/auth?")
    assert set(query(authorize)) == {"client_id", "request_uri"}
    assert query(authorize)["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    callback_url = provider_redirect(authorize)
    assert query(callback_url)["iss"] == sandbox.fapi_url
    assert browser.get(callback_url).headers["Location"] == f"{sandbox.url}/"


def test_the_published_jwks_holds_the_public_halves_of_the_kms_keys(sandbox: Sandbox, browser: Browser) -> None:
    response = browser.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    keys = {key["kid"]: key for key in response.json()["keys"]}  # every provider's keys, MyInfo v4's too
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


def _b64(value: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
