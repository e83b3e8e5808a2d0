"""Corppass's two kinds of app, as Corppass documents them and its staging behaves
(shared/reference/corppass-fapi-2026.md): whole logins through the hostile-provider harness, whose Corppass
upstreams refuse what Corppass refuses, and Corppass's data shapes one by one."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from singpass_gateway.errors import ConfigurationError, InvalidToken
from singpass_gateway.providers import corppass_data
from singpass_gateway.providers.corppass import create
from singpass_gateway.settings import ProviderSettings

from tests.unit.fakes import FakeHttp, FakeToolkit
from tests.unit.fuzzing import FUZZ, json_values
from tests.unit.upstream import (
    ACTING_USER,
    AUTH_INFO,
    CLIENT_ID,
    DROP,
    EC_DECRYPTION_ARN,
    EC_SIGNING_ARN,
    ENTITY_UEN,
    PERSON_NAME,
    CorppassBusinessUpstream,
    CorppassUpstream,
    Outcome,
    Upstream,
)

APPROVER = {
    "eservice": "GATEWAY-ESVC-1", "entity": None, "role": "Approver", "start": "2026-01-01", "end": None,
    "parameters": {"limit": "5000"}, "third_party": False,
}  # fmt: skip
VIEWER = {
    "eservice": "GATEWAY-ESVC-1", "entity": None, "role": "Viewer", "start": "2026-02-01", "end": "2027-01-31",
    "parameters": {}, "third_party": False, "missing": ["entity"],
}  # fmt: skip
SUBMITTER = {
    "eservice": "GATEWAY-ESVC-2", "entity": "201912345K-01", "role": "Submitter", "start": "2026-03-01",
    "end": None, "parameters": {}, "third_party": False,
}  # fmt: skip


def app(upstream: type[Upstream], **extra: Any) -> Upstream:
    """An upstream whose gateway is configured with ``extra`` options too."""
    return type("App", (upstream,), {"options": lambda self: {**upstream.options(self), **extra}})()


def logged_in(outcome: Outcome, upstream: Upstream) -> Any:
    assert outcome.complaints == (), "Corppass refused the gateway's request"
    assert outcome.error is None, outcome.reason
    [session] = upstream.store.sessions.values()
    return session


def refused(outcome: Outcome, because: str) -> None:
    assert outcome.complaints == (), "Corppass refused the gateway's request: the test proves nothing"
    assert (outcome.error, outcome.sessions) == ("invalid_token", 0), outcome.reason
    assert because in outcome.reason


def pushed(upstream: Upstream) -> dict[str, str]:
    [request] = upstream.requests_to("par")
    return dict(request["form"])


# -- Corppass Login --------------------------------------------------------------------------------------------


def test_a_login_app_logs_in_the_user_for_the_entity_with_their_authorisations() -> None:
    upstream = CorppassUpstream()

    session = logged_in(upstream.login(), upstream)

    assert session.sub == ENTITY_UEN
    assert session.person == {"uinfin": "S9812381D", "identity_coi": "SG", "account_type": "standard",
                              "name": PERSON_NAME}  # fmt: skip
    assert session.organisation == {
        "entity": {"id": ENTITY_UEN, "type": "UEN", "registration_number": ENTITY_UEN, "coi": "SG",
                   "name": "ACME PTE. LTD."},
        "act": {"sub": ACTING_USER},
        "authorisations": [APPROVER, VIEWER, SUBMITTER],
    }  # fmt: skip
    assert pushed(upstream)["authentication_context_type"] == "APP_AUTHENTICATION_DEFAULT"
    assert upstream.requests_to("userinfo")  # auth_info is userinfo's


def test_a_login_app_that_asks_for_no_authorisations_never_calls_userinfo() -> None:
    upstream = app(CorppassUpstream, scopes=["openid", "entity.identity", "user.identity"])

    session = logged_in(upstream.login(), upstream)

    assert upstream.requests_to("userinfo") == []
    assert session.organisation["authorisations"] == []


def test_third_party_authorisations_are_marked_as_such() -> None:
    upstream = CorppassUpstream()
    tp = {"Result_Set": {"ESrvc_Row_Count": 1, "ESrvc_Result": {"CPESrvcID": "TP-1", "Auth_Result_Set": {
        "Row_Count": 1, "Row": [{"CPEntID_SUB": "T09LL0001B", "CPRole": "Agent", "StartDate": "2026-01-01",
                                 "EndDate": "9999-12-31"}]}}}}  # fmt: skip

    session = logged_in(upstream.misbehave(userinfo={"tp_auth_info": json.dumps(tp)}).login(), upstream)

    assert session.organisation["authorisations"][-1] == {
        "eservice": "TP-1", "entity": "T09LL0001B", "role": "Agent", "start": "2026-01-01", "end": None,
        "parameters": {}, "third_party": True,
    }  # fmt: skip


@pytest.mark.parametrize("empty", ["", [], None], ids=["blank", "empty", "absent"])
def test_a_user_with_no_authorisations_has_an_empty_list(empty: Any) -> None:
    upstream = CorppassUpstream()
    result_set = {"Result_Set": {"ESrvc_Row_Count": 0, **({} if empty is None else {"ESrvc_Result": empty})}}

    session = logged_in(upstream.misbehave(userinfo={"auth_info": json.dumps(result_set)}).login(), upstream)

    assert session.organisation["authorisations"] == []


@pytest.mark.parametrize(
    ("claims", "because"),
    [
        ({"act": DROP}, "names no acting user"),
        ({"act": {"sub": "", "sub_type": "user"}}, "act.sub is not a usable subject"),
        ({"act": {"sub": ACTING_USER, "sub_type": "entity"}}, "act is not a user"),
        ({"act": {"sub": ACTING_USER, "sub_attributes": {"identity_number": 1}}}, "act.sub_attributes.identity"),
        ({"sub_type": "user"}, "subject is not an entity"),
        ({"sub_attributes": {"entity_name": ["ACME"]}}, "sub_attributes.entity_name is not a short string"),
    ],
)
def test_an_id_token_that_is_not_an_entity_with_a_user_acting_is_refused(claims: dict[str, Any], because: str) -> None:
    refused(CorppassUpstream().misbehave(id_token=claims).login(), because)


@pytest.mark.parametrize(
    ("auth_info", "because"),
    [
        ({"no": "result set"}, "auth_info has no Result_Set"),
        ({"Result_Set": {"ESrvc_Result": ["not an object"]}}, "ESrvc_Result is not a list of objects"),
        ({"Result_Set": {"ESrvc_Result": [{"CPESrvcID": ["x"]}]}}, "auth_info.CPESrvcID is not a short string"),
    ],
)
def test_malformed_authorisations_are_refused(auth_info: Any, because: str) -> None:
    refused(CorppassUpstream().misbehave(userinfo={"auth_info": json.dumps(auth_info)}).login(), because)


def test_a_userinfo_about_the_client_instead_of_the_entity_is_refused_unless_allowed() -> None:
    """Corppass was once documented to send the client id as userinfo's sub; allowed only when configured."""
    strict = CorppassUpstream().misbehave(userinfo={"sub": CLIENT_ID}).login()
    allowing = app(CorppassUpstream, userinfo_subject="client_id")

    refused(strict, "userinfo sub differs")
    assert logged_in(allowing.misbehave(userinfo={"sub": CLIENT_ID}).login(), allowing).sub == ENTITY_UEN
    refused(app(CorppassUpstream, userinfo_subject="client_id").login(), "userinfo sub differs")


# -- Myinfo Business -------------------------------------------------------------------------------------------


def test_a_myinfo_business_app_reads_the_entity_and_the_user_from_stringified_blocks() -> None:
    upstream = CorppassBusinessUpstream()

    session = logged_in(upstream.login(), upstream)

    assert "authentication_context_type" not in pushed(upstream)
    assert session.person == {"uinfin": "S9812381D", "identity_coi": "SG", "account_type": "standard",
                              "name": PERSON_NAME, "corppass_email": "tan@acme.example",
                              "corppass_email_verified": True}  # fmt: skip
    assert session.provenance["name"] == {"source": "1", "classification": "C", "lastupdated": "2026-01-01"}
    entity = session.organisation["entity"]
    assert entity["basic_profile"] == {"entity_name": "ACME PTE. LTD.", "uen": ENTITY_UEN}
    assert entity["address"] == {"postal": "460102", "country": "SINGAPORE"}  # nested JSON string, decoded
    assert session.organisation["authorisations"] == []


def test_person_data_about_another_user_than_the_one_acting_is_refused() -> None:
    other = json.dumps({"uinfin": {"value": "S1234567A"}, "name": {"value": "SOMEONE ELSE"}})

    refused(CorppassBusinessUpstream().misbehave(userinfo={"person_info": other}).login(), "acting user")


# -- configuration ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scopes": ["openid", "entity.address"]}, "entity.address are Myinfo Business scopes"),
        ({"app": "myinfo-business", "authentication_context_type": "APP_AUTHENTICATION_DEFAULT"}, "Login apps only"),
        ({"app": "myinfo-business", "scopes": ["openid"]}, "data scopes besides openid"),
        ({"app": "business"}, "'app' must be one of login, myinfo-business"),
        ({"userinfo_subject": "aud"}, "'userinfo_subject' must be one of id_token, client_id"),
        ({"authentication_context_message": "Pay $5!"}, "1 to 100 letters, digits and spaces"),
    ],
)
def test_a_misconfigured_app_is_refused_at_start_up_with_the_fix(options: dict[str, Any], message: str) -> None:
    base = {"client_id": "c", "signing_key_arn": EC_SIGNING_ARN, "decryption_key_arn": EC_DECRYPTION_ARN}
    entry = ProviderSettings(id="cp", type="corppass", name="Corppass", options={**base, **options})

    with pytest.raises(ConfigurationError, match="provider cp: ") as refusal:
        create(entry, FakeToolkit(FakeHttp(), {}))  # type: ignore[arg-type]

    assert message in str(refusal.value)


# -- the shapes, one by one ------------------------------------------------------------------------------------


def test_json_strings_are_decoded_only_when_they_hold_objects_or_arrays() -> None:
    value = {"a": json.dumps({"b": json.dumps([1, {"c": "[TEST]"}])}), "name": "[TEST]", "n": "42"}

    assert corppass_data.unwrapped(value) == {"a": {"b": [1, {"c": "[TEST]"}]}, "name": "[TEST]", "n": "42"}


def test_a_stringified_block_over_the_limits_is_refused() -> None:
    deep = '{"d": ' * (corppass_data.MAX_DEPTH + 2) + "1" + "}" * (corppass_data.MAX_DEPTH + 2)
    huge = json.dumps({"d": "x" * corppass_data.MAX_BLOCK_BYTES})

    with pytest.raises(InvalidToken, match="nests deeper"):
        corppass_data.unwrapped({"entity_info": deep})
    with pytest.raises(InvalidToken, match="larger than the gateway reads"):
        corppass_data.unwrapped({"entity_info": huge})


def test_the_documented_result_set_becomes_authorisations() -> None:
    assert corppass_data.authorisations({"auth_info": AUTH_INFO}) == [APPROVER, VIEWER, SUBMITTER]


# -- fuzzing ---------------------------------------------------------------------------------------------------


@settings(FUZZ, max_examples=200)
@given(
    block=json_values | st.builds(json.dumps, json_values),
    claims=st.fixed_dictionaries({"sub": st.just(ENTITY_UEN)}, optional={"sub_attributes": json_values,
                                                                         "act": json_values, "sub_type": json_values}),
)  # fmt: skip
def test_any_userinfo_block_or_id_token_becomes_plain_json_or_is_refused(block: Any, claims: dict[str, Any]) -> None:
    """Whatever Corppass sends, the gateway keeps plain JSON or refuses it with invalid_token, never crashes."""
    for step in (
        lambda: corppass_data.authorisations(corppass_data.unwrapped({"auth_info": block, "tp_auth_info": block})),
        lambda: corppass_data.entity(claims, corppass_data.unwrapped(block)),
        lambda: corppass_data.actor(claims),
        lambda: corppass_data.corppass_email(corppass_data.unwrapped(block)),
    ):
        with contextlib.suppress(InvalidToken):
            json.dumps(step())
