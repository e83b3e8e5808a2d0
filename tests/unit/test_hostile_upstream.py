"""The relying-party checklist (docs/security.md) against a hostile provider: each test bends one answer of an
otherwise honest upstream (tests/unit/upstream.py) and drives a whole login through the Gateway, over every
provider type the item applies to. A refusal must carry its stable code, create no session, and be the gateway's
own (the upstream had nothing to complain about); the honest login of each type shows every refusal can fail.
"""

from __future__ import annotations

from typing import Any

import pytest
from singpass_gateway.jose import CLOCK_SKEW_SECONDS, MAX_ID_TOKEN_AGE_SECONDS

from tests.unit.upstream import (
    ATTACKER,
    CLIENT_ID,
    DROP,
    NOW,
    UPSTREAMS,
    Breakage,
    Outcome,
    SingpassUpstream,
    Twist,
    build,
    flooded,
    junk_key_first,
    not_json,
    server_error,
    truncated,
)

SAMPLES = {kind: build(kind) for kind in UPSTREAMS}
"""One upstream of each type, only read, to build the tables below."""
KINDS = list(UPSTREAMS)
ID_TOKEN_KINDS = [kind for kind, upstream in SAMPLES.items() if upstream.subject_token == "id_token"]
DISCOVERY_KINDS = [kind for kind, upstream in SAMPLES.items() if upstream.discovery_url]
DPOP_KINDS = [kind for kind, upstream in SAMPLES.items() if upstream.token_type == "DPoP"]
PKCE_KINDS = [kind for kind, upstream in SAMPLES.items() if upstream.pkce]
SIGNED = [(kind, artifact) for kind, upstream in SAMPLES.items() for artifact in upstream.signings]
JWKS_SIGNED = [(kind, artifact) for kind, artifact in SIGNED if SAMPLES[kind].signings[artifact].jwks_url]
ENCRYPTED = [(kind, artifact) for kind, upstream in SAMPLES.items() for artifact in upstream.encryptions]
SUBJECT_TOKENS = [
    (kind, upstream.subject_token) for kind, upstream in SAMPLES.items() if upstream.subject_token in upstream.signings
]
"""Signed tokens naming the person (a user endpoint's JSON has no time claims to check)."""
NAMED_SUBJECTS = [(kind, upstream.subject_token) for kind, upstream in SAMPLES.items()]
CLAIM_CHECKED = [(kind, "id_token") for kind in ID_TOKEN_KINDS] + [("singpass", "userinfo")]
"""JWTs whose iss and aud the gateway checks: ID tokens, and Singpass's signed userinfo."""
JWKS_ENDPOINTS = sorted({(kind, SAMPLES[kind].jwks_endpoint(artifact)) for kind, artifact in JWKS_SIGNED})
ENDPOINTS = [
    (kind, name)
    for kind, upstream in SAMPLES.items()
    for name in dict.fromkeys(upstream.endpoint_names.values())
    if not name.startswith("attacker") and name != "revocation"  # logout's, not the login's
]


def ids(pairs: list[tuple[str, str]]) -> list[str]:
    return ["-".join(pair) for pair in pairs]


def assert_refused(outcome: Outcome, code: str, because: str | None) -> None:
    """Refused with ``code`` (for the reason named, unless None), no session, and by the gateway's own check."""
    assert outcome.complaints == (), "the upstream refused the gateway's request: the test proves nothing"
    assert outcome.error == code, outcome.reason
    assert because is None or because in outcome.reason, outcome.reason
    assert outcome.sessions == 0
    assert outcome.location.endswith(f"error={code}")
    assert "eyJ" not in outcome.reason  # the log line names the failure, never carries the token


def assert_logged_in(outcome: Outcome) -> None:
    assert outcome.complaints == ()
    assert outcome.error is None, outcome.reason
    assert outcome.session_id is not None


# -- the honest upstreams: every refusal below can fail ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_an_honest_upstream_logs_the_person_in(kind: str) -> None:
    upstream = build(kind)

    outcome = upstream.login()

    assert_logged_in(outcome)
    assert outcome.location == "https://app.example/after"
    [session] = upstream.store.sessions.values()
    assert (session.provider_id, session.sub) == (kind, upstream.subject)
    assert "TAN HENG HUAT" in session.person.values()


# -- 1. PKCE --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", PKCE_KINDS)
def test_each_login_proves_a_fresh_s256_challenge_at_the_token_endpoint(kind: str) -> None:
    upstream = build(kind)

    assert_logged_in(upstream.login())
    assert_logged_in(upstream.login())  # the upstream checked each verifier against its S256 challenge

    first, second = upstream.authorizations
    assert first.code_challenge != second.code_challenge
    assert all(len(r["form"]["code_verifier"]) >= 43 for r in upstream.requests_to("token"))


# -- 2. state ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("forgery", ["without-state", "unknown-state", "another-browser", "without-login-cookie"])
def test_a_callback_that_is_not_this_browsers_login_is_refused_before_the_token_call(kind: str, forgery: str) -> None:
    upstream = build(kind)
    started = upstream.start()
    params = upstream.authorize(started.location)
    params, binding = {
        "without-state": ({**params, "state": ""}, started.binding),
        "unknown-state": ({**params, "state": "attacker-state"}, started.binding),
        "another-browser": (params, "another-browsers-binding"),
        "without-login-cookie": (params, None),
    }[forgery]

    outcome = upstream.finish(params, binding)

    assert_refused(outcome, "invalid_state", "state")
    assert outcome.calls["token"] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_a_replayed_callback_is_refused_before_the_token_call(kind: str) -> None:
    upstream = build(kind)
    started = upstream.start()
    params = upstream.authorize(started.location)
    assert_logged_in(upstream.finish(params, started.binding))

    replay = upstream.finish(params, started.binding)

    assert replay.error == "invalid_state"
    assert (replay.sessions, replay.calls["token"]) == (1, 1)


# -- 3. nonce ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ID_TOKEN_KINDS)
@pytest.mark.parametrize("nonce", ["another-logins-nonce", DROP], ids=["wrong", "missing"])
def test_an_id_token_without_this_logins_nonce_is_refused_and_nothing_more_is_fetched(kind: str, nonce: Any) -> None:
    outcome = build(kind).misbehave(id_token={"nonce": nonce}).login()

    assert_refused(outcome, "invalid_token", "nonce")
    assert outcome.calls["userinfo"] == 0


# -- 4. the RFC 9207 iss parameter --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ID_TOKEN_KINDS)
@pytest.mark.parametrize("named", ["another-issuer", "issuer-with-trailing-slash"])
def test_a_callback_naming_another_issuer_is_refused_before_the_token_call(kind: str, named: str) -> None:
    upstream = build(kind)
    iss = {"another-issuer": ATTACKER, "issuer-with-trailing-slash": upstream.issuer + "/"}[named]

    outcome = upstream.misbehave(callback={"iss": iss}).login()

    assert_refused(outcome, "invalid_callback", "names another issuer")
    assert outcome.calls["token"] == 0


@pytest.mark.parametrize("kind", [kind for kind in DISCOVERY_KINDS if SAMPLES[kind].issuer_parameter])
def test_a_callback_without_the_iss_discovery_promises_is_refused_before_the_token_call(kind: str) -> None:
    outcome = build(kind).misbehave(callback={"iss": DROP}).login()

    assert_refused(outcome, "invalid_callback", "promises an iss")
    assert outcome.calls["token"] == 0


@pytest.mark.parametrize("kind", DISCOVERY_KINDS)
def test_a_callback_without_iss_is_accepted_when_discovery_does_not_promise_it(kind: str) -> None:
    upstream = build(kind).misbehave(
        callback={"iss": DROP}, discovery={"authorization_response_iss_parameter_supported": DROP}
    )
    assert_logged_in(upstream.login())


# -- 6. redirect_uri -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_code_is_redeemed_with_the_registered_redirect_uri_unchanged(kind: str) -> None:
    upstream = build(kind)

    assert_logged_in(upstream.login())

    [token_request] = upstream.requests_to("token")
    [authorized] = upstream.authorizations
    assert token_request["form"]["redirect_uri"] == authorized.redirect_uri == upstream.redirect_uri


# -- 9. error responses from the provider ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("error", "code", "reason"),
    [
        ("access_denied", "access_denied", "consent"),
        ("login_required", "provider_error", "login_required"),
        ("temporarily_unavailable", "provider_maintenance", "temporarily_unavailable"),
    ],
)
def test_a_provider_error_ends_the_login_cleanly_without_a_token_call_or_its_text(
    kind: str, error: str, code: str, reason: str
) -> None:
    echo = "<script>alert(document.cookie)</script>"
    callback = {"code": DROP, "error": error, "error_description": echo}

    outcome = build(kind).misbehave(callback=callback).login()

    assert_refused(outcome, code, reason)
    assert outcome.calls["token"] == 0
    assert "script" not in outcome.location + outcome.reason


# -- 10. PAR --------------------------------------------------------------------------------------------------------


def test_every_login_pushes_a_request_of_its_own() -> None:
    upstream = build("singpass")

    assert_logged_in(upstream.login())
    assert_logged_in(upstream.login())

    pushed = [request["form"] for request in upstream.requests_to("par")]
    assert len(pushed) == 2
    assert pushed[0]["state"] != pushed[1]["state"]
    assert pushed[0]["nonce"] != pushed[1]["nonce"]


# -- 12. token responses ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("variation", ["lower-case-token-type", "upper-case-token-type", "without-expires_in"])
def test_a_token_response_is_read_as_rfc_6749_allows(kind: str, variation: str) -> None:
    upstream = build(kind)
    overrides = {
        "lower-case-token-type": {"token_type": upstream.token_type.lower()},
        "upper-case-token-type": {"token_type": upstream.token_type.upper()},
        "without-expires_in": {"expires_in": DROP},
    }[variation]

    assert_logged_in(upstream.misbehave(token_response=overrides).login())


# -- 13. Bearer where DPoP was asked for ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", DPOP_KINDS)
@pytest.mark.parametrize("token_type", ["Bearer", DROP], ids=["bearer", "without-token-type"])
def test_a_token_that_is_not_dpop_bound_is_refused_where_dpop_was_asked_for(kind: str, token_type: Any) -> None:
    upstream = build(kind)

    outcome = upstream.misbehave(token_response={"token_type": token_type}).login()

    assert_refused(outcome, "invalid_token", "DPoP")
    assert outcome.calls[upstream.person_document] == 0


# -- 14. JWE algorithms and nesting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "artifact", "jwe"),
    [
        ("sgid", "userinfo_key", {"alg": "RSA1_5"}),
        ("myinfo-v3", "person", {"alg": "RSA1_5"}),
        ("singpass", "id_token", {"alg": "ECDH-ES"}),
        ("singpass", "userinfo", {"alg": "ECDH-ES"}),
        ("myinfo-v4", "person", {"alg": "ECDH-ES+A128KW"}),
        ("myinfo-v4", "person", {"enc": "A128GCM"}),
    ],
    ids=["sgid-key-rsa1_5", "myinfo-v3-rsa1_5", "singpass-id-ecdh-es", "singpass-userinfo-ecdh-es",
         "myinfo-v4-a128kw", "myinfo-v4-a128gcm"],
)  # fmt: skip
def test_a_jwe_algorithm_outside_the_providers_allow_list_is_refused(
    kind: str, artifact: str, jwe: dict[str, str]
) -> None:
    outcome = build(kind).misbehave(**{artifact: Twist(jwe=jwe)}).login()

    assert_refused(outcome, "invalid_token", "UnsupportedAlgorithmError")


@pytest.mark.parametrize(
    ("kind", "artifact", "reason"),
    [
        ("singpass", "id_token", "does not wrap a signed JWT"),
        ("singpass", "userinfo", "does not wrap a signed JWT"),
        ("myinfo-v3", "person", "not a compact JWS"),
        ("myinfo-v4", "person", "does not wrap a signed JWT"),
    ],
)
def test_a_jwe_around_unsigned_claims_is_refused(kind: str, artifact: str, reason: str) -> None:
    outcome = build(kind).misbehave(**{artifact: Twist(packaging="unsigned")}).login()

    assert_refused(outcome, "invalid_token", reason)


@pytest.mark.parametrize(
    ("kind", "artifact", "reason"),
    [
        ("singpass", "id_token", "must be encrypted"),
        ("myinfo-v3", "person", "compact JWE"),
        ("myinfo-v4", "person", "compact JWE"),
    ],
)
def test_a_signed_artifact_that_must_come_encrypted_is_refused_in_the_clear(
    kind: str, artifact: str, reason: str
) -> None:
    outcome = build(kind).misbehave(**{artifact: Twist(packaging="unencrypted")}).login()

    assert_refused(outcome, "invalid_token", reason)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("singpass", "signed JWT"), ("myinfo-v3", "compact JWE"), ("myinfo-v4", "compact JWE")],
)
def test_person_data_that_must_be_signed_is_refused_as_plain_json(kind: str, reason: str) -> None:
    upstream = build(kind)

    outcome = upstream.misbehave(**{upstream.person_document: Twist(packaging="clear")}).login()

    assert_refused(outcome, "invalid_token", reason)


# -- 15, 16, 17, 19. signatures --------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "artifact"), SIGNED, ids=ids(SIGNED))
@pytest.mark.parametrize("signer", ["none", "alternate-alg"])
def test_a_signature_algorithm_outside_the_allow_list_is_refused(kind: str, artifact: str, signer: Any) -> None:
    outcome = build(kind).misbehave(**{artifact: Twist(signer=signer)}).login()

    assert_refused(outcome, "invalid_token", "not allowed")


@pytest.mark.parametrize(("kind", "artifact"), SIGNED, ids=ids(SIGNED))
def test_hs256_keyed_with_the_providers_public_key_is_refused(kind: str, artifact: str) -> None:
    outcome = build(kind).misbehave(**{artifact: Twist(signer="hs256-public-key")}).login()

    assert_refused(outcome, "invalid_token", "not allowed")


@pytest.mark.parametrize(("kind", "artifact"), SIGNED, ids=ids(SIGNED))
@pytest.mark.parametrize("signer", ["foreign-key", "tampered"])
def test_a_signature_by_a_key_outside_the_jwks_or_over_other_claims_is_refused(
    kind: str, artifact: str, signer: Any
) -> None:
    outcome = build(kind).misbehave(**{artifact: Twist(signer=signer)}).login()

    assert_refused(outcome, "invalid_token", "signature")


@pytest.mark.parametrize(("kind", "artifact"), JWKS_SIGNED, ids=ids(JWKS_SIGNED))
def test_a_token_whose_key_the_jwks_does_not_publish_is_refused_after_one_refetch(kind: str, artifact: str) -> None:
    upstream = build(kind)

    outcome = upstream.misbehave(**{artifact: Twist(unpublished=True)}).login()

    assert_refused(outcome, "invalid_token", "signature")
    assert outcome.calls[upstream.jwks_endpoint(artifact)] == 1  # a cached set younger than the cooldown


@pytest.mark.parametrize(("kind", "artifact"), SIGNED, ids=ids(SIGNED))
@pytest.mark.parametrize("signer", ["jwk-header", "jku-header", "x5u-header", "x5c-header"])
def test_a_key_offered_in_the_token_header_is_never_used(kind: str, artifact: str, signer: Any) -> None:
    outcome = build(kind).misbehave(**{artifact: Twist(signer=signer)}).login()

    assert_refused(outcome, "invalid_token", "signature")
    assert outcome.calls["attacker-jwks"] == outcome.calls["attacker-cert"] == 0


# -- 18. kid handling and key rotation ------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "artifact"), JWKS_SIGNED, ids=ids(JWKS_SIGNED))
def test_a_rotated_signing_key_is_picked_up_with_one_refetch(kind: str, artifact: str) -> None:
    upstream = build(kind)
    assert_logged_in(upstream.login())
    upstream.rotate(artifact)
    upstream.now += 11  # past the JWKS cache's refetch cooldown

    outcome = upstream.login()

    assert_logged_in(outcome)
    assert outcome.calls[upstream.jwks_endpoint(artifact)] == 2


@pytest.mark.parametrize(("kind", "jwks"), JWKS_ENDPOINTS, ids=ids(JWKS_ENDPOINTS))
def test_a_jwks_entry_no_parser_can_use_is_skipped(kind: str, jwks: str) -> None:
    assert_logged_in(build(kind).misbehave(answer={jwks: junk_key_first}).login())


def shares_its_jwks(kind: str, artifact: str) -> bool:
    """Whether another artifact's key is published beside this one's (Singpass's and Corppass's ID token and
    userinfo keys); a kid-less token is then ambiguous."""
    signings = SAMPLES[kind].signings
    return any(other != artifact and signing.jwks_url == signings[artifact].jwks_url
               for other, signing in signings.items())  # fmt: skip


SINGLE_KEY_JWKS = [(kind, artifact) for kind, artifact in JWKS_SIGNED if not shares_its_jwks(kind, artifact)]
SHARED_JWKS = [(kind, artifact) for kind, artifact in JWKS_SIGNED if shares_its_jwks(kind, artifact)]


@pytest.mark.parametrize(("kind", "artifact"), SINGLE_KEY_JWKS, ids=ids(SINGLE_KEY_JWKS))
def test_a_token_without_kid_is_verified_with_the_jwks_only_key(kind: str, artifact: str) -> None:
    assert_logged_in(build(kind).misbehave(**{artifact: Twist(header={"kid": DROP})}).login())


@pytest.mark.parametrize(("kind", "artifact"), SHARED_JWKS, ids=ids(SHARED_JWKS))
def test_a_token_without_kid_is_refused_when_the_jwks_has_several_keys(kind: str, artifact: str) -> None:
    outcome = build(kind).misbehave(**{artifact: Twist(header={"kid": DROP})}).login()

    assert_refused(outcome, "invalid_token", "signature")


# -- 20. issuer ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "artifact"), CLAIM_CHECKED, ids=ids(CLAIM_CHECKED))
@pytest.mark.parametrize("iss", [ATTACKER, DROP], ids=["another-issuer", "no-issuer"])
def test_a_token_from_another_or_no_issuer_is_refused(kind: str, artifact: str, iss: Any) -> None:
    outcome = build(kind).misbehave(**{artifact: {"iss": iss}}).login()

    assert_refused(outcome, "invalid_token", "iss")


@pytest.mark.parametrize("kind", DISCOVERY_KINDS)
def test_a_discovery_document_for_another_issuer_ends_the_login_before_anything_is_pushed_or_stored(
    kind: str,
) -> None:
    upstream = build(kind)

    outcome = upstream.misbehave(discovery={"issuer": ATTACKER}).login()

    assert_refused(outcome, "provider_unavailable", "issuer")
    assert outcome.calls["par"] == 0
    assert upstream.store.transactions == {}


# -- 21. audience --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "artifact"), CLAIM_CHECKED, ids=ids(CLAIM_CHECKED))
@pytest.mark.parametrize(
    "aud", ["another-client", DROP, [CLIENT_ID, "an-untrusted-client"]], ids=["another", "none", "secondary"]
)
def test_a_token_for_another_no_or_an_extra_audience_is_refused(kind: str, artifact: str, aud: Any) -> None:
    outcome = build(kind).misbehave(**{artifact: {"aud": aud}}).login()

    assert_refused(outcome, "invalid_token", "aud")


@pytest.mark.parametrize(("kind", "artifact"), CLAIM_CHECKED, ids=ids(CLAIM_CHECKED))
def test_an_audience_array_of_this_client_alone_is_accepted(kind: str, artifact: str) -> None:
    assert_logged_in(build(kind).misbehave(**{artifact: {"aud": [CLIENT_ID]}}).login())


@pytest.mark.parametrize("kind", ID_TOKEN_KINDS)
def test_an_id_token_authorized_for_another_party_is_refused(kind: str) -> None:
    outcome = build(kind).misbehave(id_token={"azp": "another-client"}).login()

    assert_refused(outcome, "invalid_token", "azp")


# -- 22, 46. time claims, with the one clock skew --------------------------------------------------------------


@pytest.mark.parametrize(("kind", "artifact"), SUBJECT_TOKENS, ids=ids(SUBJECT_TOKENS))
@pytest.mark.parametrize("exp", ["expired", "missing"])
def test_an_expired_or_exp_less_token_is_refused(kind: str, artifact: str, exp: str) -> None:
    upstream = build(kind)
    expired = upstream.now - CLOCK_SKEW_SECONDS  # past even the skew MyInfo's access tokens get

    outcome = upstream.misbehave(**{artifact: {"exp": expired if exp == "expired" else DROP}}).login()

    assert_refused(outcome, "invalid_token", "exp")


@pytest.mark.parametrize("kind", ID_TOKEN_KINDS)
@pytest.mark.parametrize("iat", ["missing", "beyond-the-skew-ahead", "older-than-a-login"])
def test_an_id_token_without_a_current_iat_is_refused(kind: str, iat: str) -> None:
    upstream = build(kind)
    issued = {
        "missing": DROP,
        "beyond-the-skew-ahead": upstream.now + CLOCK_SKEW_SECONDS + 1,
        "older-than-a-login": upstream.now - MAX_ID_TOKEN_AGE_SECONDS - CLOCK_SKEW_SECONDS - 1,
    }[iat]

    outcome = upstream.misbehave(id_token={"iat": issued}).login()

    assert_refused(outcome, "invalid_token", "iat")


@pytest.mark.parametrize(("kind", "artifact"), SUBJECT_TOKENS, ids=ids(SUBJECT_TOKENS))
def test_a_clock_within_the_one_skew_is_tolerated(kind: str, artifact: str) -> None:
    """An ID token issued up to the skew ahead; an ID token or MyInfo access token expired up to the skew ago."""
    edges = [{"exp": NOW - CLOCK_SKEW_SECONDS + 1}]
    if artifact == "id_token":
        edges.append({"iat": NOW + CLOCK_SKEW_SECONDS})

    for edge in edges:
        assert_logged_in(build(kind).misbehave(**{artifact: edge}).login())


# -- 23. subject ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "artifact"), NAMED_SUBJECTS, ids=ids(NAMED_SUBJECTS))
def test_a_token_naming_nobody_is_refused(kind: str, artifact: str) -> None:
    upstream = build(kind)

    outcome = upstream.misbehave(**{artifact: {upstream.subject_claim: DROP}}).login()

    assert_refused(outcome, "invalid_token", upstream.subject_claim)


@pytest.mark.parametrize(
    "kind", [kind for kind in KINDS if SAMPLES[kind].person_document != SAMPLES[kind].subject_token]
)
def test_person_data_about_someone_else_is_refused(kind: str) -> None:
    """Where the person comes apart from the token naming them (a Singpass Login app's person is in its ID token)."""
    upstream = build(kind)

    outcome = upstream.misbehave(**{upstream.person_document: upstream.someone_else}).login()

    assert_refused(outcome, "invalid_token", "sub")


# -- 24. refresh ---------------------------------------------------------------------------------------------------


def test_an_honest_refresh_rereads_the_person_and_keeps_the_rotated_token() -> None:
    upstream = build("oidc")
    login = upstream.login()
    assert login.session_id is not None
    before = upstream.store.sessions[login.session_id]
    upstream.now += 60

    refreshed = upstream.refresh(login.session_id)

    assert refreshed.error is None, refreshed.reason
    code_exchange, refresh = (request["form"] for request in upstream.requests_to("token"))
    assert (code_exchange["grant_type"], refresh["grant_type"]) == ("authorization_code", "refresh_token")
    after = upstream.store.sessions[login.session_id]
    assert after.refreshed_at == upstream.now
    assert after.sealed_grant != before.sealed_grant


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": ATTACKER}, "iss"),
        ({"sub": "mallory"}, "another subject"),
        ({"aud": "another-client"}, "aud"),
        ({"azp": "another-client"}, "azp"),
    ],
    ids=["issuer", "subject", "audience", "authorized-party"],
)
def test_a_refreshed_id_token_for_another_issuer_subject_or_audience_is_refused(
    claims: dict[str, str], reason: str
) -> None:
    upstream = build("oidc")
    login = upstream.login()
    assert login.session_id is not None
    before = upstream.store.sessions[login.session_id]
    upstream.misbehave(id_token=claims)

    outcome = upstream.refresh(login.session_id)

    assert (outcome.error, outcome.complaints) == ("invalid_token", ())
    assert reason in outcome.reason
    assert upstream.store.sessions[login.session_id] == before  # nothing of the answer was kept


# -- 25. at_hash ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ID_TOKEN_KINDS)
def test_an_at_hash_for_another_access_token_is_refused(kind: str) -> None:
    outcome = build(kind).misbehave(id_token={"at_hash": "YW5vdGhlci1hY2Nlc3MtdG9rZW4"}).login()

    assert_refused(outcome, "invalid_token", "at_hash")


@pytest.mark.parametrize("kind", ID_TOKEN_KINDS)
def test_an_id_token_without_at_hash_is_accepted_in_the_code_flow(kind: str) -> None:
    assert_logged_in(build(kind).misbehave(id_token={"at_hash": DROP}).login())


# -- 28. DPoP server nonces ---------------------------------------------------------------------------------------


def test_each_dpop_nonce_demand_is_met_with_one_retry() -> None:
    upstream = build("singpass")
    assert isinstance(upstream, SingpassUpstream)
    upstream.require_dpop_nonces()  # a new nonce at each of PAR, token and userinfo

    outcome = upstream.login()

    assert_logged_in(outcome)
    assert (outcome.calls["par"], outcome.calls["token"], outcome.calls["userinfo"]) == (2, 2, 2)


# -- 43, 44. JOSE robustness --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "artifact"), SIGNED, ids=ids(SIGNED))
def test_an_oversized_token_is_refused_before_it_is_parsed(kind: str, artifact: str) -> None:
    padded = Twist(header={"pad": "A" * 1_100_000})  # over every cap, the person document's 1 MB included

    outcome = build(kind).misbehave(**{artifact: padded}).login()

    assert_refused(outcome, "invalid_token", "acceptable size")


@pytest.mark.parametrize(("kind", "artifact"), ENCRYPTED, ids=ids(ENCRYPTED))
@pytest.mark.parametrize("jwe", [{"zip": "DEF"}, {"alg": "PBES2-HS256+A128KW"}], ids=["compressed", "password-based"])
def test_a_compressed_or_password_based_jwe_is_refused(kind: str, artifact: str, jwe: dict[str, str]) -> None:
    outcome = build(kind).misbehave(**{artifact: Twist(jwe=jwe)}).login()

    assert_refused(outcome, "invalid_token", "UnsupportedAlgorithmError")


# -- 45. the JWKS cache -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "jwks"), JWKS_ENDPOINTS, ids=ids(JWKS_ENDPOINTS))
def test_the_jwks_is_cached_for_an_hour_then_fetched_again(kind: str, jwks: str) -> None:
    upstream = build(kind)
    assert_logged_in(upstream.login())
    upstream.now += 3599
    assert_logged_in(upstream.login())
    upstream.now += 2

    assert_logged_in(upstream.login())

    assert len(upstream.requests_to(jwks)) == 2


@pytest.mark.parametrize(("kind", "jwks"), JWKS_ENDPOINTS, ids=ids(JWKS_ENDPOINTS))
def test_a_jwks_flooded_with_keys_is_read_only_up_to_its_cap(kind: str, jwks: str) -> None:
    outcome = build(kind).misbehave(answer={jwks: flooded}).login()

    assert_refused(outcome, "invalid_token", "signature")


@pytest.mark.parametrize("kind", DISCOVERY_KINDS)
@pytest.mark.parametrize("endpoint", ["jwks_uri", "token_endpoint"])
def test_discovery_naming_a_plain_http_endpoint_is_refused(kind: str, endpoint: str) -> None:
    outcome = build(kind).misbehave(discovery={endpoint: "http://op.example/plain"}).login()

    assert_refused(outcome, "provider_unavailable", "https")


LOCAL_ENDPOINTS = [
    "https://127.0.0.1:9001/2018-06-01/runtime/invocation/next",  # the Lambda runtime API
    "https://localhost/keys",
    "https://sso.localhost./keys",
    "https://169.254.169.254/latest/meta-data/iam/security-credentials/",  # instance metadata
    "https://[::1]/keys",
    "https://[fd00:ec2::254]/latest/meta-data/",  # instance metadata over IPv6
    "https://[::ffff:127.0.0.1]/keys",
    "https://2130706433/keys",
    "https://0x7f.1/keys",
    "https://0/keys",
]
"""The host a gateway runs on, its link and AWS's host-local services, in the forms a resolver accepts."""


@pytest.mark.parametrize("kind", DISCOVERY_KINDS)
@pytest.mark.parametrize("endpoint", ["jwks_uri", "token_endpoint"])
@pytest.mark.parametrize("url", LOCAL_ENDPOINTS)
def test_discovery_naming_a_local_endpoint_is_refused_before_it_is_called(kind: str, endpoint: str, url: str) -> None:
    upstream = build(kind).misbehave(discovery={endpoint: url})

    outcome = upstream.login()

    assert_refused(outcome, "provider_unavailable", "local host")
    assert not [request for request in upstream.http.requests if request["url"].startswith(url)]


# -- broken answers: every endpoint, each way a body can break -------------------------------------------------


@pytest.mark.parametrize(("kind", "endpoint"), ENDPOINTS, ids=ids(ENDPOINTS))
@pytest.mark.parametrize("breakage", [server_error, not_json, truncated], ids=["5xx", "not-json", "truncated"])
def test_a_broken_answer_from_any_endpoint_ends_the_login_with_a_stable_code(
    kind: str, endpoint: str, breakage: Breakage
) -> None:
    upstream = build(kind)
    jose = endpoint in upstream.jose_endpoints and breakage is not server_error
    code = "invalid_token" if jose else "provider_unavailable"

    outcome = upstream.misbehave(answer={endpoint: breakage}).login()

    assert_refused(outcome, code, None)  # the reason depends on where the body broke
