"""The sandbox's Corppass-like server behaves as Corppass does, per kind of app: requests the gateway never sends,
made by a bare FAPI client with the stack's own Corppass keys (tests/integration/fapi_support.py), and what comes
back, decrypted with the stack's KMS key."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from infra.sandbox.corppass import (
    NON_UEN_ENTITY,
    UEN_ENTITY,
    UEN_ENTITY_NAME,
    CorppassClient,
    corppass_calls,
    run_corppass_provider,
)
from infra.sandbox.processes import free_port
from infra.sandbox.stack import SANDBOX_PERSONA, Sandbox
from tests.integration.fapi_support import (
    CORPPASS,
    CORPPASS_LOGIN_CLIENT,
    CORPPASS_MIB_CLIENT,
    FapiClient,
    FapiServer,
    decrypted_claims,
)

CONTEXT = {"authentication_context_type": "APP_AUTHENTICATION_DEFAULT"}
LOGIN_SCOPE = "openid entity.identity entity.basic_profile.name user.identity user.name authinfo tpauthinfo"
MIB_SCOPE = "openid entity.identity entity.basic_profile.name entity.address user.uinfin user.name corppass.email"
OTHER_USER = "S9812379B"
"""A MockPass persona with no Corppass authorisation for the sandbox's entities."""


def login_client(sandbox: Sandbox) -> FapiClient:
    return FapiClient(sandbox, CORPPASS_LOGIN_CLIENT, CORPPASS)


def mib_client(sandbox: Sandbox) -> FapiClient:
    return FapiClient(sandbox, CORPPASS_MIB_CLIENT, CORPPASS)


def refusal(response: requests.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body.get("error_description", "")


def id_token(sandbox: Sandbox, tokens: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return decrypted_claims(sandbox, tokens["id_token"], "CorppassDecryptionKey")


def userinfo(client: FapiClient, access_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    response = client.send("GET", client.server.userinfo, token=access_token)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/jwt")
    return decrypted_claims(client.sandbox, response.text, "CorppassDecryptionKey")


def test_discovery_names_the_issuer_without_fapi_and_corppass_paths(sandbox: Sandbox) -> None:
    discovery = requests.get(f"{sandbox.corppass_url}/.well-known/openid-configuration", timeout=10).json()

    assert discovery["issuer"] == sandbox.corppass_url  # no /fapi suffix
    assert discovery["pushed_authorization_request_endpoint"] == f"{sandbox.corppass_url}/request"
    assert discovery["authorization_endpoint"] == f"{sandbox.corppass_url}/mga/sps/oauth/oauth20/authorize"
    assert discovery["token_endpoint"] == f"{sandbox.corppass_url}/mga/sps/oauth/oauth20/token"
    assert discovery["userinfo_endpoint"] == f"{sandbox.corppass_url}/userinfo"
    assert discovery["jwks_uri"] == f"{sandbox.corppass_url}/.well-known/keys"
    assert discovery["require_pushed_authorization_requests"] is True
    assert "ES256" in discovery["dpop_signing_alg_values_supported"]
    assert not discovery.get("authorization_response_iss_parameter_supported")


def test_a_login_app_par_with_the_allow_listed_context_type_is_accepted(sandbox: Sandbox) -> None:
    response = login_client(sandbox).par(LOGIN_SCOPE, **CONTEXT, authentication_context_message="Filing GST 2026")

    assert response.status_code == 201, response.text
    assert response.json()["expires_in"] == 60
    assert corppass_calls(sandbox.corppass_url)["par"][-1] == {
        "client_id": CORPPASS_LOGIN_CLIENT,
        "scope": LOGIN_SCOPE,
        **CONTEXT,
        "authentication_context_message": "Filing GST 2026",
    }


@pytest.mark.parametrize(
    ("extra", "description"),
    [
        ({}, "authentication_context_type is required for Corppass Login apps"),
        ({"authentication_context_type": "APP_PAYMENT_DEFAULT"}, "authentication_context_type is not allow-listed"),
        (
            {**CONTEXT, "authentication_context_message": "x" * 101},
            "authentication_context_message must be at most 100 letters, digits and spaces",
        ),
        (
            {**CONTEXT, "authentication_context_message": "Pay $5!"},
            "authentication_context_message must be at most 100 letters, digits and spaces",
        ),
    ],
)
def test_a_login_app_par_without_an_allowed_context_is_refused(
    sandbox: Sandbox, extra: dict[str, str], description: str
) -> None:
    status, error, text = refusal(login_client(sandbox).par(LOGIN_SCOPE, **extra))

    assert (status, error) == (400, "invalid_request")
    assert text.startswith(description)


def test_a_login_app_may_ask_only_for_corppass_standard_scopes(sandbox: Sandbox) -> None:
    client = login_client(sandbox)
    for myinfo_business_scope in ("entity.address", "user.uinfin", "corppass.email"):
        response = client.par(f"openid entity.identity {myinfo_business_scope}", **CONTEXT)
        assert refusal(response)[:2] == (400, "invalid_scope")
    every = "openid entity.identity entity.basic_profile.name entity.basic_profile.uen_status user.identity user.name"
    assert client.par(f"{every} authinfo tpauthinfo", **CONTEXT).status_code == 201


@pytest.mark.parametrize(
    ("extra", "description"),
    [
        (CONTEXT, "authentication_context_type is not allowed for Myinfo Business apps"),
        (
            {"authentication_context_message": "Hello"},
            "authentication_context_message is not allowed for Myinfo Business apps",
        ),
    ],
)
def test_a_myinfo_business_par_with_login_only_parameters_is_refused(
    sandbox: Sandbox, extra: dict[str, str], description: str
) -> None:
    client = mib_client(sandbox)

    assert refusal(client.par(MIB_SCOPE, **extra)) == (400, "invalid_request", description)
    assert client.par(MIB_SCOPE).status_code == 201


def test_par_needs_dpop_and_an_assertion_for_the_issuer_that_lives_two_minutes_at_most_once(sandbox: Sandbox) -> None:
    client = login_client(sandbox)
    no_dpop = requests.post(f"{sandbox.corppass_url}/request", data={"client_id": client.client_id}, timeout=10)
    assert no_dpop.status_code == 400
    assert no_dpop.json()["error"] == "invalid_dpop_proof"

    client.assertion_claims = {"aud": f"{sandbox.corppass_url}/request"}  # the endpoint, not the issuer
    assert refusal(client.par(LOGIN_SCOPE, **CONTEXT))[:2] == (401, "invalid_client")
    client.assertion_claims = {"exp": int(time.time()) + 300}  # five minutes
    assert refusal(client.par(LOGIN_SCOPE, **CONTEXT))[:2] == (401, "invalid_client")
    client.assertion_claims = {}
    assert client.par(LOGIN_SCOPE, **CONTEXT).status_code == 201  # the client now holds the server's DPoP nonce
    client.assertion_claims = {"jti": f"once-{uuid.uuid4()}"}
    assert client.par(LOGIN_SCOPE, **CONTEXT).status_code == 201
    assert refusal(client.par(LOGIN_SCOPE, **CONTEXT))[:2] == (401, "invalid_client")  # that jti again


def test_the_token_response_echoes_the_scope_and_the_id_token_names_the_entity_and_its_user(sandbox: Sandbox) -> None:
    tokens = login_client(sandbox).tokens(LOGIN_SCOPE, **CONTEXT)

    assert tokens["token_type"] == "DPoP"
    assert tokens["scope"] == LOGIN_SCOPE  # Corppass echoes it (Singpass does not)
    assert "refresh_token" not in tokens
    header, claims = id_token(sandbox, tokens)
    assert (header["alg"], header["enc"], header["cty"]) == ("ECDH-ES+A256KW", "A256CBC-HS512", "JWT")
    assert (header["iss"], header["aud"]) == (sandbox.corppass_url, CORPPASS_LOGIN_CLIENT)
    assert header["kid"] == sandbox.resources["CorppassDecryptionKey"]["KeyId"]
    assert (claims["iss"], claims["aud"]) == (sandbox.corppass_url, CORPPASS_LOGIN_CLIENT)
    assert (claims["sub"], claims["sub_type"]) == (UEN_ENTITY, "entity")
    assert claims["sub_attributes"] == {  # entity.identity, entity.basic_profile.name; no uen_status (not asked)
        "entity_type": "UEN",
        "entity_reg_number": UEN_ENTITY,
        "entity_coi": "SG",
        "entity_name": UEN_ENTITY_NAME,
    }
    act = claims["act"]
    assert uuid.UUID(act["sub"]).version == 4
    assert act["sub_type"] == "user"
    assert act["sub_attributes"] == {
        "account_type": "standard",
        "identity_number": SANDBOX_PERSONA,
        "identity_coi": "SG",
        "name": "TAN HENG HUAT",
    }
    assert "auth_info" not in claims
    assert "entityInfo" not in claims
    assert "userInfo" not in claims
    again = id_token(sandbox, login_client(sandbox).tokens(LOGIN_SCOPE, **CONTEXT))[1]
    assert again["act"]["sub"] == act["sub"]  # one user, one UUID


def test_the_code_is_single_use_for_the_exact_redirect_uri_and_the_par_dpop_key(sandbox: Sandbox) -> None:
    client = login_client(sandbox)
    code = client.authorization_code(LOGIN_SCOPE, **CONTEXT)
    assert refusal(client.exchange(code, redirect_uri=f"{client.redirect_uri}/other"))[:2] == (400, "invalid_grant")

    client = login_client(sandbox)
    code = client.authorization_code(LOGIN_SCOPE, **CONTEXT)
    client.dpop_key = ec.generate_private_key(ec.SECP256R1())  # not the key the PAR proved
    assert refusal(client.exchange(code))[:2] == (400, "invalid_grant")

    client = login_client(sandbox)
    code = client.authorization_code(LOGIN_SCOPE, **CONTEXT)
    assert client.exchange(code).status_code == 200
    assert refusal(client.exchange(code))[:2] == (400, "invalid_grant")  # spent


def test_attributes_come_only_for_the_scopes_granted_and_a_non_uen_entity_is_its_corppass_id(sandbox: Sandbox) -> None:
    scope = "openid entity.basic_profile.uen_status user.name"
    claims = id_token(sandbox, login_client(sandbox).tokens(scope, **CONTEXT))[1]
    assert claims["sub_attributes"] == {"entity_uen_status": "Registered"}
    assert claims["act"]["sub_attributes"] == {"name": "TAN HENG HUAT"}

    tokens = login_client(sandbox).tokens(
        "openid entity.identity entity.basic_profile.name entity.basic_profile.uen_status user.identity",
        **CONTEXT,
        login_hint=f"{SANDBOX_PERSONA}@{NON_UEN_ENTITY}",
    )
    claims = id_token(sandbox, tokens)[1]
    assert claims["sub"] == NON_UEN_ENTITY
    assert claims["sub_attributes"] == {  # no UEN status for an entity without a UEN
        "entity_type": "NON-UEN",
        "entity_reg_number": "MY-201901012345",
        "entity_coi": "MY",
        "entity_name": "GLOBEX SDN. BHD.",
    }


def test_login_userinfo_is_a_jwe_whose_authorisations_are_json_strings(sandbox: Sandbox) -> None:
    client = login_client(sandbox)
    header, claims = userinfo(client, client.access_token(LOGIN_SCOPE, **CONTEXT))

    assert (header["alg"], header["enc"], header["typ"]) == ("ECDH-ES+A256KW", "A256GCM", "JWE")
    assert "cty" not in header
    assert claims["sub"] == UEN_ENTITY  # the ID token's sub
    assert (claims["iss"], claims["aud"]) == (sandbox.corppass_url, CORPPASS_LOGIN_CLIENT)
    assert claims["iat"] <= time.time() < claims["exp"]
    assert isinstance(claims["auth_info"], str)
    assert isinstance(claims["tp_auth_info"], str)
    result_set = json.loads(claims["auth_info"])["Result_Set"]
    services = {service["CPESrvcID"]: service["Auth_Result_Set"] for service in result_set["ESrvc_Result"]}
    assert result_set["ESrvc_Row_Count"] == len(services) == 3
    assert services["SANDBOX-GST-FILING"]["Row_Count"] == 2  # several rows
    assert services["SANDBOX-GST-FILING"]["Row"][0]["EndDate"] == "9999-12-31"  # open-ended
    assert services["SANDBOX-GST-FILING"]["Row"][1]["Parameter"] == [
        {"name": "Branch", "value": "Jurong"},
        {"name": "Limit", "value": "5000"},
    ]
    assert services["SANDBOX-PERMITS"]["Row"][0]["CPEntID_SUB"] == "ERROR_MISSING_VALUE"
    assert services["SANDBOX-GRANTS"] == {"Row_Count": 0, "Row": []}
    third_party = json.loads(claims["tp_auth_info"])["Result_Set"]
    assert third_party["ESrvc_Result"][0]["Auth_Result_Set"]["Row"][0]["CPRole"] == "Tax Agent"
    assert "entity_info" not in claims
    assert "person_info" not in claims


def test_a_user_without_authorisations_gets_a_count_of_zero(sandbox: Sandbox) -> None:
    client = login_client(sandbox)
    token = client.access_token("openid authinfo", **CONTEXT, login_hint=f"{OTHER_USER}@{UEN_ENTITY}")
    claims = userinfo(client, token)[1]

    assert json.loads(claims["auth_info"]) == {"Result_Set": {"ESrvc_Row_Count": 0, "ESrvc_Result": []}}
    assert "tp_auth_info" not in claims  # not asked for


def test_myinfo_business_userinfo_sends_each_block_and_a_nested_object_as_a_string(sandbox: Sandbox) -> None:
    client = mib_client(sandbox)
    tokens = client.tokens(MIB_SCOPE)
    claims = userinfo(client, tokens["access_token"])[1]

    assert claims["sub"] == UEN_ENTITY
    for block in ("entity_info", "person_info", "corppass_info"):
        assert isinstance(claims[block], str), block
    entity_info = json.loads(claims["entity_info"])
    assert entity_info["basic_profile"]["entity_name"]["value"] == UEN_ENTITY_NAME
    assert entity_info["basic_profile"]["uen"]["value"] == UEN_ENTITY
    assert isinstance(entity_info["address"], str)  # a nested object stringified as well
    assert json.loads(entity_info["address"])["postal"] == {"value": "138632"}
    person_info = json.loads(claims["person_info"])
    assert set(person_info) == {"uinfin", "name"}
    assert person_info["uinfin"]["value"] == SANDBOX_PERSONA
    assert person_info["name"]["classification"] == "C"
    assert json.loads(claims["corppass_info"]) == {"email": "tan.heng.huat@acme.example", "email_verified": True}
    assert "auth_info" not in claims
    # The Myinfo Business ID token carries no context and no data blocks, only the entity and user it names.
    id_claims = id_token(sandbox, tokens)[1]
    assert id_claims["sub"] == UEN_ENTITY
    assert id_claims["act"]["sub_attributes"] == {"name": "TAN HENG HUAT"}
    assert corppass_calls(sandbox.corppass_url)["userinfo_responses"][-1]["client_id"] == CORPPASS_MIB_CLIENT


def test_userinfo_refuses_a_bearer_token_with_a_bare_401(sandbox: Sandbox) -> None:
    client = login_client(sandbox)
    token = client.access_token(LOGIN_SCOPE, **CONTEXT)

    response = requests.get(
        f"{sandbox.corppass_url}/userinfo", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )

    assert response.status_code == 401
    assert response.text == ""


@pytest.fixture(scope="module")
def other_corppass(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second Corppass-like server for the sandbox's Login app, its endpoints under another path and its userinfo
    ``sub`` the client_id (the older behaviour)."""
    jwks = requests.get(f"{sandbox.url}/.well-known/jwks/cp", timeout=10).json()
    client = CorppassClient(
        CORPPASS_LOGIN_CLIENT, "login", f"{sandbox.url}/auth/cp/callback", jwks, ("APP_AUTHENTICATION_DEFAULT",)
    )
    log: Path = tmp_path_factory.mktemp("corppass") / "corppass.log"
    with run_corppass_provider(
        free_port(), [client], False, log, userinfo_sub_is_client_id=True, path_prefix="/x7/cp"
    ) as url:
        yield url


def test_a_server_can_move_its_endpoints_and_name_the_client_in_userinfo(sandbox: Sandbox, other_corppass: str) -> None:
    discovery = requests.get(f"{other_corppass}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == other_corppass
    assert discovery["pushed_authorization_request_endpoint"] == f"{other_corppass}/x7/cp/request"
    assert discovery["token_endpoint"] == f"{other_corppass}/x7/cp/mga/sps/oauth/oauth20/token"
    moved = FapiServer(
        "corppass_url",
        "CorppassSigningKey",
        "/x7/cp/request",
        "/x7/cp/mga/sps/oauth/oauth20/authorize",
        "/x7/cp/mga/sps/oauth/oauth20/token",
        "/x7/cp/userinfo",
        base_url=other_corppass,
    )
    client = FapiClient(sandbox, CORPPASS_LOGIN_CLIENT, moved)

    claims = userinfo(client, client.access_token("openid authinfo", **CONTEXT))[1]

    assert claims["sub"] == CORPPASS_LOGIN_CLIENT
    assert requests.post(f"{other_corppass}/request", timeout=10).status_code == 404  # not at the usual path
