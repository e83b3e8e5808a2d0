"""Outbound HTTP: bounded timeouts, capped bodies, and retries only where a retry cannot spend a code twice."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import requests
from singpass_gateway.errors import ProviderUnavailable
from singpass_gateway.http import MAX_BODY_BYTES, HttpClient
from singpass_gateway.observability import calls_for

from tests.unit.test_metrics import documents, published


class Upstream(BaseHTTPRequestHandler):
    hits: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer()

    def _answer(self) -> None:
        Upstream.hits[self.command + self.path] = Upstream.hits.get(self.command + self.path, 0) + 1
        if self.path.startswith("/unavailable"):
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/huge":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"x" * (MAX_BODY_BYTES + 10))
        else:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: the shape of a hung provider."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/token"
    listener.close()


def test_a_hung_provider_is_abandoned_at_the_timeout(silent_server: str) -> None:
    with pytest.raises(ProviderUnavailable, match="Timeout"):
        HttpClient(timeout_seconds=1).post_form(silent_server, {"code": "c"}, call="token")


def test_idempotent_gets_are_retried_but_a_token_post_is_not(upstream: str) -> None:
    client = HttpClient(timeout_seconds=5)
    assert client.get(upstream + "/unavailable", call="jwks").status == 503
    assert client.post_form(upstream + "/unavailable", {"code": "c"}, call="token").status == 503
    assert Upstream.hits["GET/unavailable"] == 3
    assert Upstream.hits["POST/unavailable"] == 1


def test_a_get_carrying_a_single_use_proof_is_sent_once(upstream: str) -> None:
    client = HttpClient(timeout_seconds=5)
    assert client.get(upstream + "/unavailable-once", call="person", single_use=True).status == 503
    assert Upstream.hits["GET/unavailable-once"] == 1


def test_a_refused_connection_is_retried_for_a_plain_get_only(monkeypatch: pytest.MonkeyPatch) -> None:
    client = HttpClient(timeout_seconds=5)
    calls: list[str] = []

    def refuse(method: str, url: str, **_: object) -> None:
        calls.append(method)
        raise requests.ConnectionError("refused")

    monkeypatch.setattr(client._session, "request", refuse)
    with pytest.raises(ProviderUnavailable, match="ConnectionError"):
        client.get("http://127.0.0.1:9/jwks", call="jwks")
    with pytest.raises(ProviderUnavailable, match="ConnectionError"):
        client.get("http://127.0.0.1:9/person", call="person", single_use=True)
    assert calls == ["GET", "GET", "GET", "GET"]


def test_oversized_bodies_are_refused(upstream: str) -> None:
    with pytest.raises(ProviderUnavailable, match="over"):
        HttpClient(timeout_seconds=5).get(upstream + "/huge", call="userinfo")


def test_a_non_json_body_is_a_provider_failure(upstream: str) -> None:
    response = HttpClient(timeout_seconds=5).get(upstream + "/ok", call="discovery")
    assert response.json() == {}
    with pytest.raises(ProviderUnavailable):
        type(response)(200, {}, b"<html>").json()


def test_the_environment_is_read_for_proxies_once_not_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert HttpClient(timeout_seconds=5)._session.trust_env is False
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert HttpClient(timeout_seconds=5)._session.trust_env is True  # a configured proxy keeps working


def test_each_answer_is_timed_and_server_errors_and_lost_calls_count_as_failures(
    upstream: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = HttpClient(timeout_seconds=5)
    capsys.readouterr()
    with calls_for("sgid"):
        client.get(upstream + "/ok", call="jwks")
        client.post_form(upstream + "/unavailable", {"code": "c"}, call="token")
        with pytest.raises(ProviderUnavailable):
            client.get(upstream + "/huge", call="userinfo")
    client.get(upstream + "/ok", call="discovery")  # outside a flow: no provider to name
    monkeypatch.setattr(client._session, "request", refuse)
    with calls_for("oidc"), pytest.raises(ProviderUnavailable):
        client.post_form("http://127.0.0.1:9/token", {"code": "c"}, call="token")

    values = published(capsys.readouterr().out)
    assert [(name, dims["provider"], dims["call"]) for name, dims, _ in values] == [
        ("UpstreamLatency", "sgid", "jwks"),
        ("UpstreamLatency", "sgid", "token"),
        ("UpstreamFailure", "sgid", "token"),  # a 503
        ("UpstreamFailure", "sgid", "userinfo"),  # a body over the cap
        ("UpstreamLatency", "unknown", "discovery"),
        ("UpstreamFailure", "oidc", "token"),  # never reached
    ]
    assert all(value == 1 for name, _, value in values if name == "UpstreamFailure")


def test_latency_is_published_in_milliseconds(
    upstream: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = HttpClient(timeout_seconds=5)
    ticks = iter([100.0, 100.25])
    monkeypatch.setattr(time, "perf_counter", lambda: next(ticks))
    capsys.readouterr()

    client.get(upstream + "/ok", call="jwks")

    [document] = documents(capsys.readouterr().out)
    assert document["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "UpstreamLatency", "Unit": "Milliseconds"}]
    assert document["UpstreamLatency"] == [250.0]


def refuse(method: str, url: str, **_: object) -> None:
    raise requests.ConnectionError("refused")
