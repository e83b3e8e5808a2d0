"""The sandbox's Singpass-like server refuses what Singpass refuses, per kind of app: requests the gateway never
sends, made by a bare FAPI client with the stack's own Singpass keys (tests/integration/fapi_support.py)."""

from __future__ import annotations

import pytest

from infra.sandbox.stack import Sandbox
from tests.integration.fapi_support import LOGIN_CLIENT, MYINFO_CLIENT, FapiClient

LOGIN_SCOPE = "openid user.identity name"


def refusal(response: object) -> tuple[int, dict[str, str]]:
    status: int = response.status_code  # type: ignore[attr-defined]
    body: dict[str, str] = response.json()  # type: ignore[attr-defined]
    return status, body


def test_a_login_app_par_with_an_enabled_context_type_is_accepted(sandbox: Sandbox) -> None:
    for context_type in ("APP_AUTHENTICATION_DEFAULT", "APP_PAYMENT_DEFAULT"):
        client = FapiClient(sandbox, LOGIN_CLIENT)
        response = client.par(LOGIN_SCOPE, authentication_context_type=context_type)
        assert response.status_code == 201, response.text
        assert response.json()["expires_in"] == 60


@pytest.mark.parametrize(
    ("extra", "description"),
    [
        ({}, "authentication_context_type is required for Login apps"),
        (
            {"authentication_context_type": "APP_ONBOARDING_DEFAULT"},
            "Requested authentication context type is not registered",
        ),
        (
            {"authentication_context_type": "APP_AUTHENTICATION_DEFAULT", "authentication_context_message": "x" * 101},
            "authentication_context_message must be at most 100 letters, digits and spaces",
        ),
        (
            {"authentication_context_type": "APP_AUTHENTICATION_DEFAULT", "authentication_context_message": "Pay $5!"},
            "authentication_context_message must be at most 100 letters, digits and spaces",
        ),
    ],
)
def test_a_login_app_par_without_a_registered_context_is_refused(
    sandbox: Sandbox, extra: dict[str, str], description: str
) -> None:
    response = FapiClient(sandbox, LOGIN_CLIENT).par(LOGIN_SCOPE, **extra)

    assert refusal(response) == (400, {"error": "invalid_request", "error_description": description})


def test_a_login_app_may_ask_only_for_login_scopes(sandbox: Sandbox) -> None:
    client = FapiClient(sandbox, LOGIN_CLIENT)
    response = client.par("openid uinfin name", authentication_context_type="APP_AUTHENTICATION_DEFAULT")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    ok = client.par(
        "openid user.identity name email mobileno", authentication_context_type="APP_AUTHENTICATION_DEFAULT"
    )
    assert ok.status_code == 201, ok.text


def test_a_myinfo_app_par_with_a_context_type_is_refused(sandbox: Sandbox) -> None:
    client = FapiClient(sandbox, MYINFO_CLIENT)
    response = client.par("openid uinfin name", authentication_context_type="APP_AUTHENTICATION_DEFAULT")

    assert refusal(response) == (
        400,
        {"error": "invalid_request", "error_description": "authentication_context_type is only allowed for Login apps"},
    )
    assert client.par("openid uinfin name").status_code == 201


def test_userinfo_answers_a_myinfo_app_and_refuses_a_login_app(sandbox: Sandbox) -> None:
    myinfo = FapiClient(sandbox, MYINFO_CLIENT)
    answered = myinfo.send("GET", "/userinfo", token=myinfo.access_token("openid uinfin name"))
    assert answered.status_code == 200, answered.text
    assert answered.headers["Content-Type"].startswith("application/jwt")

    login = FapiClient(sandbox, LOGIN_CLIENT)
    token = login.access_token(LOGIN_SCOPE, authentication_context_type="APP_AUTHENTICATION_DEFAULT")
    refused = login.send("GET", "/userinfo", token=token)

    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
