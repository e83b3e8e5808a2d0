"""The integration suite runs against one sandbox stack: real handlers, DynamoDB Local, moto and MockPass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.sandbox.browser import Browser
from infra.sandbox.stack import Sandbox, SandboxOptions, run_sandbox


@pytest.fixture(scope="session")
def handler_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs") / "handlers.log"


@pytest.fixture(scope="session")
def sandbox(handler_log: Path) -> Iterator[Sandbox]:
    with handler_log.open("ab") as log, run_sandbox(SandboxOptions(show_login_page=False, handler_log=log)) as stack:
        yield stack


@pytest.fixture
def browser(sandbox: Sandbox) -> Browser:
    return Browser(sandbox.url)
