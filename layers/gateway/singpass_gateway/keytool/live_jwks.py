"""The JWKS a provider fetches, fetched the way it does: HTTPS, no redirects, an answer within Singpass's 3 s.

A JWKS that only answers in a browser, after a redirect, or slowly is one the provider cannot read, so each of
those is reported as unreadable (exit status 2) rather than checked.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import CheckUsageError, JwksUnreadable

if TYPE_CHECKING:
    import requests

DEADLINE_SECONDS = 3.0
"""Singpass documents that a client JWKS must answer within 3 seconds; MyInfo v4 documents no limit of its own."""
MAX_JWKS_BYTES = 256 * 1024
"""Far above any client JWKS (a few keys of a few hundred bytes): more is not a JWKS the gateway published."""
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
"""Where plain http is allowed: a sandbox or a tunnel on this machine, never a provider's view of the JWKS."""


@dataclass(frozen=True)
class FetchedJwks:
    url: str
    keys: list[Any]
    """The document's ``keys``, unchecked: the comparison judges each entry."""
    seconds: float
    """How long the answer took, in full."""


def checked_url(url: str) -> str:
    """The URL, if a provider could fetch it: HTTPS, or http on this machine alone."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS:
        return url
    raise CheckUsageError(f"{url!r}: a JWKS URL must be https:// (http:// only for localhost)")


def fetch(url: str) -> FetchedJwks:
    """The JWKS at ``url``, read in full within the deadline; anything else is :class:`JwksUnreadable`."""
    import requests

    checked_url(url)
    deadline_seconds = DEADLINE_SECONDS
    started = time.monotonic()
    try:
        with requests.get(
            url,
            timeout=deadline_seconds,
            stream=True,
            allow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "singpass-gateway keys check"},
        ) as response:
            body = _body(response, started, deadline_seconds)
    except requests.Timeout:
        raise JwksUnreadable(f"{url}: no answer within {deadline_seconds:g} s (Singpass's limit)") from None
    except requests.RequestException as error:
        raise JwksUnreadable(f"{url}: {_reason(error)}") from None
    seconds = time.monotonic() - started
    if seconds > deadline_seconds:
        raise JwksUnreadable(f"{url}: answered in {seconds:.1f} s, over {deadline_seconds:g} s (Singpass's limit)")
    if response.status_code != 200:
        raise JwksUnreadable(f"{url}: HTTP {response.status_code}, not 200")
    return FetchedJwks(url, _keys(url, body), seconds)


def _body(response: requests.Response, started: float, deadline_seconds: float) -> bytes:
    """The body, up to the size cap, given up on once the whole answer outlasts the deadline (a trickle too)."""
    body = bytearray()
    for chunk in response.iter_content(chunk_size=16 * 1024):
        body.extend(chunk)
        if len(body) > MAX_JWKS_BYTES:
            raise JwksUnreadable(f"{response.url}: over {MAX_JWKS_BYTES // 1024} KiB, not a client JWKS")
        if time.monotonic() - started > deadline_seconds:
            raise JwksUnreadable(f"{response.url}: not read in full within {deadline_seconds:g} s (Singpass's limit)")
    return bytes(body)


def _keys(url: str, body: bytes) -> list[Any]:
    """The ``keys`` array of a JSON JWKS document."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise JwksUnreadable(f"{url}: not JSON") from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise JwksUnreadable(f'{url}: JSON, but not a JWKS (no "keys" array)')
    return keys


def _reason(error: requests.RequestException) -> str:
    """Why the request failed, in words: requests' own messages run to several lines of pool internals."""
    import requests

    if isinstance(error, requests.exceptions.SSLError):
        return "TLS failed (certificate not trusted, or not HTTPS)"
    if isinstance(error, requests.ConnectionError):
        return "not reachable (refused, reset or no such host)"
    return type(error).__name__
