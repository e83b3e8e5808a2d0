"""The fault proxy: transparent until told otherwise, then failing exactly the operation it was told to."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from infra.sandbox.faults import DROP, HANG, TRUNCATE, FaultProxy, answer, aws_error


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = f"{self.command} {self.path} via {self.headers['Host']}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "a=1")
        self.send_header("Set-Cookie", "b=2")
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        with FaultProxy(f"http://127.0.0.1:{upstream.server_address[1]}").running() as running:
            yield running
    finally:
        upstream.shutdown()
        upstream.server_close()


def test_without_faults_requests_pass_through_with_their_host_and_every_header(proxy: FaultProxy) -> None:
    response = requests.get(proxy.url + "/path?q=1", timeout=5)

    assert response.text == f"GET /path?q=1 via 127.0.0.1:{proxy.port}"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert proxy.seen("GET /path") == 1


def test_a_fault_hits_only_its_operation_and_only_as_often_as_asked(proxy: FaultProxy) -> None:
    proxy.inject("POST /token", answer(503, b"down"), times=2)

    statuses = [requests.post(proxy.url + "/token", timeout=5).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert requests.get(proxy.url + "/token", timeout=5).status_code == 200
    assert proxy.seen("POST /token") == 3


def test_aws_operations_are_named_by_their_target(proxy: FaultProxy) -> None:
    proxy.inject("PutItem", aws_error("ThrottlingException"))

    throttled = requests.post(proxy.url, headers={"X-Amz-Target": "DynamoDB_20120810.PutItem"}, timeout=5)
    other = requests.post(proxy.url, headers={"X-Amz-Target": "DynamoDB_20120810.GetItem"}, timeout=5)

    assert throttled.status_code == 400
    assert throttled.json()["__type"] == "ThrottlingException"
    assert other.status_code == 200


def test_a_truncated_answer_breaks_off_mid_body(proxy: FaultProxy) -> None:
    proxy.inject("GET /jwks", TRUNCATE)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(proxy.url + "/jwks", timeout=5)


def test_a_dropped_request_gets_no_answer(proxy: FaultProxy) -> None:
    proxy.inject("GET /jwks", DROP)
    with pytest.raises(requests.ConnectionError):
        requests.get(proxy.url + "/jwks", timeout=5)


def test_a_hanging_request_times_out_and_reset_ends_it(proxy: FaultProxy) -> None:
    proxy.inject("GET /slow", HANG)
    with pytest.raises(requests.ReadTimeout):
        requests.get(proxy.url + "/slow", timeout=0.3)

    proxy.reset()

    assert proxy.seen("GET /slow") == 0
    assert requests.get(proxy.url + "/slow", timeout=5).status_code == 200


def test_refused_connections_come_back_on_the_same_port(proxy: FaultProxy) -> None:
    with proxy.refusing_connections(), pytest.raises(requests.ConnectionError):
        requests.get(proxy.url + "/x", timeout=5)

    assert requests.get(proxy.url + "/x", timeout=5).status_code == 200
