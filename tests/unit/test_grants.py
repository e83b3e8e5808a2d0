"""A session's grant at rest: sealed under the browser's session id inside KMS, so that the table and KMS together
open nothing without the session cookie; grants sealed by KMS alone, before, still open for their own session."""

from __future__ import annotations

import json

import pytest
from singpass_gateway import aws
from singpass_gateway.grants import open_grant, seal_grant
from singpass_gateway.sealing import KmsSealer, SealBroken, SealingUnavailable, open_for
from singpass_gateway.store import digest, session_key

from tests.unit.upstream import PlainSealer

SESSION_ID = "c2Vzc2lvbi1pZC1mcm9tLXRoZS1icm93c2Vycy1jb29raWU"
OTHER_SESSION_ID = "YW5vdGhlci1icm93c2Vycy1zZXNzaW9uLWlk"
GRANT = {"refresh_token": "rt-secret-refresh-token", "sub": "tan-heng-huat", "dpop_key": "dpop-private-key-pem"}


@pytest.fixture
def kms_key(moto: None) -> str:
    arn: str = aws.kms().create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["Arn"]
    return arn


def test_a_grant_opens_with_its_session_id() -> None:
    kms = PlainSealer()

    assert open_grant(kms, SESSION_ID, seal_grant(kms, SESSION_ID, GRANT), "tan-heng-huat") == GRANT


def test_kms_and_the_table_alone_do_not_open_a_grant() -> None:
    """What a table export and kms:Decrypt give: the item's key and the session digest (its encryption context),
    never the session id. KMS's plaintext is the browser's seal, which only the session id opens."""
    kms = PlainSealer()
    sealed = seal_grant(kms, SESSION_ID, GRANT)

    decrypted = kms.unseal(sealed, digest(SESSION_ID))  # kms:Decrypt with the context a table reader can compute

    for secret in GRANT.values():
        assert secret.encode() not in decrypted
    with pytest.raises(SealBroken):
        open_for(digest(SESSION_ID), "grant", session_key(SESSION_ID), decrypted)  # the digest is not the key
    assert open_for(SESSION_ID, "grant", session_key(SESSION_ID), decrypted) == GRANT  # the session id is


def test_a_grant_rewrapped_by_kms_for_another_session_does_not_open_there() -> None:
    """kms:Decrypt and kms:Encrypt together cannot move a grant into another session: the inner seal is bound to
    its own item's key and session id."""
    kms = PlainSealer()
    inner = kms.unseal(seal_grant(kms, SESSION_ID, GRANT), digest(SESSION_ID))
    moved = kms.seal(inner, digest(OTHER_SESSION_ID))

    with pytest.raises(SealingUnavailable, match="did not open"):
        open_grant(kms, OTHER_SESSION_ID, moved, "tan-heng-huat")


def test_a_grant_sealed_by_kms_alone_before_still_opens_for_its_own_subject() -> None:
    """A session live at the deploy keeps its grant: its next refresh seals the new one in both layers."""
    kms = PlainSealer()
    legacy = kms.seal(json.dumps(GRANT).encode(), digest(SESSION_ID))

    assert open_grant(kms, SESSION_ID, legacy, "tan-heng-huat") == GRANT
    with pytest.raises(SealingUnavailable, match="not this session's"):
        open_grant(kms, SESSION_ID, legacy, "someone-else")  # planted by a table writer with kms:Encrypt


def test_a_grant_with_kms_as_deployed_is_sealed_in_both_layers(kms_key: str) -> None:
    kms = KmsSealer(kms_key)
    sealed = seal_grant(kms, SESSION_ID, GRANT)

    decrypted = aws.kms().decrypt(CiphertextBlob=sealed, EncryptionContext={"session": digest(SESSION_ID)})
    assert GRANT["refresh_token"].encode() not in decrypted["Plaintext"]
    assert not decrypted["Plaintext"].startswith(b"{")
    assert open_grant(kms, SESSION_ID, sealed, "tan-heng-huat") == GRANT
    with pytest.raises(SealingUnavailable, match="KMS Decrypt failed"):
        open_grant(kms, OTHER_SESSION_ID, sealed, "tan-heng-huat")  # KMS's context binds it as before


def test_a_grant_sealed_by_kms_alone_with_kms_as_deployed_still_opens(kms_key: str) -> None:
    """The previous release's format exactly: KMS Encrypt of the grant's compact JSON."""
    legacy = aws.kms().encrypt(
        KeyId=kms_key,
        Plaintext=json.dumps(GRANT, separators=(",", ":")).encode(),
        EncryptionContext={"session": digest(SESSION_ID)},
    )["CiphertextBlob"]

    assert open_grant(KmsSealer(kms_key), SESSION_ID, legacy, "tan-heng-huat") == GRANT
