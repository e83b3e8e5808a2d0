"""Behind CloudFront, every handler refuses a request that did not come through it (no secret origin header, or
another value), before it costs anything: the API's own URL would skip the distribution's per-IP limits. Without
the setting (a site hosted elsewhere, the sandbox), nothing is checked."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from singpass_gateway import settings, web
from singpass_gateway.errors import ConfigurationError
from singpass_gateway.observability import logger
from singpass_gateway.settings import load_settings, parse_origin_secret

from tests.unit.fakes import load_handler

SECRET = "Q" * 24 + "frontdoor" * 3
CONFIG = load_settings({"GATEWAY_TABLE": "t", "GATEWAY_FRONTEND_URL": "https://app.example", "GATEWAY_PROVIDERS": "[]"})
HANDLERS = {
    "login": ("GET /auth/{provider}/login", "login"),
    "callback": ("GET /auth/{provider}/callback", "callback"),
    "jwks": ("GET /.well-known/jwks/{provider}", "jwks"),
    "openapi": ("GET /api/openapi.json", "openapi"),
}
"""Handler -> (route, the guarded function its lambda_handler calls). Their GATEWAY is None here (load_handler):
reaching it would fail with internal_error, so a 403 proves the refusal came before any work."""


class Recorder(logging.Handler):
    """Every record the gateway's logger emits, with its extra fields."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append({**record.__dict__, "message": record.getMessage()})


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorder = Recorder()
    logger._logger.addHandler(recorder)  # Powertools keeps its standard logger there
    try:
        yield recorder
    finally:
        logger._logger.removeHandler(recorder)


@pytest.fixture
def behind_cloudfront(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GATEWAY_ORIGIN_SECRET", SECRET)
    settings.origin_secret.cache_clear()
    yield
    settings.origin_secret.cache_clear()


@pytest.fixture
def without_cloudfront(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("GATEWAY_ORIGIN_SECRET", raising=False)
    settings.origin_secret.cache_clear()
    yield
    settings.origin_secret.cache_clear()


def request(route: str, headers: dict[str, str]) -> web.Request:
    method = route.split(" ", 1)[0]
    return web.Request.from_event(
        {
            "routeKey": route,
            "pathParameters": {"provider": "sp"},
            "headers": headers,
            "requestContext": {
                "http": {"method": method},
                "domainName": "abc123.execute-api.ap-southeast-1.amazonaws.com",
            },
        }
    )


def answer(response: dict[str, Any]) -> tuple[int, str | None]:
    body = json.loads(response.get("body") or "{}")
    return response["statusCode"], body.get("error") if isinstance(body, dict) else None


@pytest.mark.usefixtures("behind_cloudfront")
@pytest.mark.parametrize("handler", list(HANDLERS))
@pytest.mark.parametrize("sent", [None, "", "wrong", SECRET[:-1], SECRET + "x", SECRET.lower()])
def test_every_handler_refuses_a_request_that_bypassed_cloudfront(
    handler: str, sent: str | None, recorder: Recorder
) -> None:
    route, function = HANDLERS[handler]
    headers = {} if sent is None else {"X-Origin-Verify": sent}

    response = getattr(load_handler(handler), function)(request(route, headers))

    assert answer(response) == (403, "direct_access_refused")
    [refusal] = [record for record in recorder.records if record.get("error_code") == "direct_access_refused"]
    assert (refusal["levelname"], refusal["message"]) == ("WARNING", "request refused")
    assert SECRET not in json.dumps(recorder.records, default=str)  # neither the value expected nor one sent


@pytest.mark.usefixtures("behind_cloudfront")
@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("GET", {"x-csrf": "1"}),
        ("OPTIONS", {"origin": "https://app.example", "access-control-request-method": "GET"}),
    ],
)
def test_the_data_routes_and_their_preflights_refuse_it_too(method: str, headers: dict[str, str]) -> None:
    routes: dict[str, web.Handler] = {"GET /api/me": lambda request: web.json_response(200, {"ok": True})}

    refused = web.serve_api(request(f"{method} /api/me", headers), routes, CONFIG)
    served = web.serve_api(request(f"{method} /api/me", {**headers, "x-origin-verify": SECRET}), routes, CONFIG)

    assert answer(refused) == (403, "direct_access_refused")
    assert served["statusCode"] in (200, 204)


@pytest.mark.usefixtures("behind_cloudfront")
def test_a_request_through_cloudfront_is_served() -> None:
    openapi = load_handler("openapi")

    response = openapi.openapi(request("GET /api/openapi.json", {"X-Origin-Verify": SECRET}))

    assert response["statusCode"] == 200
    assert json.loads(response["body"])["openapi"].startswith("3.1.")


@pytest.mark.usefixtures("without_cloudfront")
def test_without_the_setting_nothing_is_checked() -> None:
    openapi = load_handler("openapi")

    assert openapi.openapi(request("GET /api/openapi.json", {}))["statusCode"] == 200


def test_the_setting_is_empty_or_a_long_printable_value() -> None:
    assert parse_origin_secret({}) is None
    assert parse_origin_secret({"GATEWAY_ORIGIN_SECRET": "  "}) is None
    assert parse_origin_secret({"GATEWAY_ORIGIN_SECRET": SECRET}) == SECRET
    for value in ("short", "é" * 40, "x" * 31 + "\n" + "y"):
        with pytest.raises(ConfigurationError, match="GATEWAY_ORIGIN_SECRET"):
            parse_origin_secret({"GATEWAY_ORIGIN_SECRET": value})
