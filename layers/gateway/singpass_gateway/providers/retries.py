"""Trying a provider call again when the provider says the failure is passing, as Singpass asks its clients to.

Singpass documents ``server_error``, ``temporarily_unavailable`` and its upstream-dependency 502 (spelt
``upstream_depedency_error``) at PAR, token and userinfo, and asks for up to three retries with exponential backoff.
Each retry is a whole new request (the caller's ``send`` makes a fresh client assertion and DPoP proof: a spent
``jti`` would be refused as a replay). Retries stop early when the next wait would take the call past its time
budget, or end past the invocation's deadline (:func:`singpass_gateway.observability.within_time_limit`), so that
a failing provider still leaves the handler time to answer the browser with a stable code.

Only answers are retried, never a request that got none: whether a token request that timed out spent its code is
unknown, and a second wait would outlast the callback's own time limit.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..http import HttpResponse
from ..observability import seconds_left
from . import oauth

TRANSIENT_STATUSES = frozenset({502, 503, 504})
"""Gateway and load-balancer statuses that say nothing about the request itself."""


def is_transient(response: HttpResponse) -> bool:
    """Whether the provider's answer asks to be tried again later (by its status or its OAuth ``error``)."""
    if response.status in TRANSIENT_STATUSES:
        return True
    return response.status >= 400 and oauth.oauth_error(response) in oauth.TRANSIENT_ERRORS


@dataclass(frozen=True)
class RetryPolicy:
    """Up to ``retries`` further attempts, waiting ``base * 2**n`` (capped) with jitter between them."""

    retries: int
    base_seconds: float = 0.25
    cap_seconds: float = 2.0
    budget_seconds: float = 4.0
    """The longest a call may spend waiting and retrying, counted from its first attempt."""
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random  # spreading retries, not a secret

    def run(self, send: Callable[[], HttpResponse]) -> HttpResponse:
        """``send()``'s answer, retried while it is transient and the budget allows; the last answer otherwise."""
        started = self.clock()
        response = send()
        for attempt in range(self.retries):
            if not is_transient(response):
                break
            delay = self.delay(attempt)
            if self.clock() - started + delay > self.budget_seconds or not _ends_in_time(delay):
                break
            self.sleep(delay)
            response = send()
        return response

    def delay(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half the step fixed, half random, so that clients failing
        together do not retry together, yet every wait still grows."""
        step = min(self.cap_seconds, self.base_seconds * 2.0**attempt)
        return step / 2 + step / 2 * self.jitter()


def _ends_in_time(wait: float) -> bool:
    """Whether a wait of ``wait`` seconds ends before the invocation's deadline (always, without one)."""
    left = seconds_left()
    return left is None or wait < left
