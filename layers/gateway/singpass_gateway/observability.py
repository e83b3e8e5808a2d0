"""Logs, metrics and optional traces. Each carries provider ids, error codes and call kinds, never tokens or
personal data. The invocation's deadline, which every provider call respects, is set here too, by the handler
wrapper :func:`within_time_limit`.

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
import functools
import json
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Literal, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from . import settings as configuration
from .urls import origin_of

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

ANSWER_MARGIN_SECONDS = 1.0
"""What an invocation keeps of its Lambda time to answer after its provider calls (see :func:`within_time_limit`)."""

_upstream_provider: ContextVar[str] = ContextVar("upstream_provider", default=UNKNOWN_PROVIDER)
_deadline: ContextVar[float | None] = ContextVar("deadline", default=None)
"""When the invocation's provider calls must be over, on the :func:`time.monotonic` clock (None: no limit)."""
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


def within_time_limit(handler: Handler) -> Handler:
    """Give each invocation a deadline: Lambda's remaining time less :data:`ANSWER_MARGIN_SECONDS`, which every
    provider call respects (:mod:`singpass_gateway.http`: none starts past it, each is cut short at it, no retry
    waits beyond it), so that a provider too slow for the function's timeout ends the request with the stable
    ``provider_unavailable`` code, a log line and an UpstreamFailure metric, not with Lambda killing it mid-call
    (API Gateway's bare 5xx, with neither). Each function's ``Timeout`` in template.yaml is the whole budget.

    A context without ``get_remaining_time_in_millis`` (a test's) sets no deadline."""

    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if remaining is None:
            return handler(event, context)
        with deadline_in(remaining() / 1000 - ANSWER_MARGIN_SECONDS):
            return handler(event, context)

    return cast(Handler, run)


@contextlib.contextmanager
def deadline_in(seconds: float) -> Iterator[None]:
    """Provider calls made inside are over within ``seconds`` (or by the enclosing deadline, if that is sooner)."""
    deadline = time.monotonic() + seconds
    enclosing = _deadline.get()
    token = _deadline.set(deadline if enclosing is None else min(enclosing, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def seconds_left() -> float | None:
    """Time left before the invocation's deadline (negative once it has passed); None without a deadline."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def traced(handler: Handler) -> Handler:
    """X-Ray traces of the handler, of its AWS calls (botocore) and of its provider calls (:func:`traced_call`)
    when the deployment turns tracing on; otherwise the handler itself, and the X-Ray SDK is never imported (it
    would add hundreds of milliseconds to every cold start).

    Nothing personal or secret joins a trace, whatever the settings. ``requests`` is not patched: the SDK would
    record each provider call's whole URL, and MyInfo's person URLs carry the NRIC (v3) or the person's UUID (v4).
    botocore's traces carry the operation, region, request id and, for DynamoDB, the table (the SDK's allow-list;
    no key, item, KMS or Secrets Manager parameter); its errors, like any exception the SDK records, would carry
    their message, which every document loses on its way out (:func:`_redacting_emitter`). Neither the handler's
    response (it sets cookies) nor its error is captured as metadata, and any metadata is dropped on the way out.
    """
    if not configuration.tracing_enabled():
        return handler
    from aws_lambda_powertools import Tracer
    from aws_xray_sdk.core import xray_recorder  # type: ignore[import-untyped]

    xray_recorder.configure(emitter=_redacting_emitter())
    tracer = Tracer(service=SERVICE, patch_modules=("botocore",))
    return cast(Handler, tracer.capture_lambda_handler(handler, capture_response=False, capture_error=False))


@contextlib.contextmanager
def traced_call(call: UpstreamCall, method: str, url: str) -> Iterator[Callable[[int], None]]:
    """With tracing on, a provider call as an X-Ray subsegment named by its provider and call kind (the
    dimensions of its metrics, also its annotations), with its method and the provider's origin, never the URL's
    path or query; then its status, or the class of the exception that ended it. Yields what records the status.
    """
    if not configuration.tracing_enabled():
        yield _ignore_status
        return
    from aws_xray_sdk.core import xray_recorder

    provider = _upstream_provider.get()
    subsegment = xray_recorder.begin_subsegment(f"{provider} {call}", "remote")
    if subsegment is None:  # no trace to join (outside an invocation)
        yield _ignore_status
        return
    subsegment.put_annotation("provider", provider)
    subsegment.put_annotation("call", call)
    subsegment.put_http_meta("method", method)
    subsegment.put_http_meta("url", _origin(url))
    try:
        yield lambda status: subsegment.put_http_meta("status", status)
    except Exception as error:
        subsegment.add_exception(error, [])  # its class: the emitter drops its message
        raise
    finally:
        xray_recorder.end_subsegment()


def _ignore_status(status: int) -> None:
    pass


def _redacting_emitter() -> Any:
    """The X-Ray SDK's UDP emitter, sending each document as :func:`_redacted` leaves it."""
    from aws_xray_sdk.core.emitters.udp_emitter import (  # type: ignore[import-untyped]
        PROTOCOL_DELIMITER,
        PROTOCOL_HEADER,
        UDPEmitter,
    )

    class RedactingEmitter(UDPEmitter):  # type: ignore[misc]
        def send_entity(self, entity: Any) -> None:
            try:
                document = json.dumps(_redacted(entity.to_dict()), default=str)
                self._send_data(f"{PROTOCOL_HEADER}{PROTOCOL_DELIMITER}{document}")
            except Exception as error:  # as the SDK's own: a trace is never worth failing a request for
                logger.warning("trace not sent", extra={"exception_type": type(error).__name__})

    return RedactingEmitter()


def _redacted(entity: dict[str, Any]) -> dict[str, Any]:
    """A trace document, and the subsegments nested in it, without what a request could have put there: no
    exception message (the class says enough; a message can echo a URL, a body or an upstream's text), no
    metadata (Powertools' captured responses and errors), no SQL, and HTTP URLs cut to their origin. Annotations
    stay: Powertools' (cold start, service) and :func:`traced_call`'s (provider, call) come from closed sets."""
    entity.pop("metadata", None)
    entity.pop("sql", None)
    cause = entity.get("cause")
    if isinstance(cause, dict):
        for exception in cause.get("exceptions", ()):
            exception.pop("message", None)
    request = entity.get("http", {}).get("request")
    if isinstance(request, dict) and "url" in request:
        request["url"] = _origin(str(request["url"]))
    for child in entity.get("subsegments", ()):
        _redacted(child)
    return entity


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL: no user, path, query or fragment."""
    try:
        return origin_of(url)
    except ValueError:  # an unparseable port
        return ""


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
