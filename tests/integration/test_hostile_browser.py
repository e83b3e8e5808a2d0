"""A hostile or broken browser through the local API: tampered, guessed, oversized and malformed input gets a
clean stable answer and costs the honest user nothing. (Replay, forgery, other browsers, open redirects, CSRF
and CORS are in test_sgid_login.py.)"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests
from singpass_gateway.store import digest

from infra.sandbox.browser import Browser, items, provider_redirect, query
from infra.sandbox.stack import Sandbox

SESSION = "__Host-sgw_session"
LOGIN = "__Host-sgw_login"


def flip(value: str) -> str:
    """``value`` with its last character changed, as a tampering browser would send it."""
    return value[:-1] + ("A" if value[-1] != "A" else "B")


def test_a_tampered_session_cookie_is_refused_and_the_real_session_survives(browser: Browser) -> None:
    browser.login()
    real = browser.cookies[SESSION]

    for forged in (flip(real), real + "A", real[:-1], real.upper(), ""):
        response = requests.get(
            browser.base_url + "/api/me", headers={"Cookie": f"{SESSION}={forged}", "X-CSRF": "1"}, timeout=10
        )
        assert response.status_code == 401, forged
        assert response.json() == {"error": "not_authenticated"}
    assert browser.api("/api/me").status_code == 200


def test_a_tampered_login_cookie_spends_nothing(sandbox: Sandbox, browser: Browser) -> None:
    callback_url = provider_redirect(browser.start_login().headers["Location"])
    real = browser.cookies[LOGIN]

    browser.cookies[LOGIN] = flip(real)
    assert browser.get(callback_url).headers["Location"].endswith("?error=invalid_state")
    browser.cookies[LOGIN] = real
    assert browser.get(callback_url).headers["Location"] == f"{sandbox.url}/"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/auth/sgid/callback?state=" + "s" * 5000 + "&code=c", "invalid_state"),
        ("/auth/sgid/callback?state=%FF%FE%00&code=c", "invalid_state"),
        ("/auth/sgid/callback?state=a&state=b&code=c", "invalid_state"),
        ("/auth/sgid/callback?error=" + "x" * 5000, "invalid_state"),
    ],
)
def test_oversized_or_malformed_callback_parameters_get_a_clean_code(browser: Browser, path: str, code: str) -> None:
    browser.start_login()  # a login cookie is present, so only the parameters are wrong
    response = browser.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"?error={code}")
    assert LOGIN in browser.cookies  # the browser's own login in progress is left alone


def test_an_oversized_code_for_a_real_login_is_refused_and_spends_it(sandbox: Sandbox, browser: Browser) -> None:
    state = query(browser.start_login().headers["Location"])["state"]

    response = browser.get(f"/auth/sgid/callback?state={state}&code={'c' * 5000}")

    assert response.headers["Location"].endswith("?error=invalid_request")
    assert not [item for item in items(sandbox, "txn#") if item["pk"]["S"] == "txn#" + digest(state)]


@pytest.mark.parametrize(
    "return_to", ["/" + "a" * 2000, "/\r\nSet-Cookie:x=y", "/\x7f", "/\\evil.example", "javascript:alert(1)"]
)
def test_oversized_or_hostile_return_to_is_refused(sandbox: Sandbox, browser: Browser, return_to: str) -> None:
    before = len(items(sandbox, "txn#"))
    response = requests.get(
        sandbox.url + "/auth/sgid/login", params={"return_to": return_to}, allow_redirects=False, timeout=10
    )

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_return_to"}
    assert len(items(sandbox, "txn#")) == before


@pytest.mark.parametrize(
    "cookie_header",
    [
        "garbage-without-equals",
        f"{SESSION}",
        f"{SESSION}=; {SESSION}=also",
        f"{SESSION}=" + "x" * 4000,
        f"{SESSION}=\u00e9\u00e8",
        ";;;===;",
    ],
)
def test_malformed_or_oversized_cookies_are_simply_not_a_session(sandbox: Sandbox, cookie_header: str) -> None:
    response = requests.get(
        sandbox.url + "/api/me",
        headers={"Cookie": cookie_header.encode("utf-8").decode("latin-1"), "X-CSRF": "1"},
        timeout=10,
    )

    assert response.status_code == 401
    assert response.json() == {"error": "not_authenticated"}


def test_headers_beyond_the_api_limit_are_refused_before_any_handler(sandbox: Sandbox) -> None:
    response = requests.get(sandbox.url + "/api/me", headers={"X-CSRF": "1", "X-Padding": "p" * 11_000}, timeout=10)

    assert response.status_code in (400, 413, 431)
    assert "Set-Cookie" not in response.headers


def test_a_planted_session_cookie_does_not_survive_a_login(sandbox: Sandbox, browser: Browser) -> None:
    attacker = Browser(sandbox.url)
    attacker.login()
    planted = attacker.cookies[SESSION]
    browser.cookies[SESSION] = planted  # e.g. set through a vulnerable sibling page before the victim logs in

    browser.login()

    assert browser.cookies[SESSION] != planted
    assert attacker.api("/api/me").status_code == 401  # the planted session ended with the victim's login


def test_an_idle_session_ends(sandbox: Sandbox, browser: Browser) -> None:
    browser.login()
    pk = "session#" + digest(browser.cookies[SESSION])
    sandbox.aws_client("dynamodb").update_item(
        TableName=sandbox.table_name,
        Key={"pk": {"S": pk}},
        UpdateExpression="SET seen_at = :long_ago",
        ExpressionAttributeValues={":long_ago": {"N": str(int(time.time()) - 1800)}},
    )

    response = browser.api("/api/me")

    assert response.status_code == 401
    assert not [item for item in items(sandbox, "session#") if item["pk"]["S"] == pk]


def test_every_log_line_of_a_request_carries_that_requests_correlation_id(sandbox: Sandbox, handler_log: Path) -> None:
    start = handler_log.stat().st_size
    browsers = [Browser(sandbox.url) for _ in range(3)]
    for browser in browsers:
        browser.login()
    time.sleep(0.2)
    with handler_log.open("rb") as log:
        log.seek(start)
        lines = [json.loads(line) for line in log.read().decode().splitlines() if line.startswith("{")]

    ours = [line for line in lines if line.get("message") in ("login started", "login completed")]
    assert len(ours) == 6
    assert all(line["level"] in ("INFO", "WARNING", "ERROR") and line["service"] == "singpass-gateway" for line in ours)
    correlation_ids = [line.get("correlation_id") for line in ours]
    assert None not in correlation_ids
    assert len(set(correlation_ids)) == 6  # one per request: login and callback of each browser
