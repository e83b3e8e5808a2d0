"""Each invocation has a deadline: Lambda's remaining time less a margin to answer. Provider calls and the waits
between their retries respect it, so a provider too slow for the function's timeout ends the login with the
stable ``provider_unavailable`` code, a log line and an UpstreamFailure metric, never with Lambda killing the
invocation (which API Gateway turns into a bare 5xx, with neither)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from singpass_gateway.flows import Gateway
from singpass_gateway.http import HttpClient, HttpResponse
from singpass_gateway.observability import ANSWER_MARGIN_SECONDS, deadline_in, seconds_left, within_time_limit
from singpass_gateway.providers import Authorization, AuthorizationRequest, Callback, Identity
from singpass_gateway.providers.retries import RetryPolicy
from singpass_gateway.settings import load_settings

from tests.unit.fakes import MemoryStore, load_handler
from tests.unit.test_metrics import published

FRONTEND = "https://app.example"
HANDLERS = sorted(path.parent.name for path in (Path(__file__).resolve().parents[2] / "functions").glob("*/app.py"))
SETTINGS = load_settings(
    {
        "GATEWAY_TABLE": "t",
        "GATEWAY_FRONTEND_URL": FRONTEND,
        "GATEWAY_PUBLIC_URL": "https://id.example",
        "GATEWAY_PROVIDERS": json.dumps([{"id": "slow", "type": "sgid", "name": "Slow"}]),
    }
)


@dataclass
class LambdaContext:
    """What Powertools reads of Lambda's context, and the time the invocation has left."""

    remaining_ms: int
    function_name: str = "callback"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:ap-southeast-1:1:function:callback"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class SlowProvider:
    """A provider whose token endpoint is ``token_url``, exchanged with the real HTTP client (a 5 s timeout)."""

    token_url: str
    id: str = "slow"
    name: str = "Slow"
    http: HttpClient = field(default_factory=lambda: HttpClient(timeout_seconds=5))

    def authorize(self, request: AuthorizationRequest) -> Authorization:
        return Authorization(f"https://idp.example/authorize?state={request.state}")

    def complete(self, callback: Callback) -> Identity:
        self.http.post_form(self.token_url, {"code": callback.code}, call="token")
        raise AssertionError("the token endpoint never answers")


@pytest.fixture
def silent_token_endpoint() -> Iterator[str]:
    """Accepts connections and never answers: the shape of a hung provider."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/token"
    listener.close()


def callback_event(state: str, binding: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "GET /auth/{provider}/callback",
        "rawPath": "/auth/slow/callback",
        "rawQueryString": f"state={state}&code=c",
        "cookies": [f"__Host-sgw_login={binding}"],
        "headers": {"host": "id.example"},
        "queryStringParameters": {"state": state, "code": "c"},
        "pathParameters": {"provider": "slow"},
        "requestContext": {"http": {"method": "GET", "path": "/auth/slow/callback"}, "domainName": "id.example"},
        "isBase64Encoded": False,
    }


def test_a_callback_short_of_time_answers_provider_unavailable_before_lambda_stops_it(
    silent_token_endpoint: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    handler = load_handler("callback")
    gateway = Gateway(SETTINGS, MemoryStore(), {"slow": SlowProvider(silent_token_endpoint)})  # type: ignore[dict-item]
    handler.GATEWAY = gateway  # type: ignore[attr-defined]
    started = gateway.begin_login("slow", "/back", "https://id.example")
    state = parse_qs(urlsplit(started.location).query)["state"][0]
    capsys.readouterr()

    began = time.monotonic()
    response = handler.lambda_handler(callback_event(state, started.binding), LambdaContext(remaining_ms=1500))
    elapsed = time.monotonic() - began

    assert elapsed < 1.5 - ANSWER_MARGIN_SECONDS + 0.3  # at the deadline, well before Lambda's 1.5 s are up
    assert response["statusCode"] == 302
    assert response["headers"]["Location"] == f"{FRONTEND}/back?error=provider_unavailable"
    [failed] = [record for record in caplog.records if record.getMessage() == "login failed"]
    assert (failed.provider, failed.error_code) == ("slow", "provider_unavailable")  # type: ignore[attr-defined]
    assert "deadline" in failed.detail  # type: ignore[attr-defined]
    assert ("UpstreamFailure", "slow", "token") in [
        (name, dims.get("provider"), dims.get("call")) for name, dims, _ in published(capsys.readouterr().out)
    ]


@pytest.mark.parametrize("name", HANDLERS)
def test_every_handler_runs_within_its_time_limit(name: str) -> None:
    def layers(function: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
        while function is not None:
            yield function
            function = getattr(function, "__wrapped__", None)  # type: ignore[assignment]

    deadline_setter = within_time_limit(print).__code__  # every function it wraps runs in this code
    handler = load_handler(name).lambda_handler
    assert any(getattr(layer, "__code__", None) is deadline_setter for layer in layers(handler))


def test_the_deadline_is_lambdas_remaining_time_less_the_margin_to_answer() -> None:
    seen: list[float | None] = []
    run = within_time_limit(lambda event, context: seen.append(seconds_left()))

    run({}, LambdaContext(remaining_ms=10_000))
    with deadline_in(2):  # an enclosing deadline that comes sooner stands
        run({}, LambdaContext(remaining_ms=10_000))
    run({}, object())  # a context that cannot say (a test's) sets none

    assert 10 - ANSWER_MARGIN_SECONDS - 0.1 < (seen[0] or 0) <= 10 - ANSWER_MARGIN_SECONDS
    assert 1.9 < (seen[1] or 0) <= 2
    assert seen[2] is None
    assert seconds_left() is None  # nothing outlives the invocation


def test_a_transient_answer_is_not_retried_when_the_wait_would_end_past_the_deadline() -> None:
    waits: list[float] = []
    policy = RetryPolicy(3, sleep=waits.append, jitter=lambda: 0.0)  # waits of 0.125, 0.25, 0.5 s
    unavailable = HttpResponse(503, {}, b"")

    assert policy.run(lambda: unavailable).status == 503
    assert waits == [0.125, 0.25, 0.5]
    waits.clear()
    with deadline_in(0.1):
        assert policy.run(lambda: unavailable).status == 503
    assert waits == []
