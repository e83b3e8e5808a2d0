"""The data routes' shared guard (the Origin allow-list, the CSRF header and CORS for configured frontends), and the
login route's: only a top-level navigation starts a login, and a query parameter counts only when sent once."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from singpass_gateway import web
from singpass_gateway.errors import ConfigurationError, InvalidReturnTo, NavigationRequired
from singpass_gateway.settings import load_settings

CONFIG = load_settings(
    {
        "GATEWAY_TABLE": "t",
        "GATEWAY_FRONTEND_URL": "https://app.example/portal",
        "GATEWAY_ALLOWED_ORIGINS": "https://staging.example, https://preview.example:8443",
        "GATEWAY_PROVIDERS": "[]",
    }
)
ROUTES: dict[str, web.Handler] = {"GET /api/me": lambda request: web.json_response(200, {"ok": True})}


def call(method: str = "GET", **headers: str) -> dict[str, Any]:
    event = {
        "routeKey": f"{method} /api/me",
        "requestContext": {"http": {"method": method}, "domainName": "api.example"},
        "headers": headers,
    }
    return web.serve_api(web.Request.from_event(event), ROUTES, CONFIG)


def error(response: dict[str, Any]) -> str:
    code: str = json.loads(response["body"])["error"]
    return code


@pytest.mark.parametrize("origin", ["https://app.example", "https://staging.example", "https://preview.example:8443"])
def test_a_configured_frontend_origin_gets_credentialed_cors(origin: str) -> None:
    response = call(origin=origin, **{"x-csrf": "1"})

    assert response["statusCode"] == 200
    assert response["headers"]["Access-Control-Allow-Origin"] == origin
    assert response["headers"]["Access-Control-Allow-Credentials"] == "true"
    assert response["headers"]["Vary"] == "Origin"


def test_the_apis_own_origin_and_origin_less_requests_are_served() -> None:
    assert call(origin="https://api.example", **{"x-csrf": "1"})["statusCode"] == 200  # same-origin POSTs send it
    plain = call(**{"x-csrf": "1"})  # same-origin GETs do not
    assert plain["statusCode"] == 200
    assert "Access-Control-Allow-Origin" not in plain["headers"]


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        "https://app.example.evil.example",
        "http://app.example",  # another scheme is another origin
        "https://staging.example:444",
        "https://APP.example ",
    ],
)
def test_any_other_origin_is_refused_without_cors_headers(origin: str) -> None:
    for method in ("GET", "OPTIONS"):
        response = call(method, origin=origin, **{"x-csrf": "1", "access-control-request-method": "GET"})
        assert response["statusCode"] == 403
        assert error(response) == "csrf_rejected"
        assert not any(name.startswith("Access-Control") for name in response["headers"])


def test_the_csrf_header_is_required_even_from_an_allowed_origin() -> None:
    response = call(origin="https://app.example")

    assert response["statusCode"] == 403
    assert error(response) == "csrf_rejected"


def test_a_preflight_is_granted_for_the_methods_and_header_the_api_uses() -> None:
    response = call(
        "OPTIONS",
        origin="https://staging.example",
        **{"access-control-request-method": "POST", "access-control-request-headers": "x-csrf"},
    )

    assert response["statusCode"] == 204
    assert response["headers"]["Access-Control-Allow-Origin"] == "https://staging.example"
    assert response["headers"]["Access-Control-Allow-Credentials"] == "true"
    assert response["headers"]["Access-Control-Allow-Headers"] == "X-CSRF, Content-Type"
    assert response["headers"]["Access-Control-Max-Age"] == "600"


@pytest.mark.parametrize(
    "asked",
    [
        {"access-control-request-method": "DELETE"},
        {"access-control-request-method": "GET", "access-control-request-headers": "x-csrf, authorization"},
        {},
    ],
)
def test_a_preflight_for_anything_else_is_refused(asked: dict[str, str]) -> None:
    response = call("OPTIONS", origin="https://app.example", **asked)

    assert response["statusCode"] == 403
    assert "Access-Control-Allow-Origin" not in response["headers"]


def test_a_route_that_fails_still_answers_its_code_with_cors() -> None:
    def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    event = {
        "routeKey": "GET /api/me",
        "requestContext": {"http": {"method": "GET"}, "domainName": "api.example"},
        "headers": {"origin": "https://app.example", "x-csrf": "1"},
    }
    response = web.serve_api(web.Request.from_event(event), {"GET /api/me": broken}, CONFIG)

    assert response["statusCode"] == 500
    assert error(response) == "internal_error"
    assert response["headers"]["Access-Control-Allow-Origin"] == "https://app.example"  # the frontend can read it


@pytest.mark.parametrize("value", ["https://a.example/path", "ftp://a.example", "http://a.example", "https://"])
def test_allowed_origins_must_be_exact_https_origins(value: str) -> None:
    with pytest.raises(ConfigurationError, match="GATEWAY_ALLOWED_ORIGINS"):
        load_settings(
            {
                "GATEWAY_TABLE": "t",
                "GATEWAY_FRONTEND_URL": "https://app.example",
                "GATEWAY_ALLOWED_ORIGINS": value,
                "GATEWAY_PROVIDERS": "[]",
            }
        )


def test_a_default_port_is_the_origin_browsers_send() -> None:
    config = load_settings(
        {
            "GATEWAY_TABLE": "t",
            "GATEWAY_FRONTEND_URL": "https://App.Example:443/",
            "GATEWAY_PROVIDERS": "[]",
        }
    )
    assert config.allowed_origins == {"https://app.example"}


def login_request(headers: dict[str, str] | None = None, raw_query: str = "") -> web.Request:
    """A GET of the login route as API Gateway hands it over: repeated query parameters joined with commas."""
    joined: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    event = {
        "routeKey": "GET /auth/{provider}/login",
        "rawQueryString": raw_query,
        "queryStringParameters": joined or None,
        "requestContext": {"http": {"method": "GET"}, "domainName": "api.example"},
        "headers": headers or {},
    }
    return web.Request.from_event(event)


def test_a_query_parameter_sent_once_is_read_as_sent() -> None:
    request = login_request(raw_query="return_to=%2Fa%2Cb&other=1&other=2")

    assert request.query_value("return_to", InvalidReturnTo) == "/a,b"
    assert request.query_value("missing", InvalidReturnTo) is None


@pytest.mark.parametrize(
    "raw_query",
    [
        "return_to=/a&return_to=//evil.example",  # API Gateway would hand over "/a,//evil.example"
        "return_to=/a&return%5Fto=/b",
        "return_to&return_to=/a",
        "return_to=&return_to=",
    ],
)
def test_a_query_parameter_sent_more_than_once_is_refused(raw_query: str) -> None:
    request = login_request(raw_query=raw_query)

    with pytest.raises(InvalidReturnTo):
        request.query_value("return_to", InvalidReturnTo)


NAVIGATION = {"sec-fetch-mode": "navigate", "sec-fetch-dest": "document"}


@pytest.mark.parametrize(
    "headers",
    [
        {},  # a browser without Fetch Metadata, or no browser at all
        NAVIGATION,
        {**NAVIGATION, "sec-fetch-site": "cross-site"},  # a link from another site (which sends no session cookie)
        {**NAVIGATION, "sec-fetch-site": "same-origin", "sec-fetch-user": "?1"},
        {**NAVIGATION, "sec-fetch-site": "none"},  # typed into the address bar, or a bookmark
        {**NAVIGATION, "sec-fetch-site": "same-site"},  # a script's location.assign, no user activation
        {"Sec-Fetch-Mode": "Navigate", "Sec-Fetch-Dest": "Document"},
    ],
)
def test_a_top_level_navigation_may_start_a_login(headers: dict[str, str]) -> None:
    login_request(headers).require_navigation()


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-mode": "no-cors", "sec-fetch-dest": "image", "sec-fetch-site": "same-site"},  # <img>
        {"sec-fetch-mode": "no-cors", "sec-fetch-dest": "script", "sec-fetch-site": "same-origin"},  # <script>
        {"sec-fetch-mode": "no-cors", "sec-fetch-dest": "style"},  # <link rel=stylesheet>
        {"sec-fetch-mode": "navigate", "sec-fetch-dest": "iframe"},  # a frame
        {"sec-fetch-mode": "navigate", "sec-fetch-dest": "object"},  # <object>
        {"sec-fetch-mode": "cors", "sec-fetch-dest": "empty"},  # fetch()
        {"sec-fetch-mode": "same-origin", "sec-fetch-dest": "empty"},
        {"sec-fetch-mode": "no-cors", "sec-fetch-dest": "empty", "sec-purpose": "prefetch"},  # <link rel=prefetch>
        {**NAVIGATION, "sec-purpose": "prefetch"},  # speculation rules: a prefetch on hover
        {**NAVIGATION, "sec-purpose": "prefetch;prerender"},
        {**NAVIGATION, "purpose": "prefetch"},  # older Chromium's prefetch
        {"x-moz": "prefetch"},  # older Firefox's
        {"x-purpose": "preview"},  # Safari's Top Sites preview
        {"sec-fetch-dest": "image"},  # one header alone still says what the request is
        {"sec-fetch-mode": "no-cors"},
        {"sec-fetch-mode": "websocket", "sec-fetch-dest": "websocket"},
    ],
)
def test_a_request_a_browser_marks_as_no_navigation_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(NavigationRequired) as refused:
        login_request(headers).require_navigation()

    assert (refused.value.code, refused.value.status) == ("navigation_required", 403)
