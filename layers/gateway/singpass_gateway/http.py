"""Outbound HTTP to identity providers: one pooled session, bounded timeouts, capped bodies, no body logging.

Only plain GETs are retried (refused or dropped connections, and 502/503/504): a token exchange spends a one-time
code, so retrying it could only turn a slow success into a confusing ``invalid_grant``; and a GET carrying a
single-use proof (a ``PKI_SIGN`` nonce, a DPoP ``jti``) would be refused as a replay, hiding the real answer.
A read that times out is not retried either: three of them would outlast the callback's own time limit.

Every exchange is measured here, once for all providers: the latency of each answer and each failure (no
answer, or a 5xx), by provider and by what the call is for (see :mod:`singpass_gateway.observability`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies

import requests
from requests.adapters import HTTPAdapter

from .errors import ProviderUnavailable
from .observability import UpstreamCall, record_upstream_answer, record_upstream_failure

MAX_BODY_BYTES = 1024 * 1024
"""The largest provider response read; MyInfo person data is tens of kilobytes."""
RETRIES = 2
RETRY_STATUSES = frozenset({502, 503, 504})
BACKOFF_SECONDS = 0.2


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; a provider sending anything else is treated as unavailable."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser's limit
            raise ProviderUnavailable(f"non-JSON body (HTTP {self.status})") from None


class HttpClient:
    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = (min(3.05, timeout_seconds), timeout_seconds)
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_maxsize=10)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers["User-Agent"] = "singpass-gateway"
        # Without a proxy in the environment (Lambda's usual case), stop requests from re-reading the whole
        # environment for proxies and ~/.netrc on every call; with one, keep its usual semantics (NO_PROXY).
        self._session.trust_env = bool(getproxies())

    def get(
        self, url: str, headers: Mapping[str, str] | None = None, *, call: UpstreamCall, single_use: bool = False
    ) -> HttpResponse:
        """GET ``url``, retried unless ``single_use``: the request carries a proof the provider accepts once."""
        for attempt in range(1, 1 + (0 if single_use else RETRIES)):
            try:
                response = self._request("GET", url, call, headers=headers)
            except _ConnectionFailed:
                pass
            else:
                if response.status not in RETRY_STATUSES:
                    return response
            time.sleep(BACKOFF_SECONDS * attempt)
        return self._request("GET", url, call, headers=headers)  # the last attempt, whatever it brings

    def post_form(
        self, url: str, form: Mapping[str, str], headers: Mapping[str, str] | None = None, *, call: UpstreamCall
    ) -> HttpResponse:
        return self._request("POST", url, call, headers=headers, data=form)

    def _request(self, method: str, url: str, call: UpstreamCall, **kwargs: Any) -> HttpResponse:
        started = time.perf_counter()
        try:
            with self._session.request(
                method, url, timeout=self._timeout, stream=True, allow_redirects=False, **kwargs
            ) as response:
                answer = HttpResponse(response.status_code, response.headers, _read_capped(response))
        except requests.RequestException as error:
            record_upstream_failure(call)
            # The class name says timeout / connection refused; the message could echo URLs with secrets.
            # A read that timed out is a Timeout, not a ConnectionError: it is not worth another wait.
            failed = _ConnectionFailed if isinstance(error, requests.ConnectionError) else ProviderUnavailable
            raise failed(f"{method} {_host(url)} failed: {type(error).__name__}") from None
        except ProviderUnavailable:  # an oversized body
            record_upstream_failure(call)
            raise
        record_upstream_answer(call, (time.perf_counter() - started) * 1000, answer.status)
        return answer


class _ConnectionFailed(ProviderUnavailable):
    """The provider was not reached, or dropped the connection (a plain GET may try again)."""


def _read_capped(response: requests.Response) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(chunk_size=64 * 1024):
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise ProviderUnavailable(f"response body over {MAX_BODY_BYTES} bytes")
    return bytes(body)


def _host(url: str) -> str:
    return urlsplit(url).netloc
