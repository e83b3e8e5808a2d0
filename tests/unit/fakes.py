"""Unit-test doubles: an in-memory HTTP client that answers from a routing table and records requests."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from singpass_gateway.http import HttpResponse


class FakeHttp:
    """Answers requests from a routing table and records them, so tests can check what was sent."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Callable[..., HttpResponse]] = {}
        self.requests: list[dict[str, Any]] = []

    def on(self, method: str, url: str, answer: Callable[..., HttpResponse] | HttpResponse) -> None:
        self.routes[(method, url)] = answer if callable(answer) else (lambda **_: answer)

    def get(self, url: str, headers: Mapping[str, str] | None = None, *, single_use: bool = False) -> HttpResponse:
        return self._answer("GET", url, headers=dict(headers or {}), single_use=single_use)

    def post_form(self, url: str, form: Mapping[str, str], headers: Mapping[str, str] | None = None) -> HttpResponse:
        return self._answer("POST", url, headers=dict(headers or {}), form=dict(form))

    def _answer(self, method: str, url: str, **request: Any) -> HttpResponse:
        self.requests.append({"method": method, "url": url, **request})
        return self.routes[(method, url)](**request)

    def count(self, method: str, url: str) -> int:
        return sum(1 for request in self.requests if (request["method"], request["url"]) == (method, url))


def json_response(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, dict(headers or {}), json.dumps(body).encode())
