"""The local HTTP API: real worker processes behind a real socket, driven with requests/http.client."""

from __future__ import annotations

import base64
import http.client
import json
import re
import textwrap
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
import requests

from infra.sandbox.server import FunctionPool, Invocation, LocalApiServer
from infra.sandbox.template import FunctionSpec, Resolver, functions, load_template

ECHO_APP = """
import base64, json, os, sys

def lambda_handler(event, context):
    print("echo handler called")
    if event["rawPath"] == "/inferred":
        return {"hello": "world"}
    if event["rawPath"] == "/binary":
        body = base64.b64encode(bytes([0x89, 0x50, 0x00, 0xFF])).decode()
        return {"statusCode": 200, "headers": {"content-type": "image/png"}, "body": body,
                "isBase64Encoded": True}
    names = ("GREETING", "OWN", "EXTRA", "AWS_LAMBDA_FUNCTION_NAME", "PYTEST_CURRENT_TEST")
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json", "X-Route": event["routeKey"]},
        "cookies": ["a=1; Path=/", "b=2; Path=/; HttpOnly"],
        "body": json.dumps({
            "event": event,
            "env": {name: os.environ.get(name) for name in names},
            "pid": os.getpid(),
            "cwd": os.getcwd(),
            "path0": sys.path[0],
            "context": {
                "function_name": context.function_name,
                "function_version": context.function_version,
                "memory": context.memory_limit_in_mb,
                "arn": context.invoked_function_arn,
                "request_id": context.aws_request_id,
                "remaining": context.get_remaining_time_in_millis(),
                "log_group": context.log_group_name,
            },
        }),
    }
"""

FLAKY_APP = """
import os, time

def lambda_handler(event, context):
    mode = (event.get("queryStringParameters") or {}).get("mode")
    if mode == "raise":
        raise ValueError("flaky handler failed on purpose")
    if mode == "exit":
        os._exit(3)
    if mode == "hang":
        time.sleep(30)
    return {"statusCode": 200, "body": str(os.getpid())}
"""

SLOW_APP = """
import os, time

def lambda_handler(event, context):
    time.sleep(0.4)
    return {"statusCode": 200, "body": str(os.getpid())}
"""

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: test}
Globals:
  Function:
    Handler: app.lambda_handler
    Timeout: 5
    MemorySize: 256
    Environment:
      Variables:
        GREETING: !Sub "hello-${Stage}"
Resources:
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/echo
      Environment:
        Variables: {OWN: echo-own}
      Events:
        Exact: {Type: HttpApi, Properties: {Path: /things/exact, Method: GET}}
        Param: {Type: HttpApi, Properties: {Path: "/things/{id}", Method: GET}}
        Greedy: {Type: HttpApi, Properties: {Path: "/things/{proxy+}", Method: ANY}}
        Submit: {Type: HttpApi, Properties: {Path: /submit, Method: POST}}
        Upload: {Type: HttpApi, Properties: {Path: /upload, Method: POST}}
        Inferred: {Type: HttpApi, Properties: {Path: /inferred, Method: GET}}
        Binary: {Type: HttpApi, Properties: {Path: /binary, Method: GET}}
        DeepParam: {Type: HttpApi, Properties: {Path: "/deep/{x}/c", Method: GET}}
        DeepGreedy: {Type: HttpApi, Properties: {Path: "/deep/b/{proxy+}", Method: GET}}
  FlakyFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/flaky
      Timeout: 1
      Events:
        Flaky: {Type: HttpApi, Properties: {Path: /flaky, Method: GET}}
  SlowFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/slow
      Events:
        Slow: {Type: HttpApi, Properties: {Path: /slow, Method: GET}}
"""

SECRET = "top-secret-outside-static-dir"


@dataclass
class Sandbox:
    server: LocalApiServer
    pools: dict[str, FunctionPool]
    specs: dict[str, FunctionSpec]
    root: Path
    log_path: Path

    @property
    def url(self) -> str:
        return self.server.url

    def invocations_of(self, logical_id: str) -> list[Invocation]:
        return [invocation for name, invocation in self.server.invocations if name == logical_id]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def _project(root: Path) -> None:
    _write(root / "template.yaml", TEMPLATE)
    _write(root / "functions" / "echo" / "app.py", ECHO_APP)
    _write(root / "functions" / "flaky" / "app.py", FLAKY_APP)
    _write(root / "functions" / "slow" / "app.py", SLOW_APP)
    _write(root / "site" / "index.html", "<!doctype html><title>home</title>")
    _write(root / "site" / "app.js", "console.log('hi');")
    _write(root / "site" / "style.css", "body{}")
    _write(root / "site" / "submit", "a static file shadowed by the POST /submit route")
    _write(root / "secret.txt", SECRET)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    root = tmp_path_factory.mktemp("project")
    _project(root)
    template = load_template(root / "template.yaml")
    specs = functions(template, Resolver(template))
    log_path = root / "handlers.log"
    with log_path.open("ab") as log_file:
        pools = {spec.logical_id: _pool(spec, log_file) for spec in specs}
        server = LocalApiServer(
            specs, pools, root / "site", static_headers=[("Content-Security-Policy", "default-src 'self'")]
        )
        server.start()
        try:
            yield Sandbox(server, pools, {spec.logical_id: spec for spec in specs}, root, log_path)
        finally:
            server.stop()
            for pool in pools.values():
                pool.close()


def _pool(spec: FunctionSpec, log_file: IO[bytes]) -> FunctionPool:
    max_workers = 3 if spec.logical_id == "SlowFunction" else 4
    return FunctionPool(spec, {"EXTRA": "from-extra-env"}, log_file, max_workers=max_workers)


def _echo(response: requests.Response) -> dict[str, Any]:
    payload: dict[str, Any] = response.json()
    return payload


def _raw_request(
    sandbox: Sandbox, method: str, path: str, headers: Sequence[tuple[str, str]] = ()
) -> tuple[int, dict[str, str], bytes]:
    """http.client, because requests/urllib3 would normalise `..` out of the path."""
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.server.port, timeout=10)
    try:
        connection.putrequest(method, path)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


# ------------------------------------------------------------------------------------------------ event


def test_event_shape(sandbox: Sandbox) -> None:
    before = time.time()
    response = requests.get(
        f"{sandbox.url}/things/a%20b?x=1&x=2&y=hello%20world&empty=",
        headers={"Cookie": "sid=s1; theme=dark", "X-Custom": "v"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 201
    event = _echo(response)["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /things/{id}"
    assert event["rawPath"] == "/things/a%20b"
    assert event["rawQueryString"] == "x=1&x=2&y=hello%20world&empty="
    assert event["pathParameters"] == {"id": "a b"}
    assert event["queryStringParameters"] == {"x": "1,2", "y": "hello world", "empty": ""}
    assert event["cookies"] == ["sid=s1", "theme=dark"]
    headers = event["headers"]
    assert headers["x-custom"] == "v"
    assert "cookie" not in headers
    assert all(name == name.lower() for name in headers)
    assert headers["host"] == f"localhost:{sandbox.server.port}"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert "body" not in event
    assert event["isBase64Encoded"] is False

    context = event["requestContext"]
    assert context["stage"] == "$default"
    assert context["routeKey"] == "GET /things/{id}"
    assert context["domainName"] == f"localhost:{sandbox.server.port}"
    assert context["domainPrefix"] == "localhost"
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == "local"
    assert context["http"] == {
        "method": "GET",
        "path": "/things/a%20b",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": headers["user-agent"],
    }
    assert re.fullmatch(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000", context["time"])
    assert before * 1000 - 1000 <= context["timeEpoch"] <= time.time() * 1000 + 1000
    assert response.headers["Apigw-Requestid"] == context["requestId"]


def test_event_omits_empty_parts_and_joins_repeated_headers(sandbox: Sandbox) -> None:
    headers = [("Cookie", "a=1"), ("Cookie", "b=2; c=3"), ("X-Dup", "one"), ("X-Dup", "two")]
    status, _, body = _raw_request(sandbox, "GET", "/things/exact", headers)
    assert status == 201
    event = json.loads(body)["event"]
    assert event["routeKey"] == "GET /things/exact"
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert event["headers"]["x-dup"] == "one,two"
    for absent in ("queryStringParameters", "pathParameters", "body"):
        assert absent not in event
    plain = _echo(requests.get(f"{sandbox.url}/things/exact", timeout=10))["event"]
    assert "cookies" not in plain


def test_worker_environment_and_context(sandbox: Sandbox) -> None:
    first = _echo(requests.get(f"{sandbox.url}/things/exact", timeout=10))
    second = _echo(requests.get(f"{sandbox.url}/things/exact", timeout=10))
    assert first["env"] == {
        "GREETING": "hello-test",  # Globals, resolved with the parameter default
        "OWN": "echo-own",  # the function's own variable
        "EXTRA": "from-extra-env",  # the pool's extras
        "AWS_LAMBDA_FUNCTION_NAME": "EchoFunction",
        "PYTEST_CURRENT_TEST": None,  # nothing leaks in from the test process
    }
    code_dir = str(sandbox.specs["EchoFunction"].code_dir)
    assert first["cwd"] == code_dir
    assert first["path0"] == code_dir
    context = first["context"]
    assert context["function_name"] == "EchoFunction"
    assert context["function_version"] == "$LATEST"
    assert context["memory"] == 256
    assert context["arn"].endswith(":function:EchoFunction")
    assert context["log_group"] == "/aws/lambda/EchoFunction"
    assert 0 < context["remaining"] <= 5000
    assert context["request_id"] != second["context"]["request_id"]


def test_handler_output_goes_to_the_log_file(sandbox: Sandbox, capfd: pytest.CaptureFixture[str]) -> None:
    requests.get(f"{sandbox.url}/things/exact?code=oauth-code-123", headers={"Cookie": "sid=s"}, timeout=10)
    deadline = time.monotonic() + 5
    while "echo handler called" not in sandbox.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "echo handler called" in sandbox.log_path.read_text()
    captured = capfd.readouterr()
    assert "oauth-code-123" not in captured.out + captured.err  # no access log lines with queries
    assert "/things/exact" not in captured.err


# --------------------------------------------------------------------------------------------- response


def test_response_mapping(sandbox: Sandbox) -> None:
    response = requests.get(f"{sandbox.url}/things/exact", allow_redirects=False, timeout=10)
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Route"] == "GET /things/exact"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"]
    assert response.cookies.get("a") == "1"
    assert response.cookies.get("b") == "2"


def test_result_without_status_code_is_inferred_json(sandbox: Sandbox) -> None:
    response = requests.get(f"{sandbox.url}/inferred", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"hello": "world"}


def test_base64_response_body_is_decoded(sandbox: Sandbox) -> None:
    response = requests.get(f"{sandbox.url}/binary", timeout=10)
    assert response.headers["Content-Type"] == "image/png"
    assert response.content == bytes([0x89, 0x50, 0x00, 0xFF])


# --------------------------------------------------------------------------------------------- routing


@pytest.mark.parametrize(
    ("method", "path", "route_key", "parameters"),
    [
        ("GET", "/things/exact", "GET /things/exact", None),
        ("GET", "/things/abc", "GET /things/{id}", {"id": "abc"}),
        ("GET", "/things/a/b/c", "ANY /things/{proxy+}", {"proxy": "a/b/c"}),
        ("DELETE", "/things/abc", "ANY /things/{proxy+}", {"proxy": "abc"}),  # GET {id} doesn't match DELETE
        ("POST", "/things/exact", "ANY /things/{proxy+}", {"proxy": "exact"}),
        ("GET", "/deep/b/c", "GET /deep/{x}/c", {"x": "b"}),  # any {param} route beats any greedy one
        ("GET", "/deep/b/d", "GET /deep/b/{proxy+}", {"proxy": "d"}),
    ],
)
def test_route_precedence(
    sandbox: Sandbox, method: str, path: str, route_key: str, parameters: dict[str, str] | None
) -> None:
    response = requests.request(method, f"{sandbox.url}{path}", timeout=10)
    assert response.status_code == 201
    event = _echo(response)["event"]
    assert event["routeKey"] == route_key
    assert event.get("pathParameters") == parameters


def test_method_mismatch_is_not_found_even_with_a_static_file(sandbox: Sandbox) -> None:
    assert requests.post(f"{sandbox.url}/submit", timeout=10).status_code == 201
    response = requests.get(f"{sandbox.url}/submit", timeout=10)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_greedy_route_needs_a_segment(sandbox: Sandbox) -> None:
    assert requests.get(f"{sandbox.url}/things", timeout=10).status_code == 404


# ---------------------------------------------------------------------------------------- static files


def test_static_files(sandbox: Sandbox) -> None:
    index = requests.get(f"{sandbox.url}/", timeout=10)
    assert index.status_code == 200
    assert index.text == "<!doctype html><title>home</title>"
    assert index.headers["Content-Type"] == "text/html; charset=utf-8"
    assert index.headers["Cache-Control"] == "no-cache"
    assert index.headers["Content-Security-Policy"] == "default-src 'self'"  # the site's headers, as CloudFront adds
    script = requests.get(f"{sandbox.url}/app.js", timeout=10)
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert script.text == "console.log('hi');"
    assert requests.get(f"{sandbox.url}/style.css", timeout=10).headers["Content-Type"].startswith("text/css")
    head = requests.head(f"{sandbox.url}/index.html", timeout=10)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Length"] == str(len(index.content))


def test_static_misses_are_api_gateway_404s(sandbox: Sandbox) -> None:
    missing = requests.get(f"{sandbox.url}/nope.js", timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {"message": "Not Found"}
    assert requests.post(f"{sandbox.url}/index.html", timeout=10).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/../../secret.txt",
        "/../pyproject.toml",
        "/%2e%2e/%2e%2e/pyproject.toml",
        "/site/../../secret.txt",
    ],
)
def test_static_refuses_path_traversal(sandbox: Sandbox, path: str) -> None:
    assert (sandbox.root / "secret.txt").read_text() == SECRET  # the file exists just outside static_dir
    status, _, body = _raw_request(sandbox, "GET", path)
    assert status == 404
    assert SECRET.encode() not in body


def test_static_resolves_dot_segments_inside_the_folder(sandbox: Sandbox) -> None:
    status, _headers, body = _raw_request(sandbox, "GET", "/nothing/../app.js")
    assert status == 200
    assert body == b"console.log('hi');"


# ------------------------------------------------------------------------------------------ body & limits


def test_binary_request_body_is_base64(sandbox: Sandbox) -> None:
    data = bytes(range(256))
    response = requests.post(
        f"{sandbox.url}/upload", data=data, headers={"Content-Type": "application/octet-stream"}, timeout=10
    )
    event = _echo(response)["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == data


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/json", '{"a": "é"}'),
        ("application/x-www-form-urlencoded", "code=abc&state=xyz"),
        ("text/plain; charset=utf-8", "hello"),
        ("application/xml", "<a/>"),
    ],
)
def test_text_request_bodies_stay_text(sandbox: Sandbox, content_type: str, data: str) -> None:
    response = requests.post(
        f"{sandbox.url}/upload", data=data.encode(), headers={"Content-Type": content_type}, timeout=10
    )
    event = _echo(response)["event"]
    assert event["isBase64Encoded"] is False
    assert event["body"] == data


def test_body_size_limit(sandbox: Sandbox) -> None:
    limit = 1024 * 1024
    ok = requests.post(f"{sandbox.url}/upload", data=b"a" * limit, headers={"Content-Type": "text/plain"}, timeout=30)
    assert ok.status_code == 201
    assert len(_echo(ok)["event"]["body"]) == limit
    too_big = requests.post(
        f"{sandbox.url}/upload", data=b"a" * (limit + 1), headers={"Content-Type": "text/plain"}, timeout=30
    )
    assert too_big.status_code == 413


def test_header_size_limit(sandbox: Sandbox) -> None:
    response = requests.get(f"{sandbox.url}/things/exact", headers={"X-Big": "x" * 11 * 1024}, timeout=10)
    assert response.status_code == 431
    assert requests.get(f"{sandbox.url}/things/exact", headers={"X-Big": "x" * 8 * 1024}, timeout=10).ok


# --------------------------------------------------------------------------------------- failures & pool


def _flaky(sandbox: Sandbox, mode: str | None = None) -> requests.Response:
    return requests.get(f"{sandbox.url}/flaky", params={"mode": mode} if mode else None, timeout=30)


def test_handler_exception_is_a_500_and_the_worker_stays(sandbox: Sandbox) -> None:
    pid = _flaky(sandbox).text
    failed = _flaky(sandbox, "raise")
    assert failed.status_code == 500
    assert failed.json() == {"message": "Internal Server Error"}
    assert sandbox.invocations_of("FlakyFunction")[-1].error == "ValueError"
    assert _flaky(sandbox).text == pid  # the container survived its handler's exception, as in Lambda
    assert "flaky handler failed on purpose" in sandbox.log_path.read_text()  # traceback in the logs


def test_dead_worker_is_replaced(sandbox: Sandbox) -> None:
    pid = _flaky(sandbox).text
    crashed = _flaky(sandbox, "exit")
    assert crashed.status_code == 500
    assert crashed.json() == {"message": "Internal Server Error"}
    recovered = _flaky(sandbox)
    assert recovered.status_code == 200
    assert recovered.text != pid
    assert sandbox.invocations_of("FlakyFunction")[-1].cold is True


def test_timeout_kills_the_worker(sandbox: Sandbox) -> None:
    pid = _flaky(sandbox).text  # warm: the next call's deadline is just the 1 s function timeout
    started = time.monotonic()
    assert _flaky(sandbox, "hang").status_code == 500
    assert time.monotonic() - started < 5
    assert sandbox.invocations_of("FlakyFunction")[-1].error == "Worker timed out"
    assert _flaky(sandbox).text != pid


def _slow_wave(sandbox: Sandbox, count: int) -> tuple[set[str], list[Invocation]]:
    """`count` simultaneous requests to SlowFunction (0.4 s each): the pids that served them, and the calls."""
    already = len(sandbox.invocations_of("SlowFunction"))
    with ThreadPoolExecutor(max_workers=count) as executor:
        responses = list(executor.map(lambda _: requests.get(f"{sandbox.url}/slow", timeout=30), range(count)))
    assert all(response.status_code == 200 for response in responses)
    return {response.text for response in responses}, sandbox.invocations_of("SlowFunction")[already:]


def test_parallel_requests_scale_out_up_to_the_limit(sandbox: Sandbox) -> None:
    first_pids, first = _slow_wave(sandbox, 1)
    assert [invocation.cold for invocation in first] == [True]
    assert first[0].init_wall_seconds is not None
    assert first[0].wall_seconds >= 0.35

    # Three at once: the idle worker takes one, two more containers start (SlowFunction allows 3).
    second_pids, second = _slow_wave(sandbox, 3)
    assert len(second_pids) == 3
    assert first_pids < second_pids
    assert sorted(invocation.cold for invocation in second) == [False, True, True]

    # Six at once: no fourth worker; requests queue for the three that exist.
    third_pids, third = _slow_wave(sandbox, 6)
    assert third_pids <= second_pids
    assert len(third_pids) > 1
    assert not any(invocation.cold for invocation in third)
    assert all(invocation.wall_seconds >= 0.35 for invocation in third)
    assert sandbox.pools["SlowFunction"].size == 3


# ------------------------------------------------------------------------------------------ pool direct


def test_pool_cold_then_warm_and_close(tmp_path: Path) -> None:
    _write(tmp_path / "fn" / "app.py", "import os\ndef handler(event, context):\n    return [event, os.getpid()]\n")
    spec = FunctionSpec("Fn", (tmp_path / "fn").resolve(), "app.handler", {}, ())
    pool = FunctionPool(spec, {}, None, max_workers=1)
    try:
        first = pool.invoke({"n": 1})
        second = pool.invoke({"n": 2})
        assert first.cold is True
        assert second.cold is False
        assert first.response[0] == {"n": 1}
        assert second.response[0] == {"n": 2}
        assert first.response[1] == second.response[1]
        assert first.init_cpu_seconds is not None
        assert first.init_wall_seconds is not None
        assert second.init_cpu_seconds is None
        assert first.cpu_seconds >= 0
        assert first.wall_seconds >= 0
        assert pool.size == 1
    finally:
        pool.close()
    assert pool.size == 0
    with pytest.raises(RuntimeError, match="closed"):
        pool.invoke({})


def test_pool_warm_starts_a_worker_ahead(tmp_path: Path) -> None:
    _write(tmp_path / "fn" / "app.py", "def handler(event, context):\n    return 'ok'\n")
    spec = FunctionSpec("Fn", (tmp_path / "fn").resolve(), "app.handler", {}, ())
    with FunctionPool(spec, {}, None, max_workers=2) as pool:
        pool.warm()
        assert pool.size == 1
        invocation = pool.invoke({})
        assert invocation.cold is False
        assert invocation.response == "ok"
        assert invocation.init_wall_seconds is not None  # it did cold-start, just not on this request


def test_retired_workers_give_way_to_a_cold_start(tmp_path: Path) -> None:
    _write(tmp_path / "fn" / "app.py", "import os\ndef handler(event, context):\n    return os.getpid()\n")
    spec = FunctionSpec("Fn", (tmp_path / "fn").resolve(), "app.handler", {}, ())
    with FunctionPool(spec, {}, None, max_workers=1) as pool:
        first = pool.invoke({})

        pool.retire_idle()

        assert pool.size == 0
        after = pool.invoke({})
        assert after.cold is True
        assert after.response != first.response


def test_import_error_is_a_500(tmp_path: Path) -> None:
    _write(tmp_path / "fn" / "app.py", "raise ImportError('missing dependency')\n")
    spec = FunctionSpec("Fn", (tmp_path / "fn").resolve(), "app.handler", {}, ())
    log_path = tmp_path / "log"
    with log_path.open("ab") as log_file, FunctionPool(spec, {}, log_file) as pool:
        invocation = pool.invoke({})
        assert invocation.response["statusCode"] == 500
        assert invocation.error is not None
        assert "exited" in invocation.error
    assert "missing dependency" in log_path.read_text()


def test_server_requires_a_pool_for_every_routed_function(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="EchoFunction"):
        LocalApiServer(list(sandbox.specs.values()), {}, None)


def test_server_url_uses_localhost(sandbox: Sandbox) -> None:
    assert sandbox.url == f"http://localhost:{sandbox.server.port}"
