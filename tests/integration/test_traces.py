"""No token, key, secret, cookie, state or personal data reaches X-Ray during a full login, with tracing on.

A sandbox of its own runs with the template's Tracing Active and a stand-in X-Ray daemon (infra/sandbox/xray.py)
that keeps every document the handlers' X-Ray SDK sends; each provider type's login is driven as in test_logs.py
and everything sent is searched for the login's secrets and the person's data. MyInfo v3's person URL carries the
NRIC and v4's the person's UUID, so a trace that recorded provider URLs would fail here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from infra.sandbox.browser import Browser, provider_redirect, query
from infra.sandbox.stack import SANDBOX_PERSONA, Sandbox, SandboxOptions, run_sandbox
from infra.sandbox.xray import XrayCollector
from tests.integration.leaks import assert_none_in, login_secrets, personal_data

PROVIDERS = ["sgid", "oidc", "oauth2", "sp", "sp-data", "cp", "cp-data", "myinfo-v3", "mi-v4"]


@pytest.fixture(scope="module")
def collector() -> Iterator[XrayCollector]:
    with XrayCollector() as daemon:
        yield daemon


@pytest.fixture(scope="module")
def traced_sandbox(collector: XrayCollector, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    log_path: Path = tmp_path_factory.mktemp("traces") / "handlers.log"
    with (
        log_path.open("ab") as log,
        run_sandbox(SandboxOptions(show_login_page=False, handler_log=log, xray_daemon=collector.address)) as stack,
    ):
        yield stack


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_full_login_traces_nothing_secret_or_personal(
    traced_sandbox: Sandbox, collector: XrayCollector, provider: str
) -> None:
    browser = Browser(traced_sandbox.url)
    start = len(collector.texts())
    authorize = browser.start_login("/private", provider).headers["Location"]
    login_cookie = browser.cookies["__Host-sgw_login"]
    callback_url = provider_redirect(authorize)
    assert "error=" not in browser.get(callback_url).headers["Location"]
    session_id = browser.cookies["__Host-sgw_session"]
    me = browser.api("/api/me").json()
    browser.api("/auth/logout", method="POST")
    browser.cookies["__Host-sgw_login"] = login_cookie  # a replay, cookie and all: DynamoDB refuses to spend the
    assert "error=invalid_state" in browser.get(callback_url).headers["Location"]  # transaction twice (an AWS error)
    refused_authorize = browser.start_login("/private", provider).headers["Location"]
    refused_login_cookie = browser.cookies["__Host-sgw_login"]
    refused_url = provider_redirect(refused_authorize)
    refusal = urlencode({"state": query(refused_url)["state"], "error": "access_denied"})
    browser.get(refused_url.split("?")[0] + "?" + refusal)
    time.sleep(0.3)  # the last datagrams on their way
    texts = collector.texts()[start:]
    text = "\n".join(texts)
    documents = [json.loads(sent) for sent in texts]
    entities = [entity for document in documents for entity in walk(document)]

    cookies = {"session id": session_id, "login cookie": login_cookie, "refused login cookie": refused_login_cookie}
    secrets = {**login_secrets(authorize, callback_url, refused_url, cookies, me), "persona": SANDBOX_PERSONA}
    assert_none_in(text, {**secrets, **personal_data(me)}, "traces")

    # What the traces show: each handler, each provider call by provider and call kind, each AWS call.
    assert {"## lambda_handler"} <= {entity["name"] for entity in entities}
    calls = {(entity["annotations"].get("provider"), entity["annotations"].get("call")) for entity in entities if
             "annotations" in entity and "call" in entity["annotations"]}  # fmt: skip
    assert (provider, "token") in calls
    assert {"dynamodb", "kms"} <= {entity["name"] for entity in entities if entity.get("namespace") == "aws"}
    # ...and what they never carry: a URL's path or query, an exception's message, free-form metadata.
    for entity in entities:
        url = entity.get("http", {}).get("request", {}).get("url")
        if url is not None:
            assert urlsplit(url).path in ("", "/"), url
            assert not urlsplit(url).query, url
        for exception in entity.get("cause", {}).get("exceptions", []) if isinstance(entity.get("cause"), dict) else []:
            assert set(exception) <= {"id", "type", "remote", "stack"}, exception
        assert "metadata" not in entity, entity["name"]
    assert any(  # the replay's refusal is recorded, by its class alone
        exception.get("type") == "ConditionalCheckFailedException"
        for entity in entities
        if isinstance(entity.get("cause"), dict)
        for exception in entity["cause"].get("exceptions", [])
    )


def walk(entity: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A trace document and the subsegments nested in it."""
    yield entity
    for child in entity.get("subsegments", []):
        yield from walk(child)
