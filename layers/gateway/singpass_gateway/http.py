"""Outbound HTTP to identity providers: one pooled session, bounded timeouts, capped bodies, no body logging.

Only idempotent GETs are retried (connection errors and 502/503/504): a token exchange spends a one-time code,
so retrying it could only turn a slow success into a confusing ``invalid_grant``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import ProviderUnavailable

MAX_BODY_BYTES = 1024 * 1024
"""The largest provider response read; MyInfo person data is tens of kilobytes."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; a provider sending anything else is treated as unavailable."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise ProviderUnavailable(f"non-JSON body (HTTP {self.status})") from None


class HttpClient:
    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = (min(3.05, timeout_seconds), timeout_seconds)
        self._session = requests.Session()
        retry = Retry(
            total=2,
            backoff_factor=0.2,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=(502, 503, 504),
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=10)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers["User-Agent"] = "singpass-gateway"
        # Without a proxy in the environment (Lambda's usual case), stop requests from re-reading the whole
        # environment for proxies and ~/.netrc on every call; with one, keep its usual semantics (NO_PROXY).
        self._session.trust_env = bool(getproxies())

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> HttpResponse:
        return self._request("GET", url, headers=headers)

    def post_form(self, url: str, form: Mapping[str, str], headers: Mapping[str, str] | None = None) -> HttpResponse:
        return self._request("POST", url, headers=headers, data=form)

    def _request(self, method: str, url: str, **kwargs: Any) -> HttpResponse:
        try:
            with self._session.request(
                method, url, timeout=self._timeout, stream=True, allow_redirects=False, **kwargs
            ) as response:
                return HttpResponse(response.status_code, response.headers, _read_capped(response))
        except requests.RequestException as error:
            # The class name says timeout / connection refused; the message could echo URLs with secrets.
            raise ProviderUnavailable(f"{method} {_host(url)} failed: {type(error).__name__}") from None


def _read_capped(response: requests.Response) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(chunk_size=64 * 1024):
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise ProviderUnavailable(f"response body over {MAX_BODY_BYTES} bytes")
    return bytes(body)


def _host(url: str) -> str:
    return urlsplit(url).netloc
