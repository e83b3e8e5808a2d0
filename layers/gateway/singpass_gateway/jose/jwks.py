"""Provider signing keys: fetching and caching JWKS documents, and choosing the one key a JWS header allows.

Keys come only from the provider's JWKS URL, never from token headers (``jwk``, ``jku``, ``x5u``, ``x5c``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from ..errors import ProviderUnavailable
from ..http import HttpClient
from .limits import MAX_JWKS_KEYS

KEY_TYPES = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC", "ES384": "EC", "ES512": "EC"}
"""The JWK ``kty`` each allowed signature algorithm needs."""


@dataclass(frozen=True)
class JwksKey:
    """One usable JWKS entry: the parsed key and the parameters that decide whether it may verify."""

    kid: str | None
    kty: str
    use: str
    alg: str | None
    key: jwt.PyJWK


class JwksCache:
    """Provider signing keys by JWKS URL: cached for ``max_age``, refetched early at most once a cooldown.

    An unknown ``kid`` (or a failed signature on a kid-less token) triggers a refetch when the cached set is
    older than the cooldown, so a key rotation at the provider is picked up within seconds, while a flood of
    forged tokens costs the provider at most one fetch per cooldown.
    Entries that cannot be parsed are skipped, not fatal.
    """

    def __init__(
        self,
        http: HttpClient,
        max_age_seconds: float = 3600,
        refetch_cooldown_seconds: float = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._max_age = max_age_seconds
        self._cooldown = refetch_cooldown_seconds
        self._clock = clock
        self._sets: dict[str, tuple[list[JwksKey], float]] = {}
        self._lock = threading.Lock()

    def keys(self, url: str, *, refresh: bool = False) -> list[JwksKey]:
        """The keys at ``url``; ``refresh`` asks for a refetch, granted once per cooldown."""
        with self._lock:
            cached = self._sets.get(url)
        age = self._clock() - cached[1] if cached else None
        if cached and age is not None and age < self._max_age and not (refresh and age >= self._cooldown):
            return cached[0]
        keys = self._fetch(url)
        with self._lock:
            self._sets[url] = (keys, self._clock())
        return keys

    def _fetch(self, url: str) -> list[JwksKey]:
        response = self._http.get(url, call="jwks")
        if response.status != 200:
            raise ProviderUnavailable(f"JWKS answered HTTP {response.status}")
        document = response.json()
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ProviderUnavailable("JWKS document has no 'keys' array")
        return [key for key in map(_jwks_key, entries[:MAX_JWKS_KEYS]) if key is not None]


def select_key(keys: list[JwksKey], header: Mapping[str, Any]) -> jwt.PyJWK | None:
    """The key for the header's kid; without a kid, the only suitable key (several: refuse to guess)."""
    alg = header["alg"]
    suitable = [key for key in keys if key.kty == KEY_TYPES.get(alg) and key.use == "sig" and key.alg in (None, alg)]
    kid = header.get("kid")
    if kid is not None:
        suitable = [key for key in suitable if key.kid == kid]
    return suitable[0].key if len(suitable) == 1 else None


def _jwks_key(entry: object) -> JwksKey | None:
    """A JWKS entry as a usable key, or None for junk (one bad entry must not break the whole set)."""
    if not isinstance(entry, dict) or "d" in entry:
        return None
    try:
        key = jwt.PyJWK(entry)
    except (jwt.PyJWTError, TypeError, ValueError, KeyError):
        return None
    kid, use, alg = entry.get("kid"), entry.get("use", "sig"), entry.get("alg")
    return JwksKey(
        kid=kid if isinstance(kid, str) else None,
        kty=str(entry.get("kty")),
        use=use if isinstance(use, str) else "",
        alg=alg if isinstance(alg, str) else None,
        key=key,
    )
