"""The running sandbox answers as the OpenAPI document it serves says it does.

Schemathesis reads the document from the sandbox's own ``/api/openapi.json``, generates requests for each
operation (its documented examples, then a bounded, derandomized number of generated ones) and checks every
answer: not a server error, a documented status, content type and headers, and a body valid against its schema.
The requests are a browser's: the X-CSRF header and the frontend's Origin, once without a session and once with
the cookie of a real login.

(Operations are parametrized here rather than through ``schemathesis.pytest.from_fixture``, whose lazy loader
rewrites a pytest node attribute that pytest 9.2 no longer has.)
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from singpass_gateway import contract
from singpass_gateway.web import SESSION_COOKIE

from infra.sandbox.browser import Browser
from infra.sandbox.stack import Sandbox

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
BOUNDED = settings(
    max_examples=6,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
"""A few cases per operation, the same ones every run: a contract check in seconds, not a fuzzing campaign."""
ROUTES = sorted(contract.route_keys())
SESSION_ENDING = {"GET /auth/{provider}/login", "POST /auth/logout"}
"""Routes that end the session they are sent with: each of their cases gets a session of its own."""

Send = Callable[[Case], None]


@pytest.fixture(scope="module")
def served(sandbox: Sandbox) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{sandbox.url}/api/openapi.json")


@pytest.fixture(scope="module")
def login(sandbox: Sandbox) -> Callable[[], str]:
    """A fresh session cookie from a whole sgID login through MockPass, as a browser gets one."""

    def logged_in() -> str:
        browser = Browser(sandbox.url)
        browser.login()
        return browser.cookies[SESSION_COOKIE]

    return logged_in


@pytest.fixture(scope="module")
def held_session(login: Callable[[], str]) -> str:
    return login()


def check_every_case(served: schemathesis.BaseSchema, route: str, send: Send) -> None:
    """Send the route's documented examples, then generated cases, and validate every answer."""
    method, path = route.split(" ", 1)
    operation = served[path][method]
    for strategy in [*operation.get_strategies_from_examples(), operation.as_strategy()]:

        @BOUNDED
        @given(case=strategy)
        def answers_as_documented(case: Case) -> None:
            send(case)

        answers_as_documented()


def as_a_browser(sandbox: Sandbox, cookies: Callable[[], dict[str, str]]) -> Send:
    headers = {"X-CSRF": "1", "Origin": sandbox.url}
    return lambda case: case.call_and_validate(base_url=sandbox.url, headers=headers, cookies=cookies(), checks=CHECKS)


def test_the_sandbox_serves_the_document_the_code_builds(sandbox: Sandbox) -> None:
    response = requests.get(f"{sandbox.url}/api/openapi.json", timeout=10)
    assert response.json() == contract.document()


@pytest.mark.parametrize("route", ROUTES)
def test_answers_without_a_session_are_documented(
    route: str, sandbox: Sandbox, served: schemathesis.BaseSchema
) -> None:
    check_every_case(served, route, as_a_browser(sandbox, dict))


@pytest.mark.parametrize("route", ROUTES)
def test_answers_with_a_session_are_documented(
    route: str, sandbox: Sandbox, served: schemathesis.BaseSchema, held_session: str, login: Callable[[], str]
) -> None:
    def session() -> dict[str, str]:
        return {SESSION_COOKIE: login() if route in SESSION_ENDING else held_session}

    check_every_case(served, route, as_a_browser(sandbox, session))
