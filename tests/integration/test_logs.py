"""No token, key, secret, cookie, state or personal data reaches the handlers' logs during a full login."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from infra.sandbox.browser import Browser, provider_redirect, query
from infra.sandbox.stack import SANDBOX_SECRETS, Sandbox


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
    secrets = {
        "session id": session_id,
        "login cookie": login_cookie,
        "state": query(callback_url)["state"],
        "code": query(callback_url)["code"],
        "refused login cookie": refused_login_cookie,
        "refused state": query(refused_url)["state"],
        "refused code": query(refused_url)["code"],
        **{f"secret {name}": value for name, value in SANDBOX_SECRETS.items()},
        "sub": me["sub"],
        "sub uuid": me["sub"].removeprefix("u="),
    }
    if "nonce" in query(authorize):
        secrets["nonce"] = query(authorize)["nonce"]
    if "request_uri" in query(authorize):
        secrets["request_uri"] = query(authorize)["request_uri"]
    personal = {name: value for name, value in me["person"].items() if isinstance(value, str) and len(value) > 3}
    # A Corppass login's entity (UEN, name), acting user and e-service roles are as personal as the person.
    personal |= {f"entity {name}": value for name, value in strings(me.get("entity"))}
    personal |= {f"act {name}": value for name, value in strings(me.get("act"))}
    personal |= {f"authorisation {name}": value for name, value in strings(me.get("authorisations"))}
    # What a plain OAuth 2.0 token grants the person (their permissions) is theirs too.
    personal |= {f"access {name}": value for name, value in strings(me.get("access"))}
    if provider == "oauth2":
        assert "access permissions 1" in personal  # the login read real permissions
    if provider in ("cp", "cp-data"):
        assert {"entity name", "act sub"} <= set(personal)  # the login read real entity data
    for name, value in {**secrets, **personal}.items():
        for fragment in [value, *value.splitlines()]:
            assert fragment not in text, f"{name} appears in the logs"
    for marker in ("eyJ", "Bearer ", "DPoP ", "PKI_SIGN", "BEGIN PRIVATE KEY", "/private", '"d":'):
        assert marker not in text, f"{marker!r} appears in the logs"


def names(document: dict[str, object]) -> set[str]:
    """The metric names an EMF document publishes."""
    directives = document["_aws"]["CloudWatchMetrics"]  # type: ignore[index]
    return {metric["Name"] for directive in directives for metric in directive["Metrics"]}


def strings(value: object, path: str = "") -> list[tuple[str, str]]:
    """Every string longer than three characters in a nested value, with where it is; digits alone only from six
    on, since a shorter number (an authorisation's limit, "5000") turns up by chance in the logs' timestamps."""
    if isinstance(value, dict):
        return [found for name, nested in value.items() for found in strings(nested, f"{path} {name}".strip())]
    if isinstance(value, list):
        return [found for index, nested in enumerate(value) for found in strings(nested, f"{path} {index}".strip())]
    if not isinstance(value, str) or len(value) <= 3 or (value.isdigit() and len(value) < 6):
        return []
    return [(path, value)]
