"""The login flow's own rules, with an in-memory store and a scripted provider."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from singpass_gateway.errors import (
    InvalidReturnTo,
    InvalidToken,
    NotAuthenticated,
    ProviderUnavailable,
    RefreshRejected,
    UnknownProvider,
)
from singpass_gateway.flows import Gateway, LoginFailed
from singpass_gateway.grants import open_grant, seal_grant
from singpass_gateway.keys import KeyUnavailable
from singpass_gateway.providers import Authorization, AuthorizationRequest, Callback, Identity, Refreshed
from singpass_gateway.secrets import SecretUnavailable
from singpass_gateway.settings import load_settings
from singpass_gateway.store import LoginTransaction, Session, StoreUnavailable, digest

from tests.unit.fakes import MemoryStore
from tests.unit.upstream import PlainSealer

SETTINGS = load_settings(
    {
        "GATEWAY_TABLE": "t",
        "GATEWAY_FRONTEND_URL": "https://app.example",
        "GATEWAY_PUBLIC_URL": "https://id.example",
        "GATEWAY_PROVIDERS": json.dumps([{"id": "sgid", "type": "sgid", "name": "sgID"}]),
    }
)


class UnavailableStore(MemoryStore):
    """DynamoDB failing beyond botocore's retries."""

    def put_transaction(self, txn: LoginTransaction) -> None:
        raise StoreUnavailable("DynamoDB PutItem failed: ThrottlingException")

    def consume_transaction(self, state: str, provider_id: str, binding: str, now: int) -> LoginTransaction:
        raise StoreUnavailable("DynamoDB DeleteItem failed: ThrottlingException")


class ScriptedProvider:
    id, name = "sgid", "sgID"

    def __init__(self, outcome: Identity | Exception, fail_to_start: bool = False) -> None:
        self.outcome = outcome
        self.fail_to_start = fail_to_start
        self.requests: list[AuthorizationRequest] = []
        self.callbacks: list[Callback] = []

    def authorize(self, request: AuthorizationRequest) -> Authorization:
        self.requests.append(request)
        if isinstance(self.outcome, Exception) and self.fail_to_start:
            raise self.outcome
        return Authorization("https://idp.example/authorize", {"dpop_key": "k-" + request.state})

    def complete(self, callback: Callback) -> Identity:
        self.callbacks.append(callback)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def gateway(
    outcome: Identity | Exception, fail_to_start: bool = False
) -> tuple[Gateway, MemoryStore, ScriptedProvider]:
    store, provider = MemoryStore(), ScriptedProvider(outcome, fail_to_start)
    return Gateway(SETTINGS, store, {"sgid": provider}, clock=lambda: 1000.0), store, provider  # type: ignore[arg-type]


def started(flow: Gateway, store: MemoryStore) -> tuple[str, str]:
    login = flow.begin_login("sgid", "/back", "https://ignored")
    [state] = store.transactions
    return state, login.binding


def test_a_login_passes_the_transactions_secrets_to_the_provider_and_stores_a_session() -> None:
    flow, store, provider = gateway(Identity(sub="u=1", person={"name": "A"}))
    state, binding = started(flow, store)
    txn = store.transactions[state]

    done = flow.complete_login("sgid", {"state": state, "code": "c"}, binding)

    [request], [callback] = provider.requests, provider.callbacks
    assert request.redirect_uri == "https://id.example/auth/sgid/callback"
    assert (callback.code, callback.code_verifier, callback.nonce) == ("c", txn.code_verifier, txn.nonce)
    assert callback.redirect_uri == request.redirect_uri
    assert callback.remembered == {"dpop_key": "k-" + state}  # what the provider asked to get back
    assert done.location == "https://app.example/back"
    assert flow.current_session(done.session_id).person == {"name": "A"}
    assert store.sessions[done.session_id].expires_at == 1000 + SETTINGS.session_ttl_seconds


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        (InvalidToken("bad signature"), "invalid_token"),
        (KeyUnavailable("KMS Decrypt failed: KMSInternalException"), "service_unavailable"),
        (SecretUnavailable("secret x: InternalServiceError"), "service_unavailable"),
        (RuntimeError("bug"), "internal_error"),
    ],
)
def test_a_failing_provider_ends_in_a_redirect_with_a_stable_code_and_no_session(outcome: Exception, code: str) -> None:
    flow, store, _ = gateway(outcome)
    state, binding = started(flow, store)

    with pytest.raises(LoginFailed) as failure:
        flow.complete_login("sgid", {"state": state, "code": "c"}, binding)

    assert failure.value.location == f"https://app.example/back?error={code}"
    assert store.sessions == {}


def test_starting_a_login_ends_the_session_the_browser_holds() -> None:
    flow, store, _ = gateway(Identity(sub="u=1", person={}))
    store.sessions["planted"] = Session("sgid", "u=attacker", {}, 10_000)
    login = flow.begin_login("sgid", "/back", "https://ignored", previous_session_id="planted")
    [state] = store.transactions
    assert store.sessions == {}

    done = flow.complete_login("sgid", {"state": state, "code": "c"}, login.binding)

    assert set(store.sessions) == {done.session_id}
    assert done.session_id != "planted"


def test_a_login_that_cannot_start_leaves_the_session_alone() -> None:
    flow, store, _ = gateway(Identity(sub="u=1", person={}))
    store.sessions["current"] = Session("sgid", "u=1", {}, 10_000)

    with pytest.raises(Exception, match="return_to"):
        flow.begin_login("sgid", "//evil.example", "https://ignored", previous_session_id="current")

    assert set(store.sessions) == {"current"}


def test_current_session_without_a_cookie_is_not_authenticated() -> None:
    flow, _, _ = gateway(Identity(sub="u=1", person={}))
    for session_id in (None, "", "unknown"):
        with pytest.raises(NotAuthenticated):
            flow.current_session(session_id)


@pytest.mark.parametrize(
    ("idle_for", "outcome"),
    [
        (30, "kept, not written"),
        (SETTINGS.session_idle_seconds - 1, "kept and touched"),
        (SETTINGS.session_idle_seconds, "ended"),
    ],
)
def test_a_session_unused_for_the_idle_timeout_ends(idle_for: int, outcome: str) -> None:
    store = MemoryStore()
    store.sessions["s"] = Session("sgid", "u=1", {}, expires_at=100_000, seen_at=5000 - idle_for)
    flow = Gateway(SETTINGS, store, {}, clock=lambda: 5000.0)  # type: ignore[arg-type]

    if outcome == "ended":
        with pytest.raises(NotAuthenticated):
            flow.current_session("s")
        assert store.sessions == {}
    else:
        assert flow.current_session("s").sub == "u=1"
        assert store.sessions["s"].seen_at == (5000 if outcome == "kept and touched" else 5000 - idle_for)


def test_each_login_gets_fresh_secrets() -> None:
    flow, _, provider = gateway(Identity(sub="u=1", person={}))
    bindings = {flow.begin_login("sgid", None, "https://x").binding for _ in range(20)}
    values: list[Any] = [(r.state, r.nonce, r.code_challenge) for r in provider.requests]
    assert len(bindings) == 20
    assert len({value for triple in values for value in triple}) == 60


def test_a_bad_return_to_is_refused_before_the_provider_is_asked_anything() -> None:
    from singpass_gateway.errors import InvalidReturnTo

    flow, store, provider = gateway(Identity(sub="u=1", person={}))
    with pytest.raises(InvalidReturnTo):
        flow.begin_login("sgid", "//evil.example", "https://x")
    assert provider.requests == []
    assert store.transactions == {}


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ProviderUnavailable("PAR answered 503"), "provider_unavailable"),
        (KeyUnavailable("KMS Sign failed"), "service_unavailable"),
    ],
)
def test_a_login_the_provider_cannot_start_goes_back_with_a_code_and_stores_nothing(
    error: Exception, code: str
) -> None:
    flow, store, _ = gateway(error, fail_to_start=True)

    with pytest.raises(LoginFailed) as failure:
        flow.begin_login("sgid", "/back", "https://x")

    assert failure.value.location == f"https://app.example/back?error={code}"
    assert failure.value.consumed is False
    assert store.transactions == {}


class KeyPublisher(ScriptedProvider):
    def __init__(self, provider_id: str, kids: list[str]) -> None:
        super().__init__(Identity(sub="s", person={}))
        self.id, self.kids = provider_id, kids

    def client_jwks(self) -> list[dict[str, str]]:
        """``kid`` names its use: ``enc-…`` encryption keys, the others signing keys."""
        return [{"kid": kid, "kty": "EC", "use": "enc" if kid.startswith("enc") else "sig"} for kid in self.kids]


def test_the_client_jwks_is_one_providers_alone_or_the_shared_one() -> None:
    providers = {
        "sp": KeyPublisher("sp", ["a", "shared", "enc-a"]),
        "mi4": KeyPublisher("mi4", ["b", "shared", "enc-b"]),
        "sgid": ScriptedProvider(Identity(sub="s", person={})),
    }
    flow = Gateway(SETTINGS, MemoryStore(), providers)  # type: ignore[arg-type]

    assert [key["kid"] for key in flow.client_jwks("sp")["keys"]] == ["a", "shared", "enc-a"]
    assert [key["kid"] for key in flow.client_jwks("mi4")["keys"]] == ["b", "shared", "enc-b"]
    assert flow.client_jwks("sgid") == {"keys": []}
    with pytest.raises(UnknownProvider):
        flow.client_jwks("nobody")


def test_the_shared_jwks_never_mixes_two_providers_encryption_keys() -> None:
    """A server encrypting to the first ``enc`` key of a mixed JWKS would pick another provider's key."""
    mixed = {"sp": KeyPublisher("sp", ["a", "enc-a"]), "mi4": KeyPublisher("mi4", ["b", "enc-b"])}
    alone = {"sp": KeyPublisher("sp", ["a", "enc-a"]), "oidc": KeyPublisher("oidc", ["b"])}

    shared = Gateway(SETTINGS, MemoryStore(), mixed).client_jwks()  # type: ignore[arg-type]
    single = Gateway(SETTINGS, MemoryStore(), alone).client_jwks()  # type: ignore[arg-type]

    assert [key["kid"] for key in shared["keys"]] == ["a", "b"]
    assert [key["kid"] for key in single["keys"]] == ["a", "enc-a", "b"]


def test_the_shared_jwks_keeps_encryption_keys_two_providers_share() -> None:
    """Two Singpass apps on one key pair: whichever encryption key a server picks is right for both."""
    same = {"sp": KeyPublisher("sp", ["a", "enc-a"]), "sp-data": KeyPublisher("sp-data", ["a", "enc-a"])}

    shared = Gateway(SETTINGS, MemoryStore(), same).client_jwks()  # type: ignore[arg-type]

    assert [key["kid"] for key in shared["keys"]] == ["a", "enc-a"]


def test_a_login_that_cannot_be_stored_goes_back_to_the_frontend_with_a_code() -> None:
    flow = Gateway(SETTINGS, UnavailableStore(), {"sgid": ScriptedProvider(Identity("u=1", {}))})  # type: ignore[arg-type]

    with pytest.raises(LoginFailed) as failure:
        flow.begin_login("sgid", "/back", "https://x")

    assert failure.value.location == "https://app.example/back?error=service_unavailable"


def test_a_callback_that_cannot_consume_its_login_ends_it_login_cookie_included() -> None:
    provider = ScriptedProvider(Identity("u=1", {}))
    flow = Gateway(SETTINGS, UnavailableStore(), {"sgid": provider})  # type: ignore[arg-type]

    with pytest.raises(LoginFailed) as failure:
        flow.complete_login("sgid", {"state": "s", "code": "c"}, "binding")

    assert failure.value.location == "https://app.example/?error=service_unavailable"
    assert failure.value.consumed is True
    assert provider.callbacks == []


@pytest.mark.parametrize("return_to", ["/a/../admin", "/%2e%2e/admin", "/caf\u00e9", "/a%0d%0ab", "/a%5Cb"])
def test_a_return_to_outside_the_grammar_is_refused_before_anything_ends(return_to: str) -> None:
    flow, store, provider = gateway(Identity(sub="u=1", person={}))
    store.sessions["current"] = Session("sgid", "u=1", {}, 10_000)

    with pytest.raises(InvalidReturnTo):
        flow.begin_login("sgid", return_to, "https://x", previous_session_id="current")

    assert set(store.sessions) == {"current"}
    assert store.transactions == {}
    assert provider.requests == []


@pytest.mark.parametrize("stored", ["/caf\u00e9", "/a\r\nSet-Cookie: x=1", "//evil.example", "/a/../b"])
def test_a_login_stored_with_a_return_to_outside_the_grammar_comes_back_to_the_home_page(stored: str) -> None:
    """A transaction from before the grammar (or a table someone wrote to) still ends in a sendable redirect."""
    for outcome, location in [
        (Identity(sub="u=1", person={}), "https://app.example/"),
        (ProviderUnavailable("down"), "https://app.example/?error=provider_unavailable"),
    ]:
        flow, store, _ = gateway(outcome)
        state, binding = started(flow, store)
        store.transactions[state] = replace(store.transactions[state], return_to=stored)

        if isinstance(outcome, Exception):
            with pytest.raises(LoginFailed) as failure:
                flow.complete_login("sgid", {"state": state, "code": "c"}, binding)
            assert failure.value.location == location
        else:
            assert flow.complete_login("sgid", {"state": state, "code": "c"}, binding).location == location


# -- refresh grants: sealed under the session id, and revoked however the session ends --------------------------

GRANT = {"refresh_token": "rt-of-the-held-session", "sub": "u=1"}
HELD = "held-session-id"
NOW = 5000


class RefreshingProvider(ScriptedProvider):
    """A provider that keeps refresh tokens: it records each revocation (and what was stored when it came), and
    can be down for them."""

    def __init__(self, store: MemoryStore, revoke_fails: Exception | None = None) -> None:
        super().__init__(Identity(sub="u=1", person={"name": "A"}, grant=dict(GRANT)))
        self.store, self.revoke_fails = store, revoke_fails
        self.revoked: list[dict[str, str]] = []
        self.transactions_at_revocation: list[int] = []
        self.refresh_outcome: Exception | None = None
        self.during_refresh: Callable[[], None] = lambda: None

    def refresh(self, grant: dict[str, str], now: int) -> Refreshed:
        self.during_refresh()
        if self.refresh_outcome is not None:
            raise self.refresh_outcome
        return Refreshed(person={"name": "B"}, grant={**grant, "refresh_token": "rotated-" + grant["refresh_token"]})

    def revoke(self, grant: dict[str, str]) -> None:
        self.revoked.append(grant)
        self.transactions_at_revocation.append(len(self.store.transactions))
        if self.revoke_fails is not None:
            raise self.revoke_fails


def refreshing(
    revoke_fails: Exception | None = None, store: MemoryStore | None = None
) -> tuple[Gateway, MemoryStore, RefreshingProvider]:
    store = store or MemoryStore()
    provider = RefreshingProvider(store, revoke_fails)
    flow = Gateway(SETTINGS, store, {"sgid": provider}, PlainSealer(), clock=lambda: float(NOW))  # type: ignore[arg-type]
    return flow, store, provider


def hold(store: MemoryStore, *, expires_at: int = 100_000, seen_at: int = NOW, grant: bytes | None = None) -> None:
    """A session this browser holds, its grant sealed as the gateway seals it (or as given)."""
    sealed = seal_grant(PlainSealer(), HELD, GRANT) if grant is None else grant
    store.sessions[HELD] = Session("sgid", "u=1", {}, expires_at, sealed_grant=sealed, seen_at=seen_at)


def new_login(flow: Gateway, _: MemoryStore) -> None:
    assert flow.begin_login("sgid", "/back", "https://x", previous_session_id=HELD).location


def seen(flow: Gateway, _: MemoryStore) -> None:
    with pytest.raises(NotAuthenticated):
        flow.current_session(HELD)


def logout(flow: Gateway, _: MemoryStore) -> None:
    flow.logout(HELD)


ENDINGS: dict[str, tuple[int, int, Callable[[Gateway, MemoryStore], None]]] = {
    # a session's expires_at, its seen_at, and what ends it
    "new-login-in-the-same-browser": (100_000, NOW, new_login),
    "idle-when-next-seen": (100_000, NOW - SETTINGS.session_idle_seconds, seen),
    "expired-when-next-seen": (NOW, NOW, seen),
    "logout": (100_000, NOW, logout),
}


def test_a_stored_grant_does_not_open_with_kms_alone() -> None:
    """What a table export and kms:Decrypt give is sealed under the session id, which the table does not hold."""
    flow, store, _ = refreshing()
    state, binding = started(flow, store)
    done = flow.complete_login("sgid", {"state": state, "code": "c"}, binding)
    sealed = store.sessions[done.session_id].sealed_grant
    assert sealed is not None

    decrypted = PlainSealer().unseal(sealed, digest(done.session_id))

    assert b"rt-of-the-held-session" not in decrypted
    assert b"u=1" not in decrypted
    assert open_grant(PlainSealer(), done.session_id, sealed, "u=1") == GRANT


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_every_way_a_session_ends_revokes_its_refresh_token_once(ending: str) -> None:
    expires_at, seen_at, end = ENDINGS[ending]
    flow, store, provider = refreshing()
    hold(store, expires_at=expires_at, seen_at=seen_at)

    end(flow, store)
    end(flow, store)  # seen again, logged out again, another login: nothing left to revoke

    assert provider.revoked == [GRANT]
    assert HELD not in store.sessions


@pytest.mark.parametrize("failure", [ProviderUnavailable("revocation answered HTTP 503"), RuntimeError("a bug")])
@pytest.mark.parametrize("ending", list(ENDINGS))
def test_a_failing_revocation_does_not_break_the_sessions_end(
    ending: str, failure: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    expires_at, seen_at, end = ENDINGS[ending]
    flow, store, provider = refreshing(revoke_fails=failure)
    hold(store, expires_at=expires_at, seen_at=seen_at)

    end(flow, store)  # the login starts, the session ends, the logout answers: as with a healthy provider

    assert provider.revoked == [GRANT]
    assert HELD not in store.sessions
    if isinstance(failure, ProviderUnavailable):
        [line] = [record for record in caplog.records if record.getMessage() == "revocation failed"]
        logged_as = (line.levelname, line.provider, line.error_code)  # type: ignore[attr-defined]
        assert logged_as == ("WARNING", "sgid", "provider_unavailable")
    logged = " ".join(str(vars(record)) for record in caplog.records)
    assert "rt-of-the-held-session" not in logged


def test_a_new_login_revokes_the_held_sessions_token_only_once_its_own_transaction_is_stored() -> None:
    """The revocation is the login start's last step: one revocation call, which can take no more than what is
    left of the invocation's time, after which the login goes on whatever it answered."""
    flow, store, provider = refreshing()
    hold(store)

    flow.begin_login("sgid", "/back", "https://x", previous_session_id=HELD)

    assert provider.transactions_at_revocation == [1]


def test_a_new_login_that_cannot_be_stored_still_revokes_the_session_it_ended() -> None:
    flow, store, provider = refreshing(store=UnavailableStore())
    hold(store)

    with pytest.raises(LoginFailed):
        flow.begin_login("sgid", "/back", "https://x", previous_session_id=HELD)

    assert provider.revoked == [GRANT]
    assert HELD not in store.sessions


def test_a_refused_refresh_ends_the_session_without_a_revocation() -> None:
    flow, store, provider = refreshing()
    hold(store)
    provider.refresh_outcome = RefreshRejected("invalid_grant")

    with pytest.raises(NotAuthenticated):
        flow.current_session(HELD, refresh=True)

    assert provider.revoked == []
    assert HELD not in store.sessions


def test_a_session_that_ends_during_its_refresh_has_both_tokens_revoked() -> None:
    """Logged out while its refresh ran: the logout revokes the token the refresh spent, the refresh the new one."""
    flow, store, provider = refreshing()
    hold(store)
    provider.during_refresh = lambda: flow.logout(HELD)

    with pytest.raises(NotAuthenticated):
        flow.current_session(HELD, refresh=True)

    assert [grant["refresh_token"] for grant in provider.revoked] == [
        "rt-of-the-held-session",
        "rotated-rt-of-the-held-session",
    ]


def test_a_grant_sealed_by_kms_alone_before_refreshes_once_and_is_sealed_anew() -> None:
    """A session live at the deploy keeps refreshing; its next grant is sealed in both layers."""
    flow, store, _ = refreshing()
    hold(store, grant=PlainSealer().seal(json.dumps(GRANT).encode(), digest(HELD)))

    refreshed = flow.current_session(HELD, refresh=True)

    assert refreshed.person == {"name": "B"}
    sealed = store.sessions[HELD].sealed_grant
    assert sealed is not None
    assert b"rotated-" not in PlainSealer().unseal(sealed, digest(HELD))
    assert open_grant(PlainSealer(), HELD, sealed, "u=1")["refresh_token"] == "rotated-rt-of-the-held-session"


def test_a_grant_sealed_by_kms_alone_before_is_revoked_when_its_session_ends() -> None:
    flow, store, provider = refreshing()
    hold(store, grant=PlainSealer().seal(json.dumps(GRANT).encode(), digest(HELD)))

    flow.logout(HELD)

    assert provider.revoked == [GRANT]
