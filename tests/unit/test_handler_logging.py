"""The handlers never log the event they receive, whatever the environment says: an event carries the session and
login cookies, the authorization code and state, and Powertools logs the whole of it when
POWERTOOLS_LOGGER_LOG_EVENT is true and a decorator does not pin ``log_event`` off."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

import pytest
from singpass_gateway.observability import logger

from tests.unit.fakes import load_handler

HANDLERS = sorted(path.parent.name for path in (Path(__file__).resolve().parents[2] / "functions").glob("*/app.py"))
COOKIE_SECRET = "session-secret-value-that-must-not-be-logged"
CODE = "authorization-code-that-must-not-be-logged"


@dataclass
class LambdaContext:
    function_name: str = "Function-physical"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:ap-southeast-1:1:function:f"
    aws_request_id: str = "req-1"


def event() -> dict[str, object]:
    return {
        "version": "2.0",
        "routeKey": "GET /auth/{provider}/callback",
        "rawPath": "/auth/sp/callback",
        "rawQueryString": f"code={CODE}&state=s",
        "cookies": [f"__Host-sgw_session={COOKIE_SECRET}"],
        "headers": {"host": "app.example"},
        "queryStringParameters": {"code": CODE, "state": "s"},
        "pathParameters": {"provider": "sp"},
        "requestContext": {"requestId": "r-1", "http": {"method": "GET", "path": "/auth/sp/callback"}},
        "isBase64Encoded": False,
    }


class Recorder(logging.Handler):
    """Every record the gateway's logger emits, formatted by Powertools' own formatter."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(str(record.getMessage()))


@pytest.mark.parametrize("name", HANDLERS)
def test_no_handler_logs_its_event_even_when_the_environment_asks(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    handler = load_handler(name)
    recorder = Recorder()
    logger._logger.addHandler(recorder)  # Powertools keeps its standard logger there
    level = logger._logger.level
    logger.setLevel(logging.INFO)  # the level Powertools logs an event at, whatever an earlier test left
    try:
        with contextlib.suppress(Exception):  # a handler without its gateway fails after the decorator's logging
            handler.lambda_handler(event(), LambdaContext())
    finally:
        logger._logger.removeHandler(recorder)
        logger.setLevel(level)

    logged = "\n".join(recorder.lines)
    assert COOKIE_SECRET not in logged
    assert CODE not in logged
