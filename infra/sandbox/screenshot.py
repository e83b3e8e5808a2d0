"""``make screenshot``: log in to the sandbox with MyInfo v4 and save the demo's data card as docs/data-card.png.

Run by hand when the page changes, never by the tests (which must not write into the repository).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

from .chromium import launch_chromium
from .stack import ROOT, SandboxOptions, run_sandbox

DEFAULT_OUTPUT = ROOT / "docs" / "data-card.png"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.sandbox.screenshot", description=__doc__)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"default {DEFAULT_OUTPUT}")
    args = parser.parse_args()
    with (
        open("/dev/null", "ab") as quiet,
        run_sandbox(SandboxOptions(show_login_page=False, handler_log=quiet)) as sandbox,
        sync_playwright() as playwright,
    ):
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 760, "height": 1000}, device_scale_factor=2, color_scheme="light")
        page.goto(sandbox.url)
        page.get_by_role("button", name="Log in with MyInfo v4").click()  # the persona logs in without a form
        page.wait_for_url(sandbox.url + "/")
        page.locator("#profile").wait_for()
        page.locator(".card").screenshot(path=str(args.output), animations="disabled", caret="hide")
        browser.close()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
