"""Browser tests: Debian's Chromium driven by Playwright against the sandbox with MockPass's login page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from infra.sandbox.chromium import launch_chromium
from infra.sandbox.stack import Sandbox, SandboxOptions, run_sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    log_path = tmp_path_factory.mktemp("e2e-logs") / "handlers.log"
    with log_path.open("ab") as log, run_sandbox(SandboxOptions(show_login_page=True, handler_log=log)) as stack:
        yield stack


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser, sandbox: Sandbox) -> Iterator[Page]:
    """A fresh browser profile. The sandbox serves the site with the Content-Security-Policy CloudFront adds, and
    any violation of it on the site's pages fails the test: the demo must run as deployed."""
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text and message.location.get("url", "").startswith(sandbox.url)
            else None
        ),
    )
    yield page
    context.close()
    assert violations == [], "the page broke the site's Content-Security-Policy"
