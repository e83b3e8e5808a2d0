"""The frontend kit (frontend/gateway.js) itself, imported by pages in Chromium and run against the sandbox."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, Request

from infra.sandbox.stack import ROOT, SANDBOX_OTHER_FRONTEND, Sandbox

KIT = ROOT / "frontend" / "gateway.js"


def serve_other_frontend(page: Page) -> None:
    """Answer for the static site on SANDBOX_OTHER_FRONTEND (an origin the gateway allows): an empty page and the
    kit, and let it reach the sandbox on 127.0.0.1, which Chromium's Local Network Access otherwise asks a
    person to allow."""
    page.route(
        SANDBOX_OTHER_FRONTEND + "/", lambda route: route.fulfill(content_type="text/html", body="<title>site</title>")
    )
    page.route(
        SANDBOX_OTHER_FRONTEND + "/gateway.js",
        lambda route: route.fulfill(content_type="text/javascript", body=Path(KIT).read_text()),
    )
    cdp = page.context.new_cdp_session(page)
    context_id = cdp.send("Target.getTargetInfo")["targetInfo"]["browserContextId"]
    cdp.send(
        "Browser.grantPermissions",
        {"origin": SANDBOX_OTHER_FRONTEND, "permissions": ["loopbackNetwork"], "browserContextId": context_id},
    )


RECORD_FETCHES = """
window.fetches = [];
const fetch = window.fetch;
window.fetch = (url, init) => {
  window.fetches.push({ url: String(url), credentials: init?.credentials });
  return fetch(url, init);
};
"""
"""Keeps what each fetch asked for: Chromium sends no cookie cross-site here (the session cookie is SameSite=Strict),
so the credentials mode is only visible in the call itself."""


def test_a_base_url_on_another_origin_makes_credentialed_cors_calls(page: Page, sandbox: Sandbox) -> None:
    serve_other_frontend(page)
    page.add_init_script(RECORD_FETCHES)
    requests: list[Request] = []
    page.on("requestfinished", lambda request: requests.append(request) if "/api/" in request.url else None)
    page.goto(SANDBOX_OTHER_FRONTEND + "/")

    result = page.evaluate(
        """async (baseUrl) => {
            const kit = await import('/gateway.js');
            const gateway = kit.configure({ baseUrl: baseUrl + '/' });
            return { baseUrl: gateway.baseUrl, providers: await kit.providers(), me: await kit.me() };
        }""",
        sandbox.url,
    )

    assert result["baseUrl"] == sandbox.url
    assert {"id": "sgid", "name": "Singpass app (sgID)"} in result["providers"]  # CORS let the page read it
    assert result["me"] is None  # no session cookie crosses sites
    fetches = page.evaluate("window.fetches")
    assert fetches == [
        {"url": f"{sandbox.url}/api/providers", "credentials": "include"},
        {"url": f"{sandbox.url}/api/me", "credentials": "include"},
    ]
    providers = next(request for request in requests if request.url.endswith("/api/providers"))
    assert providers.header_value("origin") == SANDBOX_OTHER_FRONTEND
    assert providers.header_value("x-csrf") == "1"
    response = providers.response()
    assert response is not None
    assert response.header_value("access-control-allow-origin") == SANDBOX_OTHER_FRONTEND
    assert response.header_value("access-control-allow-credentials") == "true"


def test_a_login_from_another_origin_goes_to_the_configured_gateway(page: Page, sandbox: Sandbox) -> None:
    serve_other_frontend(page)
    page.goto(SANDBOX_OTHER_FRONTEND + "/")
    navigations: list[str] = []
    page.on("request", lambda request: navigations.append(request.url) if request.is_navigation_request() else None)

    page.evaluate(
        """async (baseUrl) => {
            const kit = await import('/gateway.js');
            kit.configure({ baseUrl });
            kit.login('sgid', '//evil.example/');  // not a path on the frontend: "/" instead
        }""",
        sandbox.url,
    )

    page.wait_for_url(re.compile(re.escape(sandbox.mockpass_url) + r"/v2/oauth/authorize"))
    assert navigations[0] == f"{sandbox.url}/auth/sgid/login?return_to=%2F"


def test_same_origin_calls_send_credentials_same_origin_only(page: Page, sandbox: Sandbox) -> None:
    page.add_init_script(RECORD_FETCHES)
    page.goto(sandbox.url)

    page.evaluate("async () => (await import('/gateway.js')).me()")

    assert page.evaluate("window.fetches").count({"url": "/api/me", "credentials": "same-origin"}) >= 1


def test_an_error_carries_the_gateways_code_from_the_json_body(page: Page, sandbox: Sandbox) -> None:
    other_host = sandbox.url.replace("localhost", "127.0.0.1")  # the same server under a host the gateway refuses
    page.goto(other_host + "/gateway.js")

    error = page.evaluate(
        """async () => {
            const kit = await import('/gateway.js');
            try { await kit.logout(); } catch (e) {
              return { isGatewayError: e instanceof kit.GatewayError, name: e.name, code: e.code, status: e.status,
                       message: e.message, expected: kit.errorMessage('csrf_rejected') };
            }
        }"""
    )

    assert error["isGatewayError"] is True
    assert (error["name"], error["code"], error["status"]) == ("GatewayError", "csrf_rejected", 403)
    assert error["message"] == error["expected"]


def test_no_session_is_null_not_an_error(page: Page, sandbox: Sandbox) -> None:
    page.goto(sandbox.url + "/gateway.js")

    assert page.evaluate("async () => (await import('/gateway.js')).me()") is None  # the API's 401


def test_an_unreachable_gateway_is_a_network_error(page: Page, sandbox: Sandbox) -> None:
    serve_other_frontend(page)  # a page without the demo's CSP, which would block the call before it is made
    page.goto(SANDBOX_OTHER_FRONTEND + "/")

    code = page.evaluate(
        """async () => {
            const kit = await import('/gateway.js');
            kit.configure({ baseUrl: 'http://127.0.0.1:9' });  // nothing listens on the discard port
            try { await kit.providers(); } catch (e) { return e.code; }
        }"""
    )

    assert code == "network_error"


def test_take_login_error_returns_the_code_once_and_cleans_the_address_bar(page: Page, sandbox: Sandbox) -> None:
    page.goto(sandbox.url + "/gateway.js?tab=2&error=login_expired#top")
    history_length = page.evaluate("history.length")

    first, second, none_found = page.evaluate(
        """async () => {
            const kit = await import('/gateway.js');
            const first = kit.takeLoginError();
            return [first, kit.takeLoginError(), first === null];
        }"""
    )

    assert (first, second, none_found) == ("login_expired", None, False)
    assert page.url == sandbox.url + "/gateway.js?tab=2#top"
    assert page.evaluate("history.length") == history_length  # replaced, not a new history entry
