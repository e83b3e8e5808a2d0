"""Corppass FAPI 2.0 through the local API against a Corppass-like oidc-provider (infra/sandbox/corppass_provider.mjs),
with the stack's two Corppass apps: the Corppass Login app ``cp`` (the entity and its user from the ID token, their
authorisations from userinfo) and the Myinfo Business app ``cp-data`` (entity and person data from userinfo, every
block a JSON string). What the server was asked comes from its ``/sandbox/calls``."""

from __future__ import annotations

import uuid

from infra.sandbox.browser import Browser, provider_redirect, query
from infra.sandbox.corppass import (
    NON_UEN_ENTITY,
    NON_UEN_ENTITY_NAME,
    UEN_ENTITY,
    UEN_ENTITY_NAME,
    corppass_calls,
    log_in_next_as,
)
from infra.sandbox.stack import CORPPASS_LOGIN_SCOPES, SANDBOX_PERSONA, Sandbox

LOGIN_CLIENT, MIB_CLIENT = "sandbox-corppass-client", "sandbox-corppass-mib-client"


def test_a_corppass_login_shows_the_entity_its_user_and_their_authorisations(
    sandbox: Sandbox, browser: Browser
) -> None:
    before = corppass_calls(sandbox.corppass_url)

    callback = browser.login(return_to="/me", provider="cp")

    assert callback.headers["Location"] == f"{sandbox.url}/me"
    me = browser.api("/api/me").json()
    assert me["provider"] == "cp"
    assert me["sub"] == UEN_ENTITY  # the entity, not the person
    assert uuid.UUID(me["act"]["sub"]).version == 4
    assert me["act"]["sub"] != me["sub"]
    assert me["entity"]["id"] == UEN_ENTITY
    assert me["entity"]["name"] == UEN_ENTITY_NAME
    assert (me["entity"]["type"], me["entity"]["registration_number"], me["entity"]["coi"]) == (
        "UEN",
        UEN_ENTITY,
        "SG",
    )
    assert me["person"]["uinfin"] == SANDBOX_PERSONA
    assert me["person"]["name"] == "TAN HENG HUAT"
    authorisations = me["authorisations"]
    approver = next(row for row in authorisations if row["role"] == "Approver")
    assert approver == {
        "eservice": "SANDBOX-GST-FILING",
        "role": "Approver",
        "entity": None,
        "start": "2024-01-01",
        "end": None,  # Corppass's 9999-12-31: open-ended
        "parameters": {},
        "third_party": False,
    }
    preparer = next(row for row in authorisations if row["role"] == "Preparer")
    assert preparer["end"] == "2027-05-31"
    assert preparer["parameters"] == {"Branch": "Jurong", "Limit": "5000"}
    viewer = next(row for row in authorisations if row["role"] == "Viewer")
    assert viewer["entity"] is None  # ERROR_MISSING_VALUE: a Sub-UEN not set
    assert [row["role"] for row in authorisations if row["third_party"]] == ["Tax Agent"]
    assert not [row for row in authorisations if row["eservice"] == "SANDBOX-GRANTS"]  # a count of 0

    calls = corppass_calls(sandbox.corppass_url)
    [par] = calls["par"][len(before["par"]) :]
    assert par == {
        "client_id": LOGIN_CLIENT,
        "scope": CORPPASS_LOGIN_SCOPES,
        "authentication_context_type": "APP_AUTHENTICATION_DEFAULT",
    }
    assert calls["userinfo"][LOGIN_CLIENT] == before["userinfo"][LOGIN_CLIENT] + 1  # authinfo is from userinfo
    [id_token] = calls["id_tokens"][len(before["id_tokens"]) :]
    assert (id_token["alg"], id_token["enc"]) == ("ECDH-ES+A256KW", "A256CBC-HS512")
    assert id_token["kid"] == first_enc_kid(browser, "cp")


def test_a_non_uen_entity_is_its_corppass_entity_id(sandbox: Sandbox, browser: Browser) -> None:
    log_in_next_as(sandbox.corppass_url, f"{SANDBOX_PERSONA}@{NON_UEN_ENTITY}")

    browser.login(provider="cp")

    me = browser.api("/api/me").json()
    assert me["sub"] == NON_UEN_ENTITY
    assert me["entity"]["name"] == NON_UEN_ENTITY_NAME
    assert (me["entity"]["type"], me["entity"]["coi"]) == ("NON-UEN", "MY")
    assert me["person"]["uinfin"] == SANDBOX_PERSONA
    [row] = me["authorisations"]
    assert (row["role"], row["end"], row["third_party"]) == ("Preparer", "2026-12-31", False)


def test_the_same_user_is_the_same_act_for_either_entity(sandbox: Sandbox) -> None:
    first, second = Browser(sandbox.url), Browser(sandbox.url)
    first.login(provider="cp")
    log_in_next_as(sandbox.corppass_url, f"{SANDBOX_PERSONA}@{NON_UEN_ENTITY}")
    second.login(provider="cp")

    one, other = first.api("/api/me").json(), second.api("/api/me").json()

    assert one["act"] == other["act"]
    assert one["sub"] != other["sub"]


def test_a_myinfo_business_login_shows_entity_info_and_person_info(sandbox: Sandbox, browser: Browser) -> None:
    before = corppass_calls(sandbox.corppass_url)

    callback = browser.login(return_to="/me", provider="cp-data")

    assert callback.headers["Location"] == f"{sandbox.url}/me"
    me = browser.api("/api/me").json()
    assert me["provider"] == "cp-data"
    assert me["sub"] == UEN_ENTITY
    assert uuid.UUID(me["act"]["sub"]).version == 4
    person = me["person"]
    assert person["uinfin"] == SANDBOX_PERSONA  # person_info, in the Myinfo person schema
    assert person["name"] == "TAN HENG HUAT"
    assert person["sex"] == "FEMALE"
    assert person["dob"] == "1998-06-06"
    assert person["corppass_email"] == "tan.heng.huat@acme.example"
    assert "lastupdated" not in str(person)
    entity = me["entity"]
    assert entity["id"] == UEN_ENTITY
    assert entity["name"] == UEN_ENTITY_NAME
    assert entity["uen_status"] == "Registered"
    assert entity["basic_profile"]["entity_name"] == UEN_ENTITY_NAME  # entity_info, sent as a JSON string
    assert entity["address"]["postal"] == "138632"  # a nested object sent as a string too
    assert entity["appointments"][0]["position"] == "DIRECTOR"  # Myinfo code/desc, shown as its desc
    assert me["authorisations"] == []  # not asked for
    calls = corppass_calls(sandbox.corppass_url)
    [par] = calls["par"][len(before["par"]) :]
    assert par["client_id"] == MIB_CLIENT
    assert "authentication_context_type" not in par  # Corppass refuses one from a Myinfo Business app
    assert calls["userinfo"][MIB_CLIENT] == before["userinfo"][MIB_CLIENT] + 1


def test_the_browser_only_sees_client_id_and_request_uri_at_corppass_paths(sandbox: Sandbox, browser: Browser) -> None:
    for provider, client_id in (("cp", LOGIN_CLIENT), ("cp-data", MIB_CLIENT)):
        authorize = browser.start_login(provider=provider).headers["Location"]

        assert authorize.startswith(f"{sandbox.corppass_url}/mga/sps/oauth/oauth20/authorize?")  # from discovery
        assert query(authorize) == {"client_id": client_id, "request_uri": query(authorize)["request_uri"]}
        callback_url = provider_redirect(authorize)
        assert callback_url.startswith(f"{sandbox.url}/auth/{provider}/callback?")
        assert set(query(callback_url)) == {"code", "state"}
        assert browser.get(callback_url).headers["Location"] == f"{sandbox.url}/"


def test_each_corppass_app_publishes_the_corppass_keys_alone(sandbox: Sandbox, browser: Browser) -> None:
    keys = browser.get("/.well-known/jwks/cp").json()["keys"]

    assert {key["kid"] for key in keys} == {
        sandbox.resources["CorppassSigningKey"]["KeyId"],
        sandbox.resources["CorppassDecryptionKey"]["KeyId"],
    }
    assert browser.get("/.well-known/jwks/cp-data").json()["keys"] == keys
    singpass = {key["kid"] for key in browser.get("/.well-known/jwks/sp").json()["keys"]}
    assert not singpass & {key["kid"] for key in keys}


def first_enc_kid(browser: Browser, provider: str) -> str:
    kid: str = next(
        key["kid"] for key in browser.get(f"/.well-known/jwks/{provider}").json()["keys"] if key["use"] == "enc"
    )
    return kid
