"""Size caps checked before anything is parsed, so a hostile provider cannot make the gateway parse megabytes."""

from __future__ import annotations

MAX_TOKEN_BYTES = 16 * 1024
MAX_DOCUMENT_BYTES = 1024 * 1024
"""Person data (userinfo, MyInfo person) can be far larger than a token: a full MyInfo profile with CPF
contributions runs to tens of kilobytes. Bounded by what the HTTP client reads anyway."""
MAX_JWKS_KEYS = 32
