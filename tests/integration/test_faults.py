"""Faults injected into the running sandbox (infra/sandbox/faults.py) between the real handlers and DynamoDB
Local, moto's KMS and Secrets Manager, and MockPass's sgID, with botocore's and the gateway's own retries at work.

Whatever fails, the browser gets a stable code (the callback: a 302 to the frontend with ``?error=<code>``; the
API: a JSON error with its status), the handlers' log names the code without upstream text, tokens or personal
data, no session is stored, and the login cannot be completed later.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from singpass_gateway.store import digest

from infra.sandbox.browser import Browser, items, provider_redirect, query
from infra.sandbox.faults import DROP, HANG, TRUNCATE, Fault, FaultProxy, SandboxFaults, answer, aws_error
from infra.sandbox.stack import SANDBOX_PERSONA, SANDBOX_SECRETS, Sandbox, SandboxOptions, run_sandbox

SESSION = "__Host-sgw_session"
LOGIN = "__Host-sgw_login"
HTTP_TIMEOUT_SECONDS = 2
"""The handlers' provider read timeout in this sandbox (template.yaml's default is 10 s)."""
CANARY = f"upstream-detail {SANDBOX_PERSONA} TAN HENG HUAT"
"""Upstream error text with personal data in it: it must reach neither the browser nor the log."""
TOKEN = "POST /v2/oauth/token"
USERINFO = "GET /v2/oauth/userinfo"
JWKS = "GET /v2/.well-known/jwks.json"


@pytest.fixture(scope="module")
def faulty_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults") / "handlers.log"


@pytest.fixture(scope="module")
def sandbox(faulty_log: Path) -> Iterator[Sandbox]:
    """A sandbox of its own: its handlers reach AWS and sgID through fault proxies, with a short HTTP timeout."""
    with faulty_log.open("ab") as log:
        options = SandboxOptions(
            show_login_page=False, handler_log=log, fault_injection=True, http_timeout_seconds=HTTP_TIMEOUT_SECONDS
        )
        with run_sandbox(options) as stack:
            yield stack


@pytest.fixture
def faults(sandbox: Sandbox) -> Iterator[SandboxFaults]:
    """The proxies, reset after every test, so that no fault or count outlives the test that set it."""
    assert sandbox.faults is not None
    sandbox.faults.reset()
    try:
        yield sandbox.faults
    finally:
        sandbox.faults.reset()


@dataclass(frozen=True)
class Case:
    proxy: str
    operation: str
    fault: Fault
    code: str
    attempts: int
    """How many requests for the operation the proxy sees: botocore retries, and the gateway retries GETs."""
    cold: bool = False
    """Whether the callback needs a fresh container, one that has not yet cached the secret or the JWKS."""
    provider: str = "sgid"


UNAVAILABLE = "service_unavailable"
PROVIDER_DOWN = "provider_unavailable"
CALLBACK_FAULTS = {
    "dynamodb-consume-throttled": Case(
        "dynamodb", "DeleteItem", aws_error("ThrottlingException", 400, CANARY), UNAVAILABLE, 3
    ),
    "dynamodb-session-write-throttled": Case(
        "dynamodb", "PutItem", aws_error("ProvisionedThroughputExceededException", 400, CANARY), UNAVAILABLE, 3
    ),
    "dynamodb-session-write-times-out": Case("dynamodb", "PutItem", HANG, UNAVAILABLE, 3),
    "dynamodb-session-write-connection-lost": Case("dynamodb", "PutItem", DROP, UNAVAILABLE, 3),
    "kms-internal-error": Case("aws", "Decrypt", aws_error("KMSInternalException", 500, CANARY), UNAVAILABLE, 3),
    "kms-key-disabled": Case("aws", "Decrypt", aws_error("DisabledException", 400, CANARY), UNAVAILABLE, 1),
    "kms-throttled": Case("aws", "Decrypt", aws_error("ThrottlingException", 400, CANARY), UNAVAILABLE, 3),
    "kms-sealing-fails": Case(
        "aws", "Encrypt", aws_error("KMSInternalException", 500, CANARY), UNAVAILABLE, 3, provider="oidc"
    ),
    "secrets-manager-internal-error": Case(
        "aws", "GetSecretValue", aws_error("InternalServiceError", 500, CANARY), UNAVAILABLE, 3, cold=True
    ),
    "secrets-manager-access-denied": Case(
        "aws", "GetSecretValue", aws_error("AccessDeniedException", 400, CANARY), UNAVAILABLE, 1, cold=True
    ),
    "token-5xx": Case("sgid", TOKEN, answer(503, CANARY.encode()), PROVIDER_DOWN, 1),
    "token-not-json": Case(
        "sgid", TOKEN, answer(200, f"<html>{CANARY}</html>".encode(), "text/html"), PROVIDER_DOWN, 1
    ),
    "token-json-cut-short": Case("sgid", TOKEN, answer(200, b'{"access_token": "abc", "id_tok'), PROVIDER_DOWN, 1),
    "token-body-broken-off": Case("sgid", TOKEN, TRUNCATE, PROVIDER_DOWN, 1),
    "token-times-out": Case("sgid", TOKEN, HANG, PROVIDER_DOWN, 1),
    "userinfo-5xx": Case("sgid", USERINFO, answer(502, CANARY.encode()), PROVIDER_DOWN, 3),
    "userinfo-body-broken-off": Case("sgid", USERINFO, TRUNCATE, PROVIDER_DOWN, 1),
    "jwks-5xx": Case("sgid", JWKS, answer(503, CANARY.encode()), PROVIDER_DOWN, 3, cold=True),
    "jwks-connection-lost": Case("sgid", JWKS, DROP, PROVIDER_DOWN, 3, cold=True),
    "jwks-times-out": Case("sgid", JWKS, HANG, PROVIDER_DOWN, 1, cold=True),
}


@pytest.mark.parametrize("case", CALLBACK_FAULTS.values(), ids=CALLBACK_FAULTS.keys())
def test_a_fault_during_the_callback_ends_the_login_cleanly(
    sandbox: Sandbox, faults: SandboxFaults, faulty_log: Path, case: Case
) -> None:
    browser = Browser(sandbox.url)
    callback_url = provider_redirect(browser.start_login("/", case.provider).headers["Location"])
    login_cookie = browser.cookies[LOGIN]
    sessions = stored_sessions(sandbox)
    if case.cold:
        sandbox.pools["CallbackFunction"].retire_idle()
    proxy: FaultProxy = getattr(faults, case.proxy)
    log, before = LogCapture(faulty_log), proxy.seen(case.operation)

    proxy.inject(case.operation, case.fault)
    failed = browser.get(callback_url)

    assert failed.status_code == 302
    assert failed.headers["Location"] == f"{sandbox.url}/?error={case.code}"
    assert proxy.seen(case.operation) - before == case.attempts
    assert LOGIN not in browser.cookies
    assert SESSION not in browser.cookies
    assert stored_sessions(sandbox) == sessions
    log.assert_names_only(case.code, secrets={**query(callback_url), "login cookie": login_cookie})
    faults.reset()
    assert_login_is_over(sandbox, browser, callback_url, consumed=case.operation != "DeleteItem")
    assert stored_sessions(sandbox) == sessions


@pytest.mark.parametrize(
    ("service", "code", "consumed"),
    [("sgid", PROVIDER_DOWN, True), ("dynamodb", UNAVAILABLE, False)],
    ids=["provider", "dynamodb"],
)
def test_a_service_refusing_connections_ends_the_login_cleanly(
    sandbox: Sandbox, faults: SandboxFaults, faulty_log: Path, service: str, code: str, consumed: bool
) -> None:
    """``consumed``: the provider fails after the transaction is spent; DynamoDB fails while spending it."""
    browser = Browser(sandbox.url)
    callback_url = provider_redirect(browser.start_login().headers["Location"])
    sessions = stored_sessions(sandbox)
    log = LogCapture(faulty_log)

    with getattr(faults, service).refusing_connections():
        failed = browser.get(callback_url)

    assert failed.headers["Location"] == f"{sandbox.url}/?error={code}"
    assert stored_sessions(sandbox) == sessions
    log.assert_names_only(code, secrets={"state": query(callback_url)["state"]})
    assert_login_is_over(sandbox, browser, callback_url, consumed=consumed)


@pytest.mark.parametrize("operation", [TOKEN, USERINFO], ids=["token", "userinfo"])
def test_a_provider_that_never_answers_fails_the_callback_within_the_timeout(
    sandbox: Sandbox, faults: SandboxFaults, operation: str
) -> None:
    assert "error=" not in Browser(sandbox.url).login().headers["Location"]  # a warm container, JWKS and secret cached
    browser = Browser(sandbox.url)
    callback_url = provider_redirect(browser.start_login().headers["Location"])
    before = faults.sgid.seen(operation)
    faults.sgid.inject(operation, HANG)

    started = time.monotonic()
    failed = browser.get(callback_url)
    elapsed = time.monotonic() - started

    assert failed.headers["Location"] == f"{sandbox.url}/?error={PROVIDER_DOWN}"
    assert faults.sgid.seen(operation) - before == 1  # a read that timed out is not worth another wait, even a GET
    assert HTTP_TIMEOUT_SECONDS <= elapsed < 2 * HTTP_TIMEOUT_SECONDS


def test_the_token_call_is_sent_once_while_the_jwks_is_fetched_again(sandbox: Sandbox, faults: SandboxFaults) -> None:
    browser = Browser(sandbox.url)
    callback_url = provider_redirect(browser.start_login().headers["Location"])
    sandbox.pools["CallbackFunction"].retire_idle()
    faults.sgid.inject(JWKS, answer(503), times=2)

    done = browser.get(callback_url)

    assert done.headers["Location"] == f"{sandbox.url}/"  # the third JWKS fetch answered
    assert faults.sgid.seen(JWKS) == 3
    assert faults.sgid.seen(TOKEN) == 1


@pytest.mark.parametrize(
    ("proxy", "operation", "fault"),
    [
        ("dynamodb", "PutItem", aws_error("ProvisionedThroughputExceededException")),
        ("aws", "Decrypt", aws_error("ThrottlingException")),
    ],
    ids=["dynamodb", "kms"],
)
def test_a_throttle_that_passes_is_absorbed_by_botocores_retries(
    sandbox: Sandbox, faults: SandboxFaults, proxy: str, operation: str, fault: Fault
) -> None:
    browser = Browser(sandbox.url)
    callback_url = provider_redirect(browser.start_login().headers["Location"])
    before = getattr(faults, proxy).seen(operation)
    getattr(faults, proxy).inject(operation, fault, times=2)

    done = browser.get(callback_url)

    assert done.headers["Location"] == f"{sandbox.url}/"
    assert getattr(faults, proxy).seen(operation) - before == 3
    assert browser.api("/api/me").json()["person"]["myinfo.nric_number"] == SANDBOX_PERSONA


@pytest.mark.parametrize(
    "fault", [aws_error("ProvisionedThroughputExceededException", 400, CANARY), HANG], ids=["throttled", "times-out"]
)
def test_a_login_dynamodb_cannot_store_goes_back_to_the_frontend_with_a_code(
    sandbox: Sandbox, faults: SandboxFaults, faulty_log: Path, fault: Fault
) -> None:
    browser = Browser(sandbox.url)
    transactions = {item["pk"]["S"] for item in items(sandbox, "txn#")}
    log = LogCapture(faulty_log)
    faults.dynamodb.inject("PutItem", fault)

    failed = browser.start_login("/here")

    assert failed.status_code == 302
    assert failed.headers["Location"] == f"{sandbox.url}/here?error={UNAVAILABLE}"
    assert LOGIN not in browser.cookies
    assert faults.dynamodb.seen("PutItem") == 3
    assert {item["pk"]["S"] for item in items(sandbox, "txn#")} == transactions
    log.assert_names_only(UNAVAILABLE, secrets={})


@pytest.mark.parametrize(
    ("route", "method", "operation", "fault"),
    [
        ("/api/me", "GET", "GetItem", aws_error("ThrottlingException", 400, CANARY)),
        ("/api/me", "GET", "GetItem", HANG),
        ("/auth/logout", "POST", "DeleteItem", aws_error("ProvisionedThroughputExceededException", 400, CANARY)),
    ],
    ids=["me-throttled", "me-times-out", "logout-throttled"],
)
def test_an_api_call_dynamodb_cannot_serve_answers_503_json_and_keeps_the_session(
    sandbox: Sandbox, faults: SandboxFaults, faulty_log: Path, route: str, method: str, operation: str, fault: Fault
) -> None:
    browser = Browser(sandbox.url)
    browser.login()
    session_id = browser.cookies[SESSION]
    log, before = LogCapture(faulty_log), faults.dynamodb.seen(operation)
    faults.dynamodb.inject(operation, fault)

    failed = browser.api(route, method)

    assert failed.status_code == 503
    assert failed.json() == {"error": UNAVAILABLE}
    assert faults.dynamodb.seen(operation) - before == 3
    assert browser.cookies[SESSION] == session_id  # not logged out by a passing fault
    log.assert_names_only(UNAVAILABLE, secrets={"session id": session_id})
    faults.reset()
    assert browser.api("/api/me").status_code == 200


def test_the_jwks_route_answers_503_json_when_kms_cannot_give_the_public_keys(
    sandbox: Sandbox, faults: SandboxFaults, faulty_log: Path
) -> None:
    sandbox.pools["JwksFunction"].retire_idle()  # public keys are read once per container
    log = LogCapture(faulty_log)
    faults.aws.inject("GetPublicKey", aws_error("KMSInternalException", 500, CANARY))

    failed = Browser(sandbox.url).get("/.well-known/jwks.json")

    assert failed.status_code == 503
    assert failed.json() == {"error": UNAVAILABLE}
    log.assert_names_only(UNAVAILABLE, secrets={})
    faults.reset()
    assert Browser(sandbox.url).get("/.well-known/jwks.json").json()["keys"]


def stored_sessions(sandbox: Sandbox) -> set[str]:
    return {item["pk"]["S"] for item in items(sandbox, "session#")}


def assert_login_is_over(sandbox: Sandbox, browser: Browser, callback_url: str, *, consumed: bool) -> None:
    """The same callback, with the faults gone, is refused: the browser's login cookie is spent, and unless
    DynamoDB failed to consume it, so is the transaction (a failed consume leaves it to TTL, unusable
    without the binding only that cookie held)."""
    retry = browser.get(callback_url)
    assert retry.headers["Location"] == f"{sandbox.url}/?error=invalid_state"
    assert SESSION not in browser.cookies
    state_key = "txn#" + digest(query(callback_url)["state"])
    assert (state_key in {item["pk"]["S"] for item in items(sandbox, "txn#")}) is not consumed


class LogCapture:
    """The handlers' log lines written from now on (a worker writes its lines before it answers)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._start = path.stat().st_size

    def text(self) -> str:
        with self._path.open("rb") as log:
            log.seek(self._start)
            return log.read().decode()

    def assert_names_only(self, code: str, secrets: dict[str, str]) -> None:
        """A line names ``code``; no line carries upstream text, tokens, secrets or personal data."""
        text = self.text()
        lines: list[dict[str, Any]] = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        assert any(line.get("error_code") == code for line in lines), f"no log line names {code}"
        forbidden = {**secrets, **SANDBOX_SECRETS, "canary": CANARY, "persona": SANDBOX_PERSONA}
        for name, value in forbidden.items():
            assert value not in text, f"{name} appears in the log"
        for marker in ("eyJ", "Bearer ", "BEGIN PRIVATE KEY", "Traceback"):
            assert marker not in text, f"{marker!r} appears in the log"
