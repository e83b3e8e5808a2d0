"""However a session ends, its refresh token is revoked at the provider: through the hostile-upstream harness's
OAuth 2.0 servers (RFC 7009 revocation with the client's credentials), whose sessions hold grants sealed as the
gateway seals them. A server down for revocations costs a login one refused call, and stops nothing."""

from __future__ import annotations

import pytest
from singpass_gateway.errors import NotAuthenticated

from tests.unit.upstream import PUBLIC_URL, build, server_error
from tests.unit.upstream_oauth2 import OAuth2IntrospectionUpstream, OAuth2Upstream

KINDS = ["oauth2", "oauth2-introspection"]


def logged_in(kind: str) -> tuple[OAuth2Upstream | OAuth2IntrospectionUpstream, str, str]:
    upstream = build(kind)
    assert isinstance(upstream, OAuth2Upstream | OAuth2IntrospectionUpstream)
    login = upstream.login()
    assert login.session_id is not None
    [refresh_token] = upstream.refresh_tokens
    return upstream, login.session_id, refresh_token


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_login_in_the_same_browser_revokes_the_held_sessions_refresh_token(kind: str) -> None:
    upstream, held, refresh_token = logged_in(kind)

    started = upstream.gateway.begin_login(upstream.kind, "/after", PUBLIC_URL, previous_session_id=held)

    assert upstream.revoked == [refresh_token]
    assert upstream.complaints == []  # sent with the client's credentials, as the server checks them
    done = upstream.finish(upstream.authorize(started.location), started.binding)
    assert (done.error, done.sessions) == (None, 1)
    assert done.session_id != held
    assert upstream.revoked == [refresh_token]  # the callback replaced nothing: the old session ended at the start


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("later", ["idle", "expired"])
def test_a_session_that_ended_while_unused_is_revoked_when_next_seen(kind: str, later: str) -> None:
    upstream, held, refresh_token = logged_in(kind)
    settings = upstream.gateway._settings
    upstream.now += settings.session_idle_seconds if later == "idle" else settings.session_ttl_seconds

    with pytest.raises(NotAuthenticated):
        upstream.gateway.current_session(held)

    assert upstream.revoked == [refresh_token]
    assert upstream.store.sessions == {}


@pytest.mark.parametrize("kind", KINDS)
def test_a_server_down_for_revocations_costs_a_new_login_one_call_and_stops_nothing(kind: str) -> None:
    upstream, held, _ = logged_in(kind)
    upstream.misbehave(answer={"revocation": server_error})

    started = upstream.gateway.begin_login(upstream.kind, "/after", PUBLIC_URL, previous_session_id=held)

    assert len(upstream.requests_to("revocation")) == 1  # tried once, never retried: a POST
    assert upstream.revoked == []
    done = upstream.finish(upstream.authorize(started.location), started.binding)
    assert (done.error, done.sessions) == (None, 1)
