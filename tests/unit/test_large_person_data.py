"""People with large MyInfo profiles log in through every person JWE, up to the gateway's 1 MiB document limit,
and their session fits one DynamoDB item; beyond either limit the login ends with a stable code.

The profiles are :mod:`infra.sandbox.personas`'s, in MockPass's shapes: years of monthly CPF contributions from
several employers at once, children's birth records, vehicles. Logins go through the hostile-provider harness
(real keys, real JWEs made by joserfc, the gateway's own provider code), whose honest person is extended with the
profile's attributes; sessions go to the real :class:`~singpass_gateway.store.Store` on moto's DynamoDB, which
refuses an item over 400 KB as DynamoDB does.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from singpass_gateway import aws
from singpass_gateway.errors import PersonDataTooLarge
from singpass_gateway.jose import MAX_DOCUMENT_BYTES
from singpass_gateway.store import MAX_SEALED_SESSION_BYTES, Session, Store

from infra.sandbox.personas import INCOMPRESSIBLE, LONG_HISTORY, NEAR_LIMIT, OVERSIZED, LargeProfile, large_person
from tests.unit.upstream import SingpassUpstream, Upstream, build

LARGE_FAMILY = LargeProfile(
    "S8400005A",
    "LEE LARGE FAMILY",
    "20 years of monthly CPF contributions from 8 employers at a time, 6 children, 4 vehicles",
    years=20,
    employers=8,
    children=6,
    vehicles=4,
)
"""About 490 KB of MyInfo JSON, a person JWE of about 0.83 MiB."""
IDENTIFYING = ("uinfin", "partialuinfin", "uuid", "name", "hanyupinyinname")
"""Left to the harness's own person, whom its tokens name."""
PERSON_JWES = ["myinfo-v3", "myinfo-v4", "singpass"]
"""MyInfo v3's person (RSA-OAEP), MyInfo v4's person and Singpass Myinfo's userinfo (ECDH-ES), each a JWE(JWS)."""
TABLE = "sessions"
DYNAMODB_ITEM_LIMIT = 400 * 1024


def profile_data(profile: LargeProfile) -> dict[str, Any]:
    return {name: value for name, value in large_person(profile).items() if name not in IDENTIFYING}


def carrying(kind: str, profile: LargeProfile) -> Upstream:
    """An honest upstream of ``kind`` whose person document also carries ``profile``'s data."""
    upstream = build(kind)
    if isinstance(upstream, SingpassUpstream):
        person_info = {**upstream.userinfo_claims()["person_info"], **profile_data(profile)}
        return upstream.misbehave(userinfo={"person_info": person_info})
    return upstream.misbehave(person=profile_data(profile))


def logged_in(upstream: Upstream) -> Session:
    outcome = upstream.login()
    assert (outcome.error, outcome.reason) == (None, "")
    assert outcome.session_id is not None
    return upstream.store.sessions[outcome.session_id]


def document_size(profile: LargeProfile) -> int:
    return len(json.dumps(large_person(profile), separators=(",", ":")))


@pytest.fixture
def store(moto: None) -> Store:
    aws.dynamodb().create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return Store(TABLE)


def stored_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws.dynamodb().scan(TableName=TABLE)["Items"]
    return items


def item_size(item: dict[str, Any]) -> int:
    """A DynamoDB item's size as DynamoDB counts it (attribute names and values; a number counted generously)."""
    size = 0
    for name, value in item.items():
        [(kind, content)] = value.items()
        size += len(name.encode()) + (len(bytes(content)) if kind == "B" else len(str(content).encode()) + 1)
    return size


# -- the person JWE: up to 1 MiB, on every path ------------------------------------------------------------------


@pytest.mark.parametrize("kind", PERSON_JWES)
@pytest.mark.parametrize("profile", [LONG_HISTORY, LARGE_FAMILY, NEAR_LIMIT], ids=["190kB", "490kB", "570kB"])
def test_a_large_profile_logs_in_through_every_person_jwe(kind: str, profile: LargeProfile) -> None:
    session = logged_in(carrying(kind, profile))

    person = session.person
    assert len(person["cpfemployers"]["history"]) == profile.history_length
    expected_contributions = profile.history_length if profile.contributions else 15  # else MockPass's own
    assert len(person["cpfcontributions"]["history"]) == expected_contributions
    assert len(person["childrenbirthrecords"]) == profile.children
    assert len(person["vehicles"]) == profile.vehicles
    assert person["cpfemployers"]["history"][-1]["month"] == "2025-12"


@pytest.mark.parametrize("kind", PERSON_JWES)
def test_a_profile_over_the_1_mib_limit_is_refused_before_it_is_decrypted(kind: str) -> None:
    """In production the HTTP client's own 1 MiB cap answers first (``provider_unavailable``, see
    tests/integration/test_large_person_data.py); the harness's fake HTTP has none, so this is the JWE's cap."""
    assert document_size(OVERSIZED) * 16 // 9 > MAX_DOCUMENT_BYTES  # two base64 layers: JWS, then JWE

    outcome = carrying(kind, OVERSIZED).login()

    assert outcome.error == "invalid_token"
    assert "acceptable size" in outcome.reason
    assert outcome.sessions == 0


# -- the session: compressed into one DynamoDB item, or refused -------------------------------------------------


@pytest.mark.parametrize("profile", [LONG_HISTORY, LARGE_FAMILY, NEAR_LIMIT], ids=["190kB", "490kB", "570kB"])
def test_a_large_profiles_session_fits_one_dynamodb_item(store: Store, profile: LargeProfile) -> None:
    session = logged_in(carrying("myinfo-v3", profile))

    store.put_session("session-id", session)

    [item] = stored_items()
    assert item_size(item) < DYNAMODB_ITEM_LIMIT
    assert store.get_session("session-id", session.seen_at) == session


def test_a_session_too_large_even_compressed_is_refused_before_dynamodb(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    session = logged_in(carrying("myinfo-v4", INCOMPRESSIBLE))  # within 1 MiB, but random: it hardly compresses
    caplog.clear()

    with pytest.raises(PersonDataTooLarge) as refused:
        store.put_session("session-id", session)

    assert refused.value.code == "person_data_too_large"
    assert str(MAX_SEALED_SESSION_BYTES) in refused.value.detail
    assert stored_items() == []
    [line] = [record for record in caplog.records if record.getMessage() == "session too large to store"]
    assert (line.levelname, line.provider) == ("WARNING", "myinfo-v4")  # type: ignore[attr-defined]
    assert line.sealed_bytes > line.limit_bytes == MAX_SEALED_SESSION_BYTES  # type: ignore[attr-defined]


def test_a_refresh_too_large_to_store_is_refused_and_keeps_the_stored_session(store: Store) -> None:
    small = logged_in(carrying("myinfo-v4", LONG_HISTORY))
    store.put_session("session-id", small)
    large = logged_in(carrying("myinfo-v4", INCOMPRESSIBLE))
    refreshed = replace(small, person=large.person, sealed_grant=b"grant")

    with pytest.raises(PersonDataTooLarge):
        store.save_refresh("session-id", refreshed)

    assert store.get_session("session-id", small.seen_at) == small
