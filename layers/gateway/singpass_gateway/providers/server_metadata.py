"""What a provider's server says about itself (OIDC discovery, RFC 8414 authorization server metadata): read once
an hour per container, and its endpoints taken only as the deployment's URL policy allows."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ..errors import ConfigurationError
from ..urls import UrlPolicy

MAX_AGE_SECONDS = 3600
"""How long a container trusts what it read: a server's endpoints and promises change rarely, and then slowly."""

_T = TypeVar("_T")


class HourlyDocument(Generic[_T]):
    """A document read through ``load`` at most once per :data:`MAX_AGE_SECONDS` (a failed read is not kept, so
    the next login tries again)."""

    def __init__(self, load: Callable[[], _T]) -> None:
        self._load = load
        self._read: tuple[_T, float] | None = None
        self._lock = threading.Lock()

    def get(self) -> _T:
        with self._lock:
            if self._read and time.monotonic() - self._read[1] < MAX_AGE_SECONDS:
                return self._read[0]
        value = self._load()
        with self._lock:
            self._read = (value, time.monotonic())
        return value


def endpoint(document: dict[str, Any], name: str, policy: UrlPolicy) -> str:
    """A URL the document names, as the deployment's URL policy allows (no plain http, no local host outside a
    sandbox): a server's own description is not trusted to point the gateway at the host it runs on."""
    value = document.get(name)
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} missing")
    return policy.provider_url(value, name)


def optional_endpoint(document: dict[str, Any], name: str, policy: UrlPolicy) -> str | None:
    return endpoint(document, name, policy) if document.get(name) else None
