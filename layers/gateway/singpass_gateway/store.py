"""DynamoDB storage of login transactions and sessions: one table, partition key ``pk``, TTL on ``expires_at``.

Raw state values, login bindings and session ids are never stored, only their SHA-256 (a database reader cannot
replay them). Everything secret or personal in an item is sealed under a key derived from the browser's cookie
(:func:`singpass_gateway.sealing.seal_for`); what stays readable is what conditions and TTL need: the provider
id, digests and timestamps. Expiry is part of every read and consume condition; TTL reaping only tidies up,
hours or days later.

A session's data is one item, which DynamoDB caps at 400 KB, and a person's MyInfo data can be several hundred KB
of JSON: it is sealed zlib-compressed (MyInfo's JSON, its keys, months and employers repeated, shrinks tenfold or
more), and data that still would not fit is refused before DynamoDB is asked (:func:`_sealed_session`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from . import aws
from .errors import GatewayError, InvalidState, LoginExpired, PersonDataTooLarge, ServiceUnavailable
from .observability import logger
from .sealing import Purpose, SealBroken, open_for, seal_for

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


MAX_SEALED_SESSION_BYTES = 384 * 1024
"""The most a session's sealed data may take. DynamoDB refuses an item over 400 KB (409,600 bytes, attribute
names and values together); the rest of a session item (its key, provider, three timestamps, a refresh lease and
the sealed grant, whose plaintext KMS caps at 4 KiB) stays well within the 16 KiB left."""
MAX_SESSION_JSON_BYTES = 4 * 1024 * 1024
"""The most a session's data may take as JSON, and so the most a sealed session inflates to when it is opened:
four times the largest person document the gateway reads (1 MiB, ``jose.MAX_DOCUMENT_BYTES``)."""
COMPRESSED = "zlib"
"""The one member of a session sealed compressed: its JSON, zlib-compressed, in base64. A session sealed before
compression has none (its members are ``sub``, ``person``...) and opens as it was sealed."""


class StoreUnavailable(ServiceUnavailable):
    """DynamoDB failed or throttled beyond botocore's retries."""


def digest(secret: str) -> str:
    """The stored form of a random secret (state, session id, browser binding).

    ``surrogatepass``: a request can carry a lone surrogate (a JSON escape in the event); it must find nothing,
    not crash. Every other string digests as before."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class LoginTransaction:
    """What the callback needs to finish a login that the login route started."""

    state: str
    provider_id: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    return_to: str
    binding: str
    """The browser-binding secret; only its digest is stored."""
    expires_at: int
    provider_data: dict[str, str] = field(default_factory=dict)
    """What the provider asked to get back at the callback (e.g. a DPoP key, which lives only as long as this)."""


@dataclass(frozen=True)
class Session:
    provider_id: str
    sub: str
    person: dict[str, Any]
    expires_at: int
    authentication: dict[str, Any] = field(default_factory=dict)
    sealed_grant: bytes | None = None
    """The provider grant (refresh token, DPoP key, subject), sealed by :mod:`singpass_gateway.grants`: under the
    browser's session id, then under KMS."""
    refreshed_at: int = 0
    """When the person data was last read from the provider (login or refresh)."""
    provenance: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per attribute, where MyInfo says it comes from (:func:`singpass_gateway.person.provenance`)."""
    seen_at: int = 0
    """When the browser last used the session (to the resolution of :meth:`Store.touch_session`)."""
    organisation: dict[str, Any] = field(default_factory=dict)
    """The entity logged in for, the acting user and their authorisations (Corppass); sealed like ``person``."""
    access: dict[str, list[str]] = field(default_factory=dict)
    """The scopes and permissions the provider's token grants (plain OAuth 2.0); sealed like ``person``."""


class Store:
    def __init__(self, table_name: str) -> None:
        self._table = table_name

    def put_transaction(self, txn: LoginTransaction) -> None:
        """Store a new transaction; a (vanishingly unlikely) state collision fails instead of overwriting."""
        pk = _transaction_key(txn.state)
        secret = {
            "nonce": txn.nonce,
            "code_verifier": txn.code_verifier,
            "redirect_uri": txn.redirect_uri,
            "return_to": txn.return_to,
            "provider_data": txn.provider_data,
        }
        item: dict[str, AttributeValueTypeDef] = {
            "pk": {"S": pk},
            "provider": {"S": txn.provider_id},
            "binding": {"S": digest(txn.binding)},
            "expires_at": {"N": str(txn.expires_at)},
            "sealed": {"B": seal_for(txn.binding, "login", pk, secret)},
        }
        self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")

    def consume_transaction(self, state: str, provider_id: str, binding: str, now: int) -> LoginTransaction:
        """Delete and return the transaction for ``state``, exactly once.

        One conditional delete does it all, so two concurrent callbacks cannot both succeed: the item must
        exist, belong to ``provider_id`` (mix-up defence), be bound to this browser and not have expired.
        A foreign browser or provider leaves the transaction untouched for its owner.
        """
        pk = _transaction_key(state)
        try:
            response = aws.dynamodb().delete_item(
                TableName=self._table,
                Key={"pk": {"S": pk}},
                ConditionExpression="attribute_exists(pk) AND provider = :p AND binding = :b AND expires_at > :now",
                ExpressionAttributeValues={
                    ":p": {"S": provider_id},
                    ":b": {"S": digest(binding)},
                    ":now": {"N": str(now)},
                },
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise _unavailable("DeleteItem", error) from None
            old_item: dict[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
            raise _refusal(old_item, provider_id, binding) from None
        except BotoCoreError as error:
            raise _unavailable("DeleteItem", error) from None
        item = response["Attributes"]
        secret = _open(binding, "login", pk, item)
        if secret is None:
            raise InvalidState("the login transaction did not open")
        return LoginTransaction(
            state=state,
            provider_id=item["provider"]["S"],
            nonce=secret["nonce"],
            code_verifier=secret["code_verifier"],
            redirect_uri=secret["redirect_uri"],
            return_to=secret["return_to"],
            binding=binding,
            expires_at=int(item["expires_at"]["N"]),
            provider_data=secret["provider_data"],
        )

    def put_session(self, session_id: str, session: Session) -> None:
        item: dict[str, AttributeValueTypeDef] = {
            "pk": {"S": session_key(session_id)},
            "provider": {"S": session.provider_id},
            "expires_at": {"N": str(session.expires_at)},
            "refreshed_at": {"N": str(session.refreshed_at)},
            "seen_at": {"N": str(session.seen_at)},
            "sealed": {"B": _seal_session(session_id, session)},
        }
        if session.sealed_grant is not None:
            item["grant"] = {"B": session.sealed_grant}
        self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get_session(self, session_id: str, now: int, *, include_expired: bool = False) -> Session | None:
        """The live session for ``session_id``, or None when unknown, expired or not openable with this id.

        ``include_expired``: an expired session too (its ``expires_at`` says so), for a caller that ends it (and
        revokes its grant) when it is next seen. Expired sessions that are never seen again are removed by TTL,
        which no code sees: their grants are left to expire at the provider."""
        response = self._call("get_item", Key={"pk": {"S": session_key(session_id)}}, ConsistentRead=True)
        item = response.get("Item")
        if not item or (int(item["expires_at"]["N"]) <= now and not include_expired):
            return None
        return _session(session_id, item)

    def touch_session(self, session_id: str, now: int) -> None:
        """Record that the browser used its session now (for the idle timeout)."""
        self._conditional_update(
            session_id,
            UpdateExpression="SET seen_at = :now",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":now": {"N": str(now)}},
        )

    def lease_refresh(self, session_id: str, now: int, seconds: int) -> Session | None:
        """Take the session's refresh lease, so one request at a time spends its refresh token; the session as
        it is at that moment (its latest sealed grant: one read earlier may hold a grant already spent).

        None when another request holds an unexpired lease (it will store the rotated token) or the session
        is gone or expired.
        """
        item = self._conditional_update(
            session_id,
            UpdateExpression="SET refresh_lease = :until",
            ConditionExpression=(
                "attribute_exists(pk) AND expires_at > :now"
                " AND (attribute_not_exists(refresh_lease) OR refresh_lease < :now)"
            ),
            ExpressionAttributeValues={":until": {"N": str(now + seconds)}, ":now": {"N": str(now)}},
            ReturnValues="ALL_NEW",
        )
        return _session(session_id, item) if item else None

    def save_refresh(self, session_id: str, session: Session) -> bool:
        """Store a refreshed session's data and grant and release the lease; False when the session ended
        meanwhile."""
        if session.sealed_grant is None:
            raise ValueError("a refreshed session holds a grant")
        saved = self._conditional_update(
            session_id,
            UpdateExpression="SET sealed = :sealed, #grant = :grant, refreshed_at = :now REMOVE refresh_lease",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#grant": "grant"},
            ExpressionAttributeValues={
                ":sealed": {"B": _seal_session(session_id, session)},
                ":grant": {"B": session.sealed_grant},
                ":now": {"N": str(session.refreshed_at)},
            },
        )
        return saved is not None

    def release_refresh(self, session_id: str) -> None:
        self._conditional_update(
            session_id, UpdateExpression="REMOVE refresh_lease", ConditionExpression="attribute_exists(pk)"
        )

    def _conditional_update(self, session_id: str, **kwargs: Any) -> dict[str, Any] | None:
        """An UpdateItem on the session: its returned attributes (empty unless asked for), or None when its
        condition does not hold."""
        try:
            response = aws.dynamodb().update_item(
                TableName=self._table, Key={"pk": {"S": session_key(session_id)}}, **kwargs
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise _unavailable("UpdateItem", error) from None
        except BotoCoreError as error:
            raise _unavailable("UpdateItem", error) from None
        attributes: dict[str, Any] = response.get("Attributes", {})
        return attributes

    def delete_session(self, session_id: str) -> Session | None:
        """Delete the session; what it held (expired or not: its grant is to be revoked), or None when there was
        none or it does not open with this id. Of concurrent deletes, only one gets the session back."""
        response = self._call("delete_item", Key={"pk": {"S": session_key(session_id)}}, ReturnValues="ALL_OLD")
        item = response.get("Attributes")
        return _session(session_id, item) if item else None

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(aws.dynamodb(), operation)(TableName=self._table, **kwargs)
        except (ClientError, BotoCoreError) as error:
            raise _unavailable(operation, error) from None


def _transaction_key(state: str) -> str:
    return "txn#" + digest(state)


def session_key(session_id: str) -> str:
    """Sessions are stored under the hash of their id: a database reader cannot present them. Also the associated
    data of everything sealed in the item (its data, and the inner layer of its grant)."""
    return "session#" + digest(session_id)


def _seal_session(session_id: str, session: Session) -> bytes:
    secret = {
        "sub": session.sub,
        "person": session.person,
        "authentication": session.authentication,
        "provenance": session.provenance,
        "organisation": session.organisation,
        "access": session.access,
    }
    return _sealed_session(session_id, session.provider_id, secret)


def _sealed_session(session_id: str, provider_id: str, secret: Mapping[str, Any]) -> bytes:
    """A session's data, compressed and sealed, within :data:`MAX_SEALED_SESSION_BYTES`.

    At the limit: data that does not fit even compressed (hardly any real person's does: it must be both several
    hundred KB and nearly incompressible) is refused here, before DynamoDB is asked, as PersonDataTooLarge
    (``person_data_too_large``), with a log line giving its sizes. A login then stores no session; a refresh leaves
    the stored session with its earlier data (its rotated refresh token is lost, so the next refresh ends it).
    Left to DynamoDB, the item would be refused with a ValidationException, an opaque ``service_unavailable``.
    """
    plaintext = json.dumps(secret, separators=(",", ":")).encode()
    packed = base64.b64encode(zlib.compress(plaintext)).decode("ascii")
    sealed = seal_for(session_id, "session", session_key(session_id), {COMPRESSED: packed})
    if len(plaintext) <= MAX_SESSION_JSON_BYTES and len(sealed) <= MAX_SEALED_SESSION_BYTES:
        return sealed
    logger.warning(
        "session too large to store",
        extra={
            "provider": provider_id,
            "json_bytes": len(plaintext),
            "sealed_bytes": len(sealed),
            "limit_bytes": MAX_SEALED_SESSION_BYTES,
        },
    )
    raise PersonDataTooLarge(
        f"the session's data seals to {len(sealed)} bytes ({len(plaintext)} of JSON), over the limit of "
        f"{MAX_SEALED_SESSION_BYTES} bytes (JSON: {MAX_SESSION_JSON_BYTES}) that keeps an item within DynamoDB's 400 KB"
    )


def _opened_session(session_id: str, item: dict[str, Any]) -> dict[str, Any] | None:
    """A session item's data, sealed compressed or (before compression) not; None (logged) when it does not open."""
    secret = _open(session_id, "session", session_key(session_id), item)
    if secret is None or COMPRESSED not in secret:
        return secret
    try:
        data = json.loads(_inflated(base64.b64decode(secret[COMPRESSED], validate=True)))
    except (ValueError, TypeError, zlib.error, RecursionError):
        data = None
    if not isinstance(data, dict):
        logger.warning("stored item did not open", extra={"item_kind": "session"})
        return None
    return data


def _inflated(compressed: bytes) -> bytes:
    """zlib data inflated, up to :data:`MAX_SESSION_JSON_BYTES` (ValueError beyond that, or when cut short)."""
    inflater = zlib.decompressobj()
    data = inflater.decompress(compressed, MAX_SESSION_JSON_BYTES + 1)
    if len(data) > MAX_SESSION_JSON_BYTES or not inflater.eof:
        raise ValueError("a compressed session over its bound, or cut short")
    return data


def _session(session_id: str, item: dict[str, Any]) -> Session | None:
    secret = _opened_session(session_id, item)
    if secret is None:
        return None
    return Session(
        provider_id=item["provider"]["S"],
        sub=secret["sub"],
        person=secret["person"],
        expires_at=int(item["expires_at"]["N"]),
        authentication=secret["authentication"],
        sealed_grant=bytes(item["grant"]["B"]) if "grant" in item else None,
        refreshed_at=int(item["refreshed_at"]["N"]),
        provenance=secret["provenance"],
        seen_at=int(item["seen_at"]["N"]),
        organisation=secret.get("organisation", {}),  # sessions sealed before organisations were kept
        access=secret.get("access", {}),  # and before access was
    )


def _open(secret: str, purpose: Purpose, item_key: str, item: dict[str, Any]) -> dict[str, Any] | None:
    """An item's sealed data, or None (logged) when it does not open: tampered, moved, or from an older layout."""
    try:
        return open_for(secret, purpose, item_key, bytes(item["sealed"]["B"]))
    except (KeyError, SealBroken):
        logger.warning("stored item did not open", extra={"item_kind": purpose})
        return None


def _refusal(old_item: dict[str, Any] | None, provider_id: str, binding: str) -> GatewayError:
    """Why a consume was refused: only an intact transaction of this browser can be 'expired'."""
    if old_item and old_item["provider"]["S"] == provider_id and old_item["binding"]["S"] == digest(binding):
        return LoginExpired("login transaction expired")
    return InvalidState("no login transaction for this state, provider and browser")


def _unavailable(operation: str, error: Exception) -> StoreUnavailable:
    code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
    return StoreUnavailable(f"DynamoDB {operation} failed: {code or type(error).__name__}")
