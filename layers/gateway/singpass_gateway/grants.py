"""A session's provider grant at rest: its refresh token, the DPoP key the token is bound to, and its subject.

Two layers, the browser's inside KMS's::

    stored = KMS Encrypt(seal_for(session id, "grant", item key, grant), context {"session": sha256(session id)})

The inner layer is the one that keeps a grant from anyone without the browser's cookie: its key is derived from the
session id, of which the table holds only the digest. A table export together with ``kms:Decrypt`` (the functions'
role, an operator, a stolen credential) now yields sealed bytes and no refresh token; so does ``kms:Encrypt`` used
to move a grant into another session's item, since the inner seal is bound to the item's key. The outer layer keeps
what KMS gave before: every opening of a grant is a KMS Decrypt in CloudTrail, with the session's digest as its
context, and disabling the key cuts every stored grant off at once.

Why KMS outside and not the other way round (the browser's seal around a KMS ciphertext), which protects as well
against a table reader:

- KMS never sees a grant in the clear: what it encrypts and decrypts is already sealed.
- KMS stays the gate every use passes first, and the key's kill switch needs nothing else to work.
- The formats tell themselves apart after the Decrypt, with nothing to guess: the inner seal starts with its
  version byte (``0x01``), a grant sealed before this layering is a JSON object (``{``). Stored KMS ciphertexts
  are opaque (AWS's start with ``0x01`` too), so a seal around them could not be told from one of them without
  trying to open it. The item's layout (the ``grant`` attribute) stays as it was.

Grants sealed before (KMS alone, see :func:`_legacy`) still open, for the refresh and the revocation of a session
that was live at the deploy: the next refresh seals the new grant in both layers, as every refresh does. They are
gone once every session stored before the deploy has ended, at most ``GATEWAY_SESSION_TTL_SECONDS`` after it
(point-in-time backups keep them as long as they keep any item: 35 days).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Protocol

from .sealing import SealBroken, SealingUnavailable, open_for, seal_for
from .store import digest, session_key


class KmsLayer(Protocol):
    """The KMS layer (:class:`singpass_gateway.sealing.KmsSealer`; a fake in unit tests)."""

    def seal(self, plaintext: bytes, session_digest: str) -> bytes: ...

    def unseal(self, sealed: bytes, session_digest: str) -> bytes: ...


def seal_grant(kms: KmsLayer, session_id: str, grant: Mapping[str, str]) -> bytes:
    """``grant`` sealed under the browser's session id (bound to the session's item), then under KMS."""
    return kms.seal(seal_for(session_id, "grant", session_key(session_id), grant), digest(session_id))


def open_grant(kms: KmsLayer, session_id: str, sealed: bytes, sub: str) -> dict[str, str]:
    """The grant :func:`seal_grant` sealed for this session (or KMS alone, before, for the subject ``sub``).

    SealingUnavailable when KMS fails or refuses it (moved from another session), or when it does not open."""
    plaintext = kms.unseal(sealed, digest(session_id))
    if plaintext.startswith(b"{"):
        return _legacy(plaintext, sub)
    try:
        grant: dict[str, str] = open_for(session_id, "grant", session_key(session_id), plaintext)
    except SealBroken:
        raise SealingUnavailable("the sealed grant did not open with this session's id") from None
    return grant


def _legacy(plaintext: bytes, sub: str) -> dict[str, str]:
    """A grant sealed by KMS alone, by a gateway before this layering: its JSON.

    Accepted only when it names the session's own subject, which is sealed under the browser's key: someone with
    ``kms:Encrypt`` and write access to the table could otherwise put a grant of another account into a session,
    in the old format. Remove this (and the branch that calls it) once the release that sealed grants in two layers
    has been deployed for longer than ``GATEWAY_SESSION_TTL_SECONDS``: by then no live session holds one."""
    try:
        grant: dict[str, str] | None = json.loads(plaintext)
    except ValueError:
        grant = None
    if not isinstance(grant, dict) or grant.get("sub") != sub:
        raise SealingUnavailable("a grant sealed by KMS alone that is not this session's")
    return grant
