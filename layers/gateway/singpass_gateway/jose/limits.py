"""Size caps checked before anything is parsed, so a hostile provider cannot make the gateway parse megabytes."""

from __future__ import annotations

MAX_TOKEN_BYTES = 16 * 1024
"""A signed token (ID token, access token, MyInfo's access token) as its compact JWS."""
MAX_ENCRYPTED_TOKEN_BYTES = 4 * MAX_TOKEN_BYTES
"""An encrypted ID token (a JWE around a JWS): the JWS once more in base64, plus the JWE's header and key."""
MAX_DOCUMENT_BYTES = 1024 * 1024
"""A person document as it arrives, JWE included: MyInfo v3's and v4's person, Singpass's and Corppass's userinfo.
The same 1 MiB as the most the HTTP client reads of any answer (``http.MAX_BODY_BYTES``), so a larger answer is
refused there first (``provider_unavailable``). A JWE(JWS) of 1 MiB carries about 590 KB of person JSON (each
base64 layer adds a third): far more than the largest real profiles (years of monthly CPF contributions, several
children and vehicles come to a few hundred KB). These are the only limits a JWE meets: joserfc's own, smaller
defaults are lifted (see :mod:`.jwe`)."""
MAX_JWKS_KEYS = 32
