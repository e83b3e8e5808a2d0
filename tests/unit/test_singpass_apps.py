"""Singpass's two kinds of app, as Singpass documents them (shared/reference/singpass-fapi-2026.md): a Login app
sends an authentication context type and finds the person in the ID token's ``sub_attributes``; a Myinfo app sends
none and reads userinfo. Plus what both share: assurance levels, and retries where Singpass says a failure passes.
Whole logins run through the hostile-provider harness, whose upstreams refuse what Singpass refuses."""

from __future__ import annotations

from typing import Any

import pytest
from singpass_gateway.errors import ConfigurationError
from singpass_gateway.providers.singpass import create
from singpass_gateway.settings import ProviderSettings

from tests.unit.fakes import FakeHttp, FakeToolkit, json_response
from tests.unit.upstream import (
    DROP,
    EC_DECRYPTION_ARN,
    EC_SIGNING_ARN,
    PERSON_NAME,
    HttpResponse,
    Outage,
    Outcome,
    SingpassLoginUpstream,
    SingpassUpstream,
    Upstream,
    server_error,
)

LOA2, LOA3 = "urn:singpass:authentication:loa:2", "urn:singpass:authentication:loa:3"


def login_app(**extra: Any) -> Upstream:
    """A Login app upstream whose gateway is configured with ``extra`` options too."""
    return type("LoginApp", (SingpassLoginUpstream,), {"options": _with(SingpassLoginUpstream, extra)})()


def myinfo_app(**extra: Any) -> Upstream:
    return type("MyinfoApp", (SingpassUpstream,), {"options": _with(SingpassUpstream, extra)})()


def _with(upstream: type[Upstream], extra: dict[str, Any]) -> Any:
    return lambda self: {**upstream.options(self), **extra}


def assert_logged_in(outcome: Outcome) -> None:
    assert outcome.complaints == (), "Singpass refused the gateway's request"
    assert outcome.error is None, outcome.reason
    assert outcome.sessions == 1


def assert_refused(outcome: Outcome, code: str, because: str) -> None:
    assert outcome.complaints == (), "Singpass refused the gateway's request: the test proves nothing"
    assert (outcome.error, outcome.sessions) == (code, 0), outcome.reason
    assert because in outcome.reason
    assert outcome.location.endswith(f"error={code}")


def session_of(upstream: Upstream) -> Any:
    [session] = upstream.store.sessions.values()
    return session


def pushed(upstream: Upstream) -> dict[str, str]:
    [request] = upstream.requests_to("par")
    return dict(request["form"])


# -- configuration ---------------------------------------------------------------------------------------------


def configure(**options: Any) -> None:
    base = {"client_id": "c", "signing_key_arn": EC_SIGNING_ARN, "decryption_key_arn": EC_DECRYPTION_ARN}
    entry = ProviderSettings(id="sp", type="singpass", name="Singpass", options={**base, **options})
    create(entry, FakeToolkit(FakeHttp(), {}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"app": "business"}, "'app' must be one of login, myinfo"),
        ({"scopes": ["openid", "uinfin", "regadd"]}, "uinfin, regadd are Myinfo (Data Catalog) scopes"),
        ({"authentication_context_type": "app authentication"}, "must be one of Singpass's values"),
        ({"authentication_context_type": "APP_" + "X" * 70}, "must be one of Singpass's values"),
        ({"authentication_context_message": "Pay $5 to ACME!"}, "1 to 100 letters, digits and spaces"),
        ({"authentication_context_message": "a" * 101}, "1 to 100 letters, digits and spaces"),
        ({"authentication_context_message": ""}, "1 to 100 letters, digits and spaces"),
        ({"authorization_params": {"authentication_context_type": "X_Y"}}, "with its own options"),
        ({"app": "myinfo", "scopes": ["openid"]}, "Data Catalog scopes besides openid"),
        (
            {"app": "myinfo", "scopes": ["openid", "name"], "authentication_context_type": "APP_PAYMENT_DEFAULT"},
            "for Login apps only",
        ),
        ({"app": "myinfo", "scopes": ["openid", "name"], "authentication_context_message": "Hi"}, "Login apps only"),
        ({"app": "myinfo", "scopes": ["openid", "name"], "acr_values": [LOA3]}, "acr_values is for Login apps only"),
        ({"transient_retries": 4}, "'transient_retries' must be a whole number from 0 to 3"),
        ({"acr_values": "urn:singpass:authentication:loa:2"}, "'acr_values' must be a list of strings"),
        ({"app_kind": "login"}, "unknown option(s) app_kind"),
    ],
)
def test_a_misconfigured_app_is_refused_at_start_up_with_the_fix(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match="provider sp: ") as refused:
        configure(**options)

    assert message in str(refused.value)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"app": "login", "scopes": ["openid", "user.identity", "name", "email", "mobileno"]},
        {"authentication_context_type": "BANK_ACCOUNT_OPENING", "authentication_context_message": "Open account 42"},
        {"app": "myinfo", "scopes": ["openid", "uinfin", "name", "cpfbalances.oa"]},
    ],
)
def test_a_well_configured_app_starts(options: dict[str, Any]) -> None:
    configure(**options)


# -- Login apps ------------------------------------------------------------------------------------------------


def test_a_login_app_logs_in_with_the_person_from_sub_attributes_and_never_calls_userinfo() -> None:
    upstream = login_app()

    outcome = upstream.login()

    assert_logged_in(outcome)
    session = session_of(upstream)
    assert session.person == {
        "uinfin": "S9812381D", "identity_coi": "SG", "account_type": "standard", "name": PERSON_NAME,
    }  # fmt: skip
    assert session.authentication == {"acr": LOA2, "amr": ["pwd", "otp-sms"]}
    assert outcome.calls["userinfo"] == 0
    assert pushed(upstream)["authentication_context_type"] == "APP_AUTHENTICATION_DEFAULT"
    assert "authentication_context_message" not in pushed(upstream)


def test_a_login_app_sends_the_configured_context_type_and_message() -> None:
    upstream = login_app(authentication_context_type="APP_PAYMENT_DEFAULT", authentication_context_message="Pay 5 SGD")

    assert_logged_in(upstream.login())
    assert pushed(upstream)["authentication_context_type"] == "APP_PAYMENT_DEFAULT"
    assert pushed(upstream)["authentication_context_message"] == "Pay 5 SGD"


def test_a_context_type_singpass_has_not_enabled_for_the_app_ends_the_login_cleanly() -> None:
    upstream = login_app(authentication_context_type="APP_ONBOARDING_DEFAULT")

    outcome = upstream.login()

    assert outcome.complaints == ("par: Requested authentication context type is not registered",)
    assert (outcome.error, outcome.sessions) == ("token_rejected", 0)


def test_a_login_app_without_sub_attributes_logs_in_with_an_empty_person() -> None:
    upstream = login_app()

    assert_logged_in(upstream.misbehave(id_token={"sub_attributes": DROP}).login())
    assert session_of(upstream).person == {}


@pytest.mark.parametrize(
    ("sub_attributes", "because"),
    [
        ("S9812381D", "sub_attributes is not an object"),
        ({"identity_number": ["S9812381D"]}, "sub_attributes.identity_number is not a short string"),
        ({"name": "A" * 400}, "sub_attributes.name is not a short string"),
    ],
)
def test_malformed_sub_attributes_are_refused(sub_attributes: Any, because: str) -> None:
    outcome = login_app().misbehave(id_token={"sub_attributes": sub_attributes}).login()

    assert_refused(outcome, "invalid_token", because)


def test_a_sub_account_claim_joins_the_person() -> None:
    upstream = login_app(scopes=["openid", "user.identity", "sub_account"])
    account = {"uen": "T09LL0001B", "name": "ACME"}

    assert_logged_in(upstream.misbehave(id_token={"sub_account": account}).login())
    assert session_of(upstream).person["sub_account"] == account


def test_sub_attributes_singpass_adds_later_are_kept_when_they_are_text() -> None:
    upstream = login_app()
    added = {"identity_number": "S9812381D", "residency": "SC", "flags": {"nested": True}}

    assert_logged_in(upstream.misbehave(id_token={"sub_attributes": added}).login())
    assert session_of(upstream).person == {"uinfin": "S9812381D", "residency": "SC"}


# -- Myinfo apps -----------------------------------------------------------------------------------------------


def test_a_myinfo_app_sends_no_context_type_and_reads_userinfo_with_sub_attributes() -> None:
    upstream = myinfo_app()
    sub_attributes = {"identity_number": "S9812381D", "account_type": "standard"}

    outcome = upstream.misbehave(id_token={"sub_attributes": sub_attributes}).login()

    assert_logged_in(outcome)
    assert "authentication_context_type" not in pushed(upstream)
    assert outcome.calls["userinfo"] == 1
    session = session_of(upstream)
    assert session.person == {"uinfin": "S9812381D", "account_type": "standard", "name": PERSON_NAME}
    assert session.provenance["name"]["source"] == "1"


# -- assurance -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "achieved", "error"),
    [
        ([LOA2], LOA2, None),
        ([LOA2], LOA3, None),
        ([LOA3], LOA2, "insufficient_assurance"),
        ([LOA3, LOA2], "urn:singpass:authentication:loa:1", "insufficient_assurance"),
        ([LOA2], DROP, "insufficient_assurance"),
        ([LOA2], 2, "insufficient_assurance"),
        ([LOA2], "urn:other:loa:9", "insufficient_assurance"),
    ],
)
def test_an_id_token_must_meet_the_assurance_level_asked_for(asked: list[str], achieved: Any, error: str) -> None:
    upstream = login_app(acr_values=asked)

    outcome = upstream.misbehave(id_token={"acr": achieved}).login()

    assert pushed(upstream)["acr_values"] == " ".join(asked)
    if error is None:
        assert_logged_in(outcome)
    else:
        assert_refused(outcome, error, "does not meet")


def test_without_acr_values_any_assurance_level_is_kept_for_the_frontend() -> None:
    upstream = login_app()

    assert_logged_in(upstream.misbehave(id_token={"acr": "urn:singpass:authentication:loa:1"}).login())
    assert "acr_values" not in pushed(upstream)
    assert session_of(upstream).authentication["acr"] == "urn:singpass:authentication:loa:1"


# -- retries ---------------------------------------------------------------------------------------------------


TRANSIENT = {
    "server_error": json_response({"error": "server_error"}, 500),
    "temporarily_unavailable": json_response({"error": "temporarily_unavailable"}, 503),
    "upstream_depedency_error": json_response({"error": "upstream_depedency_error"}, 502),
    "bare-502": HttpResponse(502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>"),
}


@pytest.mark.parametrize("endpoint", ["par", "token", "userinfo"])
@pytest.mark.parametrize("answer", list(TRANSIENT), ids=list(TRANSIENT))
def test_a_transient_error_is_retried_with_a_fresh_assertion_and_proof(endpoint: str, answer: str) -> None:
    upstream = myinfo_app()

    outcome = upstream.misbehave(answer={endpoint: Outage(3, TRANSIENT[answer])}).login()

    assert_logged_in(outcome)
    sent = upstream.requests_to(endpoint)
    assert len(sent) == 4
    proofs = {request["headers"]["DPoP"] for request in sent}
    assert len(proofs) == 4  # each retry proves afresh: a replayed DPoP jti is refused
    if endpoint != "userinfo":
        assert len({request["form"]["client_assertion"] for request in sent}) == 4
    pauses = upstream.toolkit.pauses
    assert len(pauses) == 3
    assert all(0.125 <= pause <= 0.25 * 2**n for n, pause in enumerate(pauses))
    assert pauses[2] > pauses[0]  # the waits grow


@pytest.mark.parametrize(
    ("endpoint", "answer", "code"),
    [
        ("par", "server_error", "provider_unavailable"),
        ("token", "upstream_depedency_error", "provider_unavailable"),
        ("token", "temporarily_unavailable", "provider_maintenance"),
        ("userinfo", "bare-502", "provider_unavailable"),
        ("userinfo", "temporarily_unavailable", "provider_maintenance"),
    ],
)
def test_a_transient_error_that_persists_is_given_up_after_three_retries(endpoint: str, answer: str, code: str) -> None:
    upstream = myinfo_app()

    outcome = upstream.misbehave(answer={endpoint: Outage(99, TRANSIENT[answer])}).login()

    assert (outcome.error, outcome.sessions) == (code, 0), outcome.reason
    assert outcome.location.endswith(f"error={code}")
    assert len(upstream.requests_to(endpoint)) == 4


@pytest.mark.parametrize(
    "answer",
    [json_response({"error": "invalid_client"}, 401), json_response({"error": "invalid_grant"}, 400)],
    ids=["invalid_client", "invalid_grant"],
)
def test_a_refusal_is_not_retried(answer: HttpResponse) -> None:
    upstream = myinfo_app()

    outcome = upstream.misbehave(answer={"token": lambda honest: answer}).login()

    assert (outcome.error, outcome.sessions) == ("token_rejected", 0)
    assert len(upstream.requests_to("token")) == 1


def test_a_plain_oidc_provider_does_not_retry() -> None:
    from tests.unit.upstream import build

    upstream = build("oidc")

    outcome = upstream.misbehave(answer={"token": server_error}).login()

    assert outcome.error == "provider_unavailable"
    assert len(upstream.requests_to("token")) == 1


@pytest.mark.parametrize(
    ("error", "code"),
    [("server_error", "provider_unavailable"), ("temporarily_unavailable", "provider_maintenance")],
)
def test_a_callback_with_a_passing_error_gets_a_code_worth_trying_again(error: str, code: str) -> None:
    upstream = login_app()
    started = upstream.start()
    state = upstream.authorize(started.location)["state"]

    outcome = upstream.finish({"error": error, "state": state}, started.binding)

    assert (outcome.error, outcome.sessions) == (code, 0)
    assert outcome.calls["token"] == 0
