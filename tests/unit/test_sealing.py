"""Browser-keyed sealing: only the cookie's secret opens an item's data, and only in the item it was sealed for."""

from __future__ import annotations

import pytest
from singpass_gateway.sealing import SealBroken, open_for, seal_for

SECRET = "c2Vzc2lvbi1pZC1mcm9tLXRoZS1icm93c2Vycy1jb29raWU"
DATA = {"sub": "S1234567A", "person": {"name": "TAN HENG HUAT"}}


def test_a_sealed_value_opens_with_its_secret_purpose_and_item() -> None:
    sealed = seal_for(SECRET, "session", "session#abc", DATA)

    assert open_for(SECRET, "session", "session#abc", sealed) == DATA
    assert b"S1234567A" not in sealed
    assert b"TAN" not in sealed


def test_every_seal_uses_a_fresh_nonce() -> None:
    assert seal_for(SECRET, "session", "k", DATA) != seal_for(SECRET, "session", "k", DATA)


@pytest.mark.parametrize(
    ("secret", "purpose", "item_key"),
    [
        ("another-browsers-secret", "session", "session#abc"),
        (SECRET, "login", "session#abc"),  # a session's key is not a login's
        (SECRET, "grant", "session#abc"),  # nor its grant's, sealed in the same item
        (SECRET, "session", "session#another"),  # moved to another item
    ],
)
def test_it_does_not_open_with_anything_else(secret: str, purpose: str, item_key: str) -> None:
    sealed = seal_for(SECRET, "session", "session#abc", DATA)

    with pytest.raises(SealBroken):
        open_for(secret, purpose, item_key, sealed)  # type: ignore[arg-type]


@pytest.mark.parametrize("position", [0, 1, 13, -1])
def test_a_changed_byte_anywhere_breaks_the_seal(position: int) -> None:
    sealed = bytearray(seal_for(SECRET, "session", "k", DATA))
    sealed[position] ^= 0x01

    with pytest.raises(SealBroken):
        open_for(SECRET, "session", "k", bytes(sealed))


@pytest.mark.parametrize("sealed", [b"", b"\x01", b"\x01" + bytes(27), b"\x02" + bytes(40)])
def test_short_or_foreign_values_are_refused(sealed: bytes) -> None:
    with pytest.raises(SealBroken):
        open_for(SECRET, "session", "k", sealed)
