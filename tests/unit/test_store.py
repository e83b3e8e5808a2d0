"""The store's pure helpers, and a session's end on moto's DynamoDB; its DynamoDB calls are tested against
DynamoDB Local in tests/integration."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from dataclasses import replace
from typing import Any

import pytest
from singpass_gateway import aws
from singpass_gateway.sealing import open_for, seal_for
from singpass_gateway.store import (
    COMPRESSED,
    MAX_SESSION_JSON_BYTES,
    Session,
    Store,
    _seal_session,
    _session,
    digest,
)


def test_a_lone_surrogate_in_a_browsers_secret_digests_instead_of_crashing() -> None:
    """A state, login cookie or session id can carry a lone surrogate (a JSON escape in the Lambda event): it
    must look up nothing and fail as such, not raise UnicodeEncodeError (a 500, found by fuzzing)."""
    assert digest("\ud800") == hashlib.sha256(b"\xed\xa0\x80").hexdigest()
    assert digest("state-1") == hashlib.sha256(b"state-1").hexdigest()  # every other string digests as before


# -- sessions sealed compressed --------------------------------------------------------------------------------

SESSION_ID = "session-id-of-a-browser"
ITEM_KEY = "session#" + digest(SESSION_ID)
HISTORY = [
    {"month": f"{2000 + n // 12}-{n % 12 + 1:02d}", "employer": "CRYSTAL HORSE INVEST PTE LTD"} for n in range(5000)
]


def session(person: dict[str, Any]) -> Session:
    return Session(provider_id="mi-v4", sub="a-uuid", person=person, expires_at=2_000_000_000, seen_at=1_900_000_000)


def item(sealed: bytes) -> dict[str, Any]:
    """A session item as DynamoDB returns it."""
    numbers = {"expires_at": "2000000000", "refreshed_at": "0", "seen_at": "1900000000"}
    return {"pk": {"S": ITEM_KEY}, "provider": {"S": "mi-v4"}, "sealed": {"B": sealed}} | {
        name: {"N": value} for name, value in numbers.items()
    }


def sealed_as(data: dict[str, Any]) -> bytes:
    return seal_for(SESSION_ID, "session", ITEM_KEY, data)


def test_a_sessions_data_is_sealed_compressed_and_opens_as_it_was() -> None:
    large = session({"name": "TAN HENG HUAT", "cpfemployers": {"history": HISTORY}})
    as_json = len(json.dumps({"person": large.person}, separators=(",", ":")))

    sealed = _seal_session(SESSION_ID, large)

    assert as_json > 300_000
    assert len(sealed) < as_json / 10  # what was over 300 KB is now a few tens of KB
    assert set(open_for(SESSION_ID, "session", ITEM_KEY, sealed)) == {COMPRESSED}
    assert _session(SESSION_ID, item(sealed)) == large


def test_a_session_sealed_before_compression_still_opens() -> None:
    """A regression guard for the format marker: sessions stored by the previous release stay logged in."""
    old = {"sub": "a-uuid", "person": {"name": "TAN HENG HUAT"}, "authentication": {}, "provenance": {}}

    opened = _session(SESSION_ID, item(sealed_as(old)))

    assert opened == session({"name": "TAN HENG HUAT"})


@pytest.mark.parametrize(
    "packed",
    [
        base64.b64encode(zlib.compress(b" " * (MAX_SESSION_JSON_BYTES + 1))).decode(),  # inflates past the bound
        base64.b64encode(zlib.compress(b'{"sub": "a-uuid"}')[:-6]).decode(),  # cut short
        base64.b64encode(zlib.compress(b"[1, 2]")).decode(),  # not an object
        "not base64!",
        7,
    ],
    ids=["bomb", "truncated", "not-an-object", "not-base64", "not-a-string"],
)
def test_a_compressed_session_that_does_not_inflate_to_an_object_within_bounds_is_no_session(packed: object) -> None:
    assert _session(SESSION_ID, item(sealed_as({COMPRESSED: packed}))) is None


# -- a session's end hands back what it held, once, for its grant to be revoked (moto's DynamoDB) -------------------


@pytest.fixture
def store(moto: None) -> Store:
    aws.dynamodb().create_table(
        TableName="sessions",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return Store("sessions")


def test_deleting_a_session_hands_back_its_grant_once(store: Store) -> None:
    held = replace(session({"name": "TAN HENG HUAT"}), sealed_grant=b"sealed-grant")
    store.put_session(SESSION_ID, held)

    assert store.delete_session(SESSION_ID) == held
    assert store.delete_session(SESSION_ID) is None  # a concurrent end of the same session gets nothing to revoke
    assert store.get_session(SESSION_ID, 0) is None


def test_an_expired_session_is_read_only_by_a_caller_that_ends_it(store: Store) -> None:
    expired = replace(session({"name": "TAN HENG HUAT"}), expires_at=1_900_000_000, sealed_grant=b"sealed-grant")
    store.put_session(SESSION_ID, expired)

    assert store.get_session(SESSION_ID, 1_900_000_000) is None  # a live session is all a plain read returns
    assert store.get_session(SESSION_ID, 1_900_000_000, include_expired=True) == expired
    assert store.delete_session(SESSION_ID) == expired  # ended when next seen, its grant handed back
