"""The store's pure helpers; its DynamoDB calls are tested against DynamoDB Local in tests/integration."""

from __future__ import annotations

import hashlib

from singpass_gateway.store import digest


def test_a_lone_surrogate_in_a_browsers_secret_digests_instead_of_crashing() -> None:
    """A state, login cookie or session id can carry a lone surrogate (a JSON escape in the Lambda event): it
    must look up nothing and fail as such, not raise UnicodeEncodeError (a 500, found by fuzzing)."""
    assert digest("\ud800") == hashlib.sha256(b"\xed\xa0\x80").hexdigest()
    assert digest("state-1") == hashlib.sha256(b"state-1").hexdigest()  # every other string digests as before
