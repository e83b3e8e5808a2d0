"""A hostile or broken browser through the local API: tampered, guessed, oversized and malformed input gets a
clean stable answer and costs the honest user nothing; so does a login URL a page loads as an image or a script.
(Replay, forgery, other browsers, open redirects, CSRF and CORS are in test_sgid_login.py.)"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from singpass_gateway.store import digest

from infra.sandbox.browser import Browser, items, provider_redirect, query
from infra.sandbox.stack import Sandbox

SESSION = "__Host-sgw_session"
LOGIN = "__Host-sgw_login"
PAGE = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
"""The Fetch Metadata of a top-level navigation: a click on the login button (``Sec-Fetch-User`` added)."""


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
    "return_to",
    [
        "/a/../admin",  # dot segments, which the browser resolves: plain, encoded, mixed
        "/%2e%2e/admin",
        "/a/%2E/b",
        "/a/.%2e/b",
        "/a/%2E./b",
        "/caf\u00e9",  # non-ASCII, which no Location header carries as it is
        "/\u65e5\u672c",
        "/a\u2028b",
        "/a\u0085b",
        "/%09/evil.example",  # control characters, encoded: a frontend that decodes them gets //evil.example
        "/a%0d%0aSet-Cookie:x=y",
        "/a%5C..%5Cb",  # an encoded backslash
    ],
)
def test_a_return_to_a_browser_or_frontend_would_read_otherwise_is_refused_and_ends_nothing(
    sandbox: Sandbox, browser: Browser, return_to: str
) -> None:
    browser.login()
    before = len(items(sandbox, "txn#"))

    response = browser.get("/auth/sgid/login?" + urlencode({"return_to": return_to}), PAGE)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_return_to"}
    assert len(items(sandbox, "txn#")) == before
    assert browser.api("/api/me").status_code == 200  # the session the browser holds did not end


@pytest.mark.parametrize(
    "query", ["return_to=/a&return_to=//evil.example", "return_to=/a&return_to=/b", "return_to=/a&return%5Fto=/b"]
)
def test_a_return_to_sent_twice_is_refused_and_ends_nothing(sandbox: Sandbox, browser: Browser, query: str) -> None:
    """API Gateway would hand the handler the values joined with a comma (``/a,//evil.example``)."""
    browser.login()
    before = len(items(sandbox, "txn#"))

    response = browser.get("/auth/sgid/login?" + query, PAGE)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_return_to"}
    assert len(items(sandbox, "txn#")) == before
    assert browser.api("/api/me").status_code == 200


@pytest.mark.parametrize(
    "loaded_as",
    [
        {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"},  # <img src=…/auth/sgid/login>
        {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"},  # <script src=…>
        {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"},  # <iframe src=…>
        {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"},  # fetch()
        {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Purpose": "prefetch"},  # a prefetched link
    ],
)
def test_a_login_url_loaded_as_an_image_or_script_leaves_the_session_alive(
    sandbox: Sandbox, browser: Browser, loaded_as: dict[str, str]
) -> None:
    browser.login()
    session = browser.cookies[SESSION]
    before = len(items(sandbox, "txn#"))

    response = browser.get("/auth/sgid/login?return_to=/", {"Sec-Fetch-Site": "same-origin", **loaded_as})

    assert response.status_code == 403
    assert response.json() == {"error": "navigation_required"}
    assert "Set-Cookie" not in response.headers
    assert len(items(sandbox, "txn#")) == before  # nothing stored, nothing asked of the provider
    assert browser.cookies[SESSION] == session
    assert browser.api("/api/me").status_code == 200


def test_a_navigation_to_the_login_still_logs_in_and_the_providers_redirect_still_finishes_it(
    sandbox: Sandbox, browser: Browser
) -> None:
    browser.login()
    held = browser.cookies[SESSION]

    authorize = browser.get("/auth/sgid/login?return_to=/account", {**PAGE, "Sec-Fetch-User": "?1"})

    assert authorize.status_code == 302
    assert browser.api("/api/me").status_code == 401  # the held session ended as the login started
    from_provider = {**PAGE, "Sec-Fetch-Site": "cross-site"}
    callback = browser.get(provider_redirect(authorize.headers["Location"]), from_provider)
    assert callback.headers["Location"] == f"{sandbox.url}/account"
    assert browser.cookies[SESSION] != held
    assert browser.api("/api/me").status_code == 200


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
