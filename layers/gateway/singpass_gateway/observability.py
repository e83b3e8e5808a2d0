"""Logs, metrics and optional traces. Each carries provider ids, error codes and call kinds, never tokens or
personal data.

Metrics are CloudWatch embedded metric format (EMF) documents printed to stdout: CloudWatch Logs turns them into
metrics in :data:`NAMESPACE`, with no API call and no IAM permission. Every dimension value comes from a closed
set (a configured provider id or ``unknown``, a stable error code, a call kind), so a request can neither add
metrics (each distinct dimension value is one more billed metric) nor put its own text into one. Each measurement
is its own document, because its dimensions differ from its neighbours' (Powertools' shared ``Metrics`` would
flush one dimension set per invocation for all of them); it is published twice, by its own dimensions and by
``service`` alone, which is what the alarms and the totals on the dashboard read. ``template.yaml`` names these
metrics; tests/unit/test_metrics.py checks that it names them as they are emitted.
"""

from __future__ import annotations

import contextlib
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Literal, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from . import settings as configuration

NAMESPACE = "SingpassGateway"
SERVICE = "singpass-gateway"
UNKNOWN_PROVIDER = "unknown"
"""The provider dimension of a request naming no configured provider: the URL's text never becomes a dimension."""

UpstreamCall = Literal["discovery", "jwks", "par", "token", "userinfo", "person", "revocation", "introspection"]
"""What a provider call is for: the ``call`` dimension of the upstream metrics."""

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
"""The handlers' ``log_metrics`` publishes Powertools' ColdStart metric (by function) through it."""
# A warm invocation that measured nothing through the shared Metrics is the normal case here, not a mistake.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

_upstream_provider: ContextVar[str] = ContextVar("upstream_provider", default=UNKNOWN_PROVIDER)
Handler = TypeVar("Handler", bound=Callable[..., Any])


def log_unexpected(error: BaseException) -> None:
    """Log a bug's type and stack frames, but not its message: third-party messages can echo request data."""
    frames = traceback.format_tb(error.__traceback__)
    logger.error("unexpected error", extra={"exception_type": type(error).__name__, "stack": frames})


def count_login_started(provider: str) -> None:
    _publish("LoginStarted", MetricUnit.Count, 1, provider=provider)


def count_login_succeeded(provider: str) -> None:
    _publish("LoginSucceeded", MetricUnit.Count, 1, provider=provider)


def count_login_failed(provider: str, error_code: str) -> None:
    """A started login that ended in failure: begin_login failing after counting it started, or a callback that
    spent the login's transaction (or, the table failing, may have). A login's transaction is spent once, so each
    LoginStarted ends at most once, and LoginFailed / LoginStarted is a rate the login failure alarm can read."""
    _publish("LoginFailed", MetricUnit.Count, 1, provider=provider, error_code=error_code)


def count_callback_rejected(provider: str, error_code: str) -> None:
    """A callback refused before it spent a login's transaction: no state or login cookie, state that is forged,
    replayed, expired or another browser's, or a provider id no provider has (``unknown``). Anyone can send these,
    and a person's own reload or back button does, so they are not failed logins: no LoginStarted matches them, and
    counted as LoginFailed a handful of junk requests would page the login failure alarm (its rate past 100%)."""
    _publish("CallbackRejected", MetricUnit.Count, 1, provider=provider, error_code=error_code)


@contextlib.contextmanager
def calls_for(provider: str) -> Iterator[None]:
    """Attribute the provider calls made inside to ``provider``: the HTTP client and JWKS cache are shared by
    every provider, so the flow that chose the provider names it once for everything beneath."""
    token = _upstream_provider.set(provider)
    try:
        yield
    finally:
        _upstream_provider.reset(token)


def record_upstream_answer(call: UpstreamCall, milliseconds: float, status: int) -> None:
    """A provider's complete answer: its latency, and a failure when it is a server error (5xx)."""
    provider = _upstream_provider.get()
    _publish("UpstreamLatency", MetricUnit.Milliseconds, milliseconds, provider=provider, call=call)
    if status >= 500:
        _publish("UpstreamFailure", MetricUnit.Count, 1, provider=provider, call=call)


def record_upstream_failure(call: UpstreamCall) -> None:
    """A provider call that brought no usable answer: refused, dropped, timed out, or oversized."""
    _publish("UpstreamFailure", MetricUnit.Count, 1, provider=_upstream_provider.get(), call=call)


def traced(handler: Handler) -> Handler:
    """X-Ray traces of the handler and of its provider (requests) and AWS (botocore) calls when the deployment
    turns tracing on; otherwise the handler itself, and the X-Ray SDK is never imported (it would add hundreds of
    milliseconds to every cold start)."""
    if not configuration.tracing_enabled():
        return handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=SERVICE, patch_modules=("requests", "botocore"))
    # Neither the response (it sets cookies) nor an error's message (it may echo request data) joins the trace.
    return cast(Handler, tracer.capture_lambda_handler(handler, capture_response=False, capture_error=False))


def _publish(name: str, unit: MetricUnit, value: float, **dimensions: str) -> None:
    """Print one EMF document. Metrics are published from inside logins and provider calls, so a failure here (a
    Powertools schema check, a bug) is logged and swallowed: a login must never fail for the sake of a metric."""
    try:
        document = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
        for dimension, dimension_value in dimensions.items():
            document.add_dimension(dimension, dimension_value)
        document.add_dimensions(service=SERVICE)
        document.add_metric(name=name, unit=unit, value=value)
        document.flush_metrics()
    except Exception as error:
        logger.warning("metric not published", extra={"metric": name})
        log_unexpected(error)
