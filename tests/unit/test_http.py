"""Outbound HTTP: bounded timeouts, capped bodies, and retries only where a retry cannot spend a code twice.

Each exchange is bounded as a whole, not only per socket read: a provider trickling its answer a byte at a time
is cut off at the exchange's deadline (the HTTP timeout, or the invocation's deadline when that comes sooner)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from singpass_gateway.errors import ProviderUnavailable
from singpass_gateway.http import MAX_BODY_BYTES, HttpClient
from singpass_gateway.observability import calls_for, deadline_in

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


TRICKLE_SECONDS = 0.3
"""How often a trickling provider sends its next byte: well within any per-read timeout."""


class Trickler(BaseHTTPRequestHandler):
    """A provider that answers one byte every TRICKLE_SECONDS: its headers (``/headers``) or its body (``/body``),
    six seconds in all, so that only an overall deadline ends the exchange sooner."""

    def do_GET(self) -> None:
        self._trickle()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._trickle()

    def _trickle(self) -> None:
        body = b"{" + b" " * 18 + b"}"
        head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(body)
        header = b"X-Slow: " + b"x" * 10 + b"\r\n\r\n"
        before, slow, after = (head, header, body) if self.path == "/headers" else (head + header, body, b"")
        try:
            self.wfile.write(before)
            for byte in slow:
                time.sleep(TRICKLE_SECONDS)
                self.wfile.write(bytes([byte]))
            self.wfile.write(after)
        except OSError:  # the gateway hung up: what a deadline does
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def trickler() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("part", ["body", "headers"])
def test_a_provider_trickling_its_answer_is_cut_off_at_the_exchanges_deadline(
    trickler: str, part: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client = HttpClient(timeout_seconds=1)
    capsys.readouterr()
    started = time.monotonic()
    with calls_for("myinfo-v3"), pytest.raises(ProviderUnavailable, match="deadline"):
        client.get(f"{trickler}/{part}", call="person")
    elapsed = time.monotonic() - started

    assert 1 <= elapsed < 1.5  # not the six seconds the trickle takes, nor a retry's more
    assert [(name, dims["call"]) for name, dims, _ in published(capsys.readouterr().out)] == [
        ("UpstreamFailure", "person")
    ]


def test_a_call_is_cut_short_at_the_invocations_deadline(silent_server: str) -> None:
    started = time.monotonic()
    with deadline_in(0.5), pytest.raises(ProviderUnavailable, match="deadline"):
        HttpClient(timeout_seconds=5).post_form(silent_server, {"code": "c"}, call="token")
    assert 0.5 <= time.monotonic() - started < 0.9


def test_a_trickle_is_cut_short_at_the_invocations_deadline(trickler: str) -> None:
    started = time.monotonic()
    with deadline_in(0.5), pytest.raises(ProviderUnavailable, match="deadline"):
        HttpClient(timeout_seconds=5).post_form(f"{trickler}/headers", {"code": "c"}, call="token")
    assert 0.5 <= time.monotonic() - started < 0.9


def test_no_call_starts_once_the_invocations_deadline_has_passed(
    upstream: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    with calls_for("sgid"), deadline_in(0), pytest.raises(ProviderUnavailable, match="deadline"):
        HttpClient(timeout_seconds=5).get(upstream + "/never-sent", call="jwks")
    assert "GET/never-sent" not in Upstream.hits
    assert [(name, dims["provider"], dims["call"]) for name, dims, _ in published(capsys.readouterr().out)] == [
        ("UpstreamFailure", "sgid", "jwks")
    ]


def test_a_get_is_not_tried_again_when_its_backoff_would_end_past_the_deadline(upstream: str) -> None:
    with deadline_in(0.1):  # the first backoff is 0.2 s
        assert HttpClient(timeout_seconds=5).get(upstream + "/unavailable-late", call="jwks").status == 503
    assert Upstream.hits["GET/unavailable-late"] == 1


@pytest.fixture(scope="module")
def tls_trickler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The trickling provider over TLS, as every real provider is, with the certificate to trust it by."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}", folder / "cert.pem"
    server.shutdown()


def test_over_tls_a_trickle_is_cut_off_at_the_deadline_too(
    tls_trickler: tuple[str, Path],
) -> None:
    url, certificate = tls_trickler
    client = HttpClient(timeout_seconds=1)
    client._session.verify = str(certificate)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="deadline"):
        client.get(f"{url}/headers", call="jwks")
    assert 1 <= time.monotonic() - started < 1.5
    with deadline_in(0.5), pytest.raises(ProviderUnavailable, match="deadline"):
        client.get(f"{url}/body", call="jwks")
    assert 1.5 <= time.monotonic() - started < 2.2
