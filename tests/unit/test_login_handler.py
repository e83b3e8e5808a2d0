"""The login and callback handlers as API Gateway calls them: only a top-level navigation starts a login (which
ends the session the browser holds), a return_to sent twice is refused, and the provider's cross-site redirect
still finishes the login."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from singpass_gateway import web
from singpass_gateway.flows import Gateway
from singpass_gateway.providers import Authorization, AuthorizationRequest, Callback, Identity
from singpass_gateway.settings import load_settings
from singpass_gateway.store import Session

from tests.unit.fakes import MemoryStore, load_handler

SETTINGS = load_settings(
    {
        "GATEWAY_TABLE": "t",
        "GATEWAY_FRONTEND_URL": "https://app.example",
        "GATEWAY_PUBLIC_URL": "https://id.example",
        "GATEWAY_PROVIDERS": json.dumps([{"id": "sgid", "type": "sgid", "name": "sgID"}]),
    }
)
LOGIN_APP = load_handler("login")
CALLBACK_APP = load_handler("callback")
NAVIGATION = {"sec-fetch-mode": "navigate", "sec-fetch-dest": "document", "sec-fetch-site": "same-site"}


class Provider:
    id, name = "sgid", "sgID"

    def __init__(self) -> None:
        self.requests: list[AuthorizationRequest] = []

    def authorize(self, request: AuthorizationRequest) -> Authorization:
        self.requests.append(request)
        return Authorization("https://idp.example/authorize?state=" + request.state)

    def complete(self, callback: Callback) -> Identity:
        return Identity(sub="u=1", person={"name": "A"})


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> MemoryStore:
    store = MemoryStore()
    store.put_session("held", Session("sgid", "u=1", {}, expires_at=10_000, seen_at=1000))
    flow = Gateway(SETTINGS, store, {"sgid": Provider()}, clock=lambda: 1000.0)  # type: ignore[arg-type]
    monkeypatch.setattr(LOGIN_APP, "GATEWAY", flow)
    monkeypatch.setattr(CALLBACK_APP, "GATEWAY", flow)
    return store


def event(route: str, raw_query: str, headers: dict[str, str], cookies: list[str]) -> dict[str, Any]:
    """A payload 2.0 event: repeated query parameters joined with commas, as API Gateway hands them over."""
    joined: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return {
        "routeKey": f"GET /auth/{{provider}}/{route}",
        "rawQueryString": raw_query,
        "queryStringParameters": joined or None,
        "pathParameters": {"provider": "sgid"},
        "cookies": cookies,
        "headers": headers,
        "requestContext": {"http": {"method": "GET"}, "domainName": "id.example"},
    }


def login(store: MemoryStore, headers: dict[str, str], raw_query: str = "return_to=/back") -> dict[str, Any]:
    response: dict[str, Any] = LOGIN_APP.login(
        web.Request.from_event(event("login", raw_query, headers, [f"{web.SESSION_COOKIE}=held"]))
    )
    return response


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-mode": "no-cors", "sec-fetch-dest": "image", "sec-fetch-site": "same-site"},
        {"sec-fetch-mode": "no-cors", "sec-fetch-dest": "script", "sec-fetch-site": "same-origin"},
        {"sec-fetch-mode": "navigate", "sec-fetch-dest": "iframe", "sec-fetch-site": "same-site"},
        {"sec-fetch-mode": "cors", "sec-fetch-dest": "empty", "sec-fetch-site": "same-site"},
        {**NAVIGATION, "sec-purpose": "prefetch;prerender"},
    ],
)
def test_a_login_url_loaded_as_anything_but_a_page_ends_nothing(store: MemoryStore, headers: dict[str, str]) -> None:
    provider = LOGIN_APP.GATEWAY._providers["sgid"]

    response = login(store, headers)

    assert response["statusCode"] == 403
    assert json.loads(response["body"]) == {"error": "navigation_required"}
    assert response["cookies"] == []
    assert set(store.sessions) == {"held"}  # the person is still logged in
    assert store.transactions == {}
    assert provider.requests == []  # no pushed authorization request, no KMS signature


@pytest.mark.parametrize("headers", [NAVIGATION, {**NAVIGATION, "sec-fetch-site": "cross-site"}, {}])
def test_a_navigation_to_the_login_starts_it_and_ends_the_held_session(
    store: MemoryStore, headers: dict[str, str]
) -> None:
    response = login(store, headers)

    assert response["statusCode"] == 302
    assert response["headers"]["Location"].startswith("https://idp.example/authorize")
    assert store.sessions == {}
    assert len(store.transactions) == 1


@pytest.mark.parametrize(
    "raw_query", ["return_to=/a&return_to=//evil.example", "return_to=//evil.example&return_to=/a"]
)
def test_a_return_to_sent_twice_is_refused_before_anything_ends(store: MemoryStore, raw_query: str) -> None:
    response = login(store, NAVIGATION, raw_query)

    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {"error": "invalid_return_to"}
    assert set(store.sessions) == {"held"}
    assert store.transactions == {}


def test_the_providers_cross_site_redirect_still_finishes_the_login(store: MemoryStore) -> None:
    started = login(store, NAVIGATION)
    state = dict(parse_qsl(urlsplit(started["headers"]["Location"]).query))["state"]
    binding = started["cookies"][0].split(";")[0].partition("=")[2]
    from_provider = {"sec-fetch-mode": "navigate", "sec-fetch-dest": "document", "sec-fetch-site": "cross-site"}

    response = CALLBACK_APP.callback(
        web.Request.from_event(
            event("callback", f"state={state}&code=c", from_provider, [f"{web.LOGIN_COOKIE}={binding}"])
        )
    )

    assert response["statusCode"] == 302
    assert response["headers"]["Location"] == "https://app.example/back"
    assert any(cookie.startswith(web.SESSION_COOKIE + "=") for cookie in response["cookies"])
