"""No token, key, secret, cookie, state or personal data reaches the handlers' logs during a full login."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from infra.sandbox.browser import Browser, provider_redirect, query
from infra.sandbox.stack import Sandbox
from tests.integration.leaks import assert_none_in, login_secrets, personal_data


@pytest.mark.parametrize("provider", ["sgid", "oidc", "oauth2", "sp", "sp-data", "cp", "cp-data", "myinfo-v3", "mi-v4"])
def test_a_full_login_logs_nothing_secret_or_personal(sandbox: Sandbox, handler_log: Path, provider: str) -> None:
    browser = Browser(sandbox.url)
    start = handler_log.stat().st_size
    authorize = browser.start_login("/private", provider).headers["Location"]
    login_cookie = browser.cookies["__Host-sgw_login"]
    callback_url = provider_redirect(authorize)
    browser.get(callback_url)
    session_id = browser.cookies["__Host-sgw_session"]
    me = browser.api("/api/me").json()
    browser.api("/auth/logout", method="POST")
    browser.get(callback_url)  # a rejected replay logs a warning too
    refused_authorize = browser.start_login("/private", provider).headers["Location"]
    refused_login_cookie = browser.cookies["__Host-sgw_login"]
    refused_url = provider_redirect(refused_authorize)  # a second login, which the person refuses:
    refusal = urlencode({"state": query(refused_url)["state"], "error": "access_denied"})
    assert "error=access_denied" in browser.get(refused_url.split("?")[0] + "?" + refusal).headers["Location"]
    time.sleep(0.2)
    with handler_log.open("rb") as log:
        log.seek(start)
        text = log.read().decode()

    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    messages = [record["message"] for record in records if "_aws" not in record]
    assert {"login started", "login completed", "callback rejected", "login failed"} <= set(messages)
    metrics = [record for record in records if "_aws" in record]  # CloudWatch EMF documents
    published = {(name, record.get("provider"), record.get("call")) for record in metrics for name in names(record)}
    assert {("LoginStarted", provider, None), ("LoginSucceeded", provider, None)} <= published
    assert ("UpstreamLatency", provider, "token") in published
    codes = {(name, record.get("error_code")) for record in metrics for name in names(record)}
    assert ("CallbackRejected", "invalid_state") in codes  # the replay: it spent no login
    assert ("LoginFailed", "access_denied") in codes  # the refused login
    assert ("LoginFailed", "invalid_state") not in codes
    for record in metrics:  # every dimension value comes from a closed set
        assert set(record) - names(record) <= {"_aws", "service", "provider", "call", "error_code", "function_name"}
        assert record.get("provider", provider) == provider
        assert record.get("call", "token") in {
            "discovery",
            "jwks",
            "par",
            "token",
            "userinfo",
            "person",
            "revocation",
            "introspection",
        }
    cookies = {"session id": session_id, "login cookie": login_cookie, "refused login cookie": refused_login_cookie}
    secrets = login_secrets(authorize, callback_url, refused_url, cookies, me)
    personal = personal_data(me)
    if provider == "oauth2":
        assert "access permissions 1" in personal  # the login read real permissions
    if provider in ("cp", "cp-data"):
        assert {"entity name", "act sub"} <= set(personal)  # the login read real entity data
    assert_none_in(text, {**secrets, **personal}, "logs")


def names(document: dict[str, object]) -> set[str]:
    """The metric names an EMF document publishes."""
    directives = document["_aws"]["CloudWatchMetrics"]  # type: ignore[index]
    return {metric["Name"] for directive in directives for metric in directive["Metrics"]}
