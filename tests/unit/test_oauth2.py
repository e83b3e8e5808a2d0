"""The plain OAuth 2.0 provider type (``oauth2``): configuration, the authorization request, each way of learning
who logged in, and refresh and revocation, against the harness's servers (tests/unit/upstream_oauth2.py).

The generic relying-party checks (state, PKCE, signatures, JWKS, broken answers, …) run against the same three
servers in tests/unit/test_hostile_upstream.py; this file covers what only a plain OAuth 2.0 login has.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses
from singpass_gateway.errors import ConfigurationError, ProviderUnavailable
from singpass_gateway.http import HttpClient, HttpResponse
from singpass_gateway.providers.oauth2 import metadata_url, parse_config
from singpass_gateway.providers.oauth2_identity import IdentityReader, ServerView
from singpass_gateway.settings import ProviderSettings

from tests.unit.fakes import json_response
from tests.unit.test_hostile_upstream import assert_logged_in, assert_refused
from tests.unit.upstream import ATTACKER, CLIENT_ID, DROP, SECRET_ARN, Outcome, Twist, build
from tests.unit.upstream_oauth2 import PERMISSIONS, SCOPES, OAuth2IntrospectionUpstream, OAuth2Upstream

# -- configuration ---------------------------------------------------------------------------------------------------

EXPLICIT = {
    "issuer": "https://as.example", "client_id": CLIENT_ID, "client_secret_arn": SECRET_ARN,
    "authorization_endpoint": "https://as.example/authorize", "token_endpoint": "https://as.example/token",
    "jwks_uri": "https://as.example/jwks",
}  # fmt: skip


def config(**options: Any) -> Any:
    merged = {name: value for name, value in {**EXPLICIT, **options}.items() if value is not DROP}
    return parse_config(ProviderSettings(id="oauth2", type="oauth2", name="OAuth 2.0", options=merged))


def test_a_jwt_access_token_provider_needs_only_its_endpoints_and_keys() -> None:
    parsed = config()

    assert parsed.identity.source == "access_token"
    assert parsed.identity.subject_claim == "sub"
    assert parsed.identity.audience == CLIENT_ID
    assert parsed.identity.token_types == ("at+jwt", "application/at+jwt")
    assert (parsed.pkce, parsed.scopes, parsed.client.method) == (True, (), "client_secret_basic")


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"metadata": True}, "not both"),
        ({"issuer": DROP}, "'issuer' is required"),
        ({"jwks_uri": DROP}, "need 'jwks_uri'"),
        ({"identity": "introspection"}, "needs 'introspection_endpoint'"),
        ({"identity": "user_endpoint"}, "needs 'user_endpoint'"),
        ({"identity": "id_token"}, "'identity' must be one of"),
        ({"access_token_algorithms": ["RS256", "HS256"]}, "may list only"),
        ({"access_token_algorithms": ["none"]}, "may list only"),
        ({"authorization_params": {"state": "fixed"}}, "protocol parameters"),
        ({"token_endpoint": "http://as.example/token"}, "https"),
        ({"token_endpoint": "https://169.254.169.254/token"}, "'token_endpoint' names a local host"),
        ({"jwks_uri": "https://[::ffff:127.0.0.1]/jwks"}, "'jwks_uri' names a local host"),
        ({"issuer": "https://sso.localhost."}, "'issuer' names a local host"),
        ({"client_secret_arn": "the-secret-itself"}, "must be an ARN"),
        ({"client_auth": "private_key_jwt"}, "'signing_key_arn'"),
        ({"scope": ["profile"]}, "unknown option(s) scope"),
        ({"subject_claim": ""}, "'subject_claim' must be a non-empty string"),
    ],
)
def test_a_configuration_that_cannot_work_is_refused_at_start_up(options: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        config(**options)

    assert complaint in str(refused.value)
    assert str(refused.value).startswith("provider oauth2:")


@pytest.mark.parametrize(
    ("issuer", "url"),
    [
        ("https://as.example", "https://as.example/.well-known/oauth-authorization-server"),
        ("https://as.example/", "https://as.example/.well-known/oauth-authorization-server"),
        ("https://sso.example/tenants/a", "https://sso.example/.well-known/oauth-authorization-server/tenants/a"),
    ],
)
def test_the_metadata_url_inserts_the_well_known_segment_before_the_issuers_path(issuer: str, url: str) -> None:
    assert metadata_url(issuer) == url


# -- the authorization request ---------------------------------------------------------------------------------------


def authorization_params(upstream: Any) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(upstream.start().location).query))


def test_the_authorization_request_carries_state_pkce_and_scope_and_no_nonce() -> None:
    params = authorization_params(build("oauth2"))

    assert set(params) == {
        "response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method",
    }  # fmt: skip
    assert (params["response_type"], params["scope"], params["code_challenge_method"]) == (
        "code",
        "profile orders:read",
        "S256",
    )


def test_with_pkce_switched_off_neither_request_carries_it() -> None:
    upstream = build("oauth2-user")

    assert_logged_in(upstream.login())  # the server complains of any PKCE parameter

    assert "code_challenge" not in authorization_params(upstream)
    [token_request] = upstream.requests_to("token")
    assert "code_verifier" not in token_request["form"]


def test_without_scopes_configured_no_scope_parameter_is_sent() -> None:
    class Unscoped(OAuth2Upstream):
        def options(self) -> dict[str, Any]:
            return {name: value for name, value in super().options().items() if name != "scopes"}

    upstream = Unscoped()

    assert "scope" not in authorization_params(upstream)
    assert_logged_in(upstream.login())


def test_client_secret_post_and_private_key_jwt_authenticate_every_call() -> None:
    """The harness's servers refuse a call without the right client authentication: the login passing is the proof;
    here, what was sent."""
    post, signed = build("oauth2"), build("oauth2-introspection")
    assert_logged_in(post.login())
    assert_logged_in(signed.login())

    [token] = post.requests_to("token")
    assert "Authorization" not in token["headers"]
    assert token["headers"]["Accept"] == "application/json"  # GitHub answers form-encoded without it
    assert token["form"]["client_secret"] == "s3cret:with%chars"
    assertions = [request["form"]["client_assertion"] for request in signed.http.requests if request.get("form")]
    assert len(assertions) == len(set(assertions)) == 2  # token and introspection, each a fresh assertion


# -- a JWT access token ----------------------------------------------------------------------------------------------


def session_of(upstream: Any, outcome: Outcome) -> Any:
    assert outcome.session_id is not None
    return upstream.store.sessions[outcome.session_id]


def test_the_person_the_scopes_and_the_permissions_are_kept_apart() -> None:
    upstream = build("oauth2")

    session = session_of(upstream, upstream.login())

    assert session.sub == "alice"
    assert session.person == {"name": "TAN HENG HUAT", "email": "alice@example.com"}
    assert session.access == {"scopes": list(SCOPES), "permissions": PERMISSIONS}


def test_configured_person_claims_are_the_only_ones_copied() -> None:
    class Narrow(OAuth2Upstream):
        def options(self) -> dict[str, Any]:
            return {**super().options(), "person_claims": ["email", "not-in-the-token"]}

    upstream = Narrow()

    assert session_of(upstream, upstream.login()).person == {"email": "alice@example.com"}


@pytest.mark.parametrize(
    ("claims", "access"),
    [
        ({"scope": DROP, "scp": ["a", "b"]}, {"scopes": ["a", "b"], "permissions": PERMISSIONS}),
        ({"scope": DROP}, {"scopes": list(SCOPES), "permissions": PERMISSIONS}),
        ({"permissions": "orders:read orders:refund"}, {"scopes": list(SCOPES), "permissions": PERMISSIONS}),
        ({"permissions": DROP}, {"scopes": list(SCOPES), "permissions": []}),
    ],
    ids=["scp-array", "no-scope-means-those-asked-for", "permissions-as-a-string", "no-permissions"],
)
def test_scopes_and_permissions_are_read_in_each_shape_servers_use(
    claims: dict[str, Any], access: dict[str, list[str]]
) -> None:
    upstream = build("oauth2").misbehave(access_token=claims)

    assert session_of(upstream, upstream.login()).access == access


@pytest.mark.parametrize("permissions", [42, {"orders": "read"}, ["orders:read", 7]])
def test_a_malformed_permissions_claim_is_refused(permissions: Any) -> None:
    outcome = build("oauth2").misbehave(access_token={"permissions": permissions}).login()

    assert_refused(outcome, "invalid_token", "permissions")


@pytest.mark.parametrize(
    ("header", "reason"),
    [({"typ": "JWT"}, "typ"), ({"typ": DROP}, "typ"), ({"typ": "dpop+jwt"}, "typ")],
    ids=["plain-jwt-such-as-an-id-token", "no-typ", "another-type"],
)
def test_a_jwt_that_is_not_typed_as_an_access_token_is_refused(header: dict[str, Any], reason: str) -> None:
    """RFC 9068 §4 / RFC 8725 §3.11: an ID token or another JWT the server signs must not pass for an access token."""
    outcome = build("oauth2").misbehave(access_token=Twist(header=header)).login()

    assert_refused(outcome, "invalid_token", reason)


def test_a_server_that_types_access_tokens_jwt_is_accepted_when_configured() -> None:
    class Untyped(OAuth2Upstream):
        def options(self) -> dict[str, Any]:
            return {**super().options(), "access_token_types": ["JWT"]}

    assert_logged_in(Untyped().misbehave(access_token=Twist(header={"typ": DROP})).login())


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": ATTACKER}, "iss"),
        ({"iss": DROP}, "iss"),
        ({"iss": "https://as.example/"}, "iss"),
        ({"aud": "another-client"}, "aud"),
        ({"aud": DROP}, "aud"),
        ({"aud": ["another-api", "yet-another"]}, "aud"),
        ({"client_id": "another-client"}, "another client"),
        ({"nbf": 1_800_000_000 + 61}, "nbf"),
        ({"iat": 1_800_000_000 + 61}, "iat"),
        ({"iat": DROP}, "iat"),
        ({"exp": "1800000600"}, "NumericDate"),
    ],
    ids=["another-issuer", "no-issuer", "issuer-with-slash", "another-audience", "no-audience",
         "other-audiences", "another-client", "not-yet-valid", "issued-in-the-future", "no-iat", "string-exp"],
)  # fmt: skip
def test_an_access_token_failing_a_claim_check_is_refused(claims: dict[str, Any], reason: str) -> None:
    outcome = build("oauth2").misbehave(access_token=claims).login()

    assert_refused(outcome, "invalid_token", reason)
    assert outcome.calls["token"] == 1


def test_an_audience_array_naming_this_client_among_apis_is_accepted() -> None:
    """RFC 9068 §4: the resource server checks that ``aud`` contains its identifier."""
    assert_logged_in(build("oauth2").misbehave(access_token={"aud": ["https://api.example", CLIENT_ID]}).login())


def test_a_configured_api_audience_replaces_the_client_id() -> None:
    class ApiAudience(OAuth2Upstream):
        def options(self) -> dict[str, Any]:
            return {**super().options(), "access_token_audience": "https://api.example"}

    assert_logged_in(ApiAudience().misbehave(access_token={"aud": "https://api.example"}).login())
    outcome = ApiAudience().login()  # the honest token names only the client id
    assert_refused(outcome, "invalid_token", "aud")


@pytest.mark.parametrize(
    "sub",
    [True, 1.5, None, {"id": 1}, ["alice"], "", "   ", "a" * 256, 10**300, "alice\nadmin", "\u202eecila"],
    ids=[
        "boolean",
        "float",
        "null",
        "object",
        "array",
        "empty",
        "blank",
        "too-long",
        "too-long-integer",
        "newline",
        "bidi-control",
    ],
)
def test_a_subject_that_is_not_a_usable_identifier_is_refused(sub: Any) -> None:
    outcome = build("oauth2").misbehave(access_token={"sub": sub}).login()

    assert_refused(outcome, "invalid_token", "'sub'")


def test_an_integer_subject_is_kept_as_its_decimal_text() -> None:
    upstream = build("oauth2").misbehave(access_token={"sub": 12345678901234567890})

    assert session_of(upstream, upstream.login()).sub == "12345678901234567890"


# -- a user endpoint -------------------------------------------------------------------------------------------------


def answering(body: bytes, status: int = 200, content_type: str = "application/json") -> Any:
    return lambda _: HttpResponse(status, {"Content-Type": content_type}, body)


def nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


@pytest.mark.parametrize(
    ("answer", "code", "reason"),
    [
        (answering(b"<html><body>Sign in</body></html>", content_type="text/html"), "provider_unavailable", "non-JSON"),
        (answering(b'{"message": "Server Error"}', 503), "provider_unavailable", "503"),
        (answering(b'{"message": "Bad credentials"}', 401), "invalid_token", "refused the access token"),
        (answering(b"[1, 2]"), "provider_unavailable", "non-object"),
        (answering(b'{"id": 4242, "a": ' + nested(40) + b"}"), "provider_unavailable", "nested deeper"),
        (answering(b'{"id": 4242, "a": ' + nested(100_000) + b"}"), "provider_unavailable", "non-JSON"),
    ],
    ids=["html", "5xx", "401", "not-an-object", "nested-past-the-limit", "nested-past-the-parser"],
)
def test_a_user_endpoint_answering_anything_but_a_user_ends_the_login_with_a_stable_code(
    answer: Any, code: str, reason: str
) -> None:
    outcome = build("oauth2-user").misbehave(answer={"user": answer}).login()

    assert_refused(outcome, code, reason)


def test_a_user_endpoint_answering_more_than_a_mebibyte_is_cut_off_by_the_real_http_client() -> None:
    """The harness's FakeHttp reads any size; the size cap is the HTTP client's, so this one goes through it."""
    reader = IdentityReader(parse_config_of("oauth2-user").identity, CLIENT_ID, RealHttpToolkit())  # type: ignore[arg-type]
    server = ServerView(None, None, None, "https://git.example/api/user")
    huge = json.dumps({"id": 4242, "bio": "x" * (1024 * 1024)}).encode()

    with responses.RequestsMock() as mock:
        mock.get("https://git.example/api/user", body=huge, content_type="application/json")
        with pytest.raises(ProviderUnavailable, match="over 1048576 bytes"):
            reader.identify({"access_token": "opaque"}, server, (), 1_800_000_000, lambda: ({}, {}))


class RealHttpToolkit:
    http = HttpClient(timeout_seconds=2)


def parse_config_of(kind: str) -> Any:
    upstream = build(kind)
    return parse_config(ProviderSettings(id=kind, type="oauth2", name=kind, options=upstream.options()))


def test_the_user_endpoint_names_the_user_and_the_token_response_the_scopes() -> None:
    upstream = build("oauth2-user")

    session = session_of(upstream, upstream.login())

    assert session.sub == "4242"
    assert session.person == {"login": "alice", "name": "TAN HENG HUAT", "email": "alice@example.com"}
    assert session.access == {"scopes": ["read:user"], "permissions": []}


def test_a_user_endpoint_beside_a_jwt_must_name_the_same_user() -> None:
    class WithProfile(OAuth2Upstream):
        def options(self) -> dict[str, Any]:
            return {**super().options(), "user_endpoint": f"{self.issuer}/me"}

        def serve_endpoints(self) -> None:
            super().serve_endpoints()
            self.profile = {"sub": "alice", "department": "Finance"}
            self.serve("profile", "GET", f"{self.issuer}/me", lambda **_: json_response(self.profile))

    upstream = WithProfile()
    session = session_of(upstream, upstream.login())
    assert session.person == {"name": "TAN HENG HUAT", "email": "alice@example.com", "department": "Finance"}

    impostor = WithProfile()
    impostor.profile = {"sub": "mallory", "department": "Finance"}
    assert_refused(impostor.login(), "invalid_token", "another user")


# -- introspection ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"active": False}, "not active"),
        ({"active": "true"}, "not active"),
        ({"client_id": "another-client"}, "another client"),
        ({"iss": ATTACKER}, "another issuer"),
        ({"exp": 1_800_000_000 - 61}, "exp"),
        ({"sub": DROP}, "'sub'"),
    ],
    ids=["inactive", "active-as-a-string", "another-client", "another-issuer", "expired", "no-subject"],
)
def test_an_introspected_token_is_trusted_only_when_the_server_vouches_for_it(
    claims: dict[str, Any], reason: str
) -> None:
    outcome = build("oauth2-introspection").misbehave(introspection=claims).login()

    assert_refused(outcome, "invalid_token", reason)


def test_introspection_reads_the_user_and_the_configured_permissions_claim() -> None:
    upstream = build("oauth2-introspection")

    session = session_of(upstream, upstream.login())

    assert (session.sub, session.person) == ("u-1001", {"name": "TAN HENG HUAT", "username": "alice"})
    assert session.access == {"scopes": ["profile"], "permissions": ["staff"]}
    [introspection] = upstream.requests_to("introspection")
    assert introspection["form"]["token_type_hint"] == "access_token"


# -- refresh and revocation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["oauth2", "oauth2-user", "oauth2-introspection"])
def test_a_refresh_rotates_the_refresh_token_and_rereads_the_user(kind: str) -> None:
    upstream = build(kind)
    login = upstream.login()
    before = session_of(upstream, login)
    upstream.now += 120

    refreshed = upstream.refresh(login.session_id or "")

    assert refreshed.error is None, refreshed.reason
    after = session_of(upstream, login)
    assert after.sealed_grant != before.sealed_grant
    assert (after.refreshed_at, after.person, after.access) == (upstream.now, before.person, before.access)
    code_exchange, refresh = (request["form"]["grant_type"] for request in upstream.requests_to("token"))
    assert (code_exchange, refresh) == ("authorization_code", "refresh_token")


@pytest.mark.parametrize(
    ("kind", "artifact", "someone_else"),
    [("oauth2", "access_token", {"sub": "mallory"}), ("oauth2-user", "user", {"id": 666}),
     ("oauth2-introspection", "introspection", {"sub": "u-666"})],
    ids=["jwt", "user-endpoint", "introspection"],
)  # fmt: skip
def test_a_refresh_answering_for_another_user_is_refused_and_keeps_the_session(
    kind: str, artifact: str, someone_else: dict[str, Any]
) -> None:
    upstream = build(kind)
    login = upstream.login()
    before = session_of(upstream, login)
    upstream.misbehave(**{artifact: someone_else})

    outcome = upstream.refresh(login.session_id or "")

    assert (outcome.error, outcome.complaints) == ("invalid_token", ())
    assert "another user" in outcome.reason
    assert session_of(upstream, login) == before


def test_a_refresh_token_the_server_no_longer_honours_ends_the_session() -> None:
    upstream = build("oauth2")
    login = upstream.login()
    assert isinstance(upstream, OAuth2Upstream)
    upstream.refresh_tokens.clear()
    upstream.misbehave(answer={"token": lambda _: json_response({"error": "invalid_grant"}, 400)})

    outcome = upstream.refresh(login.session_id or "")

    assert outcome.error == "not_authenticated"
    assert upstream.store.sessions == {}


@pytest.mark.parametrize("kind", ["oauth2", "oauth2-introspection"])
def test_logout_revokes_the_refresh_token_with_the_clients_credentials(kind: str) -> None:
    upstream = build(kind)
    assert isinstance(upstream, OAuth2Upstream | OAuth2IntrospectionUpstream)
    login = upstream.login()
    [granted] = upstream.refresh_tokens

    upstream.gateway.logout(login.session_id)

    assert upstream.revoked == [granted]
    assert upstream.complaints == []
    assert upstream.store.sessions == {}
