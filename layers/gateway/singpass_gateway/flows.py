"""The use cases, each one call from a handler: begin_login, complete_login, current_session, logout.

State, nonce, PKCE, browser binding, sessions and redirects are handled here once for every provider. Flows
never parse tokens (providers do, through :mod:`singpass_gateway.jose`) and never format HTTP responses
(handlers do, through :mod:`singpass_gateway.web`). Logins are counted here too (started, succeeded, failed by
stable code; callbacks refused before they spent a login apart from them), and each provider call is attributed
to its provider for the upstream metrics. However a session ends (logout, a new login in the same browser, idle
timeout, expiry when next seen) its provider's refresh token is revoked, best effort (:meth:`Gateway._revoke`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes, urlencode, urlsplit, urlunsplit

from . import publication
from .errors import (
    AccessDenied,
    GatewayError,
    InvalidCallback,
    InvalidRequest,
    InvalidReturnTo,
    InvalidState,
    NotAuthenticated,
    ProviderError,
    ProviderMaintenance,
    ProviderUnavailable,
    RefreshRejected,
    UnknownProvider,
)
from .grants import KmsLayer, open_grant, seal_grant
from .observability import (
    UNKNOWN_PROVIDER,
    calls_for,
    count_callback_rejected,
    count_login_failed,
    count_login_started,
    count_login_succeeded,
    log_unexpected,
    logger,
)
from .providers import (
    AuthorizationRequest,
    Callback,
    Provider,
    Refreshes,
    Toolkit,
    build_providers,
)
from .sealing import KmsSealer
from .settings import Settings, settings
from .store import LoginTransaction, Session, Store, StoreUnavailable

SEEN_RESOLUTION_SECONDS = 60
"""A session's last use is written at most once a minute: the idle timeout is that precise, and reads stay reads."""
REFRESH_LEASE_SECONDS = 30
"""How long one request may hold a session's refresh; longer than a refresh's bounded provider calls."""
MAX_RETURN_TO_LENGTH = 1024
MAX_PARAM_LENGTH = 4096
"""Longer state or code values are not from a real provider; refuse them before any lookup."""
MAINTENANCE_ERRORS = frozenset({"503", "temporarily_unavailable"})
"""Callback ``error`` values that mean "down for maintenance, try later" (MyInfo v3's and OAuth's)."""
UNAVAILABLE_ERRORS = frozenset({"server_error"})
"""Callback ``error`` values that mean the provider failed this time (OAuth's ``server_error``, which Singpass
sends when a dependency of its own fails): a passing failure, worth trying again, unlike a refused request."""


@dataclass(frozen=True)
class LoginRedirect:
    location: str
    binding: str
    """The browser-binding secret for the short-lived login cookie."""
    max_age: int


@dataclass(frozen=True)
class CompletedLogin:
    location: str
    session_id: str
    max_age: int


class LoginFailed(Exception):
    """A login that failed or a callback that was refused; the browser goes back to the frontend with
    ``?error=<code>``."""

    def __init__(self, error: GatewayError, location: str, consumed: bool) -> None:
        super().__init__(error.code)
        self.error = error
        self.location = location
        self.consumed = consumed
        """Whether this callback spent the login (or may have: DynamoDB failed while consuming it). If not
        (forged or foreign state), the browser's own login in progress is left alone, login cookie included."""


class Gateway:
    def __init__(
        self,
        config: Settings,
        store: Store,
        providers: Mapping[str, Provider],
        sealer: KmsLayer | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = config
        self._store = store
        self._providers = providers
        self._sealer = sealer
        self._clock = clock

    def provider_list(self) -> list[dict[str, str]]:
        """The configured providers for the frontend's buttons."""
        return [{"id": provider.id, "name": provider.name} for provider in self._providers.values()]

    def client_jwks(self, provider_id: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """One provider's JWKS (the one to register with it), or the shared one (see :mod:`.publication`)."""
        if provider_id is not None:
            return publication.provider_jwks(self._provider(provider_id))
        return publication.shared_jwks(self._providers.values())

    def begin_login(
        self,
        provider_id: str,
        requested_return_to: str | None,
        request_origin: str,
        previous_session_id: str | None = None,
    ) -> LoginRedirect:
        """Start a login: a stored, browser-bound transaction and the provider's authorization URL.

        A session the browser already holds ends here, where its (SameSite=Strict) cookie is still sent: the
        provider's redirect to the callback is cross-site and carries none (so the callback replaces nothing). The
        callback always issues a new session id, so an id planted before login never survives it (no fixation).
        Its refresh token is revoked once the transaction is stored, and a revocation that fails or runs out of
        time leaves the login to go on (:meth:`_revoke`).

        An unknown provider or an unsafe return_to is refused (404, 400) before the login is counted as started,
        and is not counted as failed either: no login began, and the API's 4xx count shows such requests.
        """
        provider = self._provider(provider_id)
        return_to = safe_return_to(requested_return_to)  # before anything is pushed or stored
        count_login_started(provider.id)
        now = int(self._clock())
        held: Session | None = None
        verifier = secrets.token_urlsafe(64)
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        redirect_uri = self._settings.redirect_uri(provider.id, request_origin)
        try:
            with calls_for(provider.id):
                authorization = provider.authorize(
                    AuthorizationRequest(state, nonce, pkce_challenge(verifier), redirect_uri, now)
                )
            txn = LoginTransaction(
                state=state,
                provider_id=provider.id,
                nonce=nonce,
                code_verifier=verifier,
                redirect_uri=redirect_uri,
                return_to=return_to,
                binding=secrets.token_urlsafe(32),
                expires_at=now + self._settings.login_ttl_seconds,
                provider_data=dict(authorization.remember),
            )
            held = self._store.delete_session(previous_session_id) if previous_session_id else None
            self._store.put_transaction(txn)
        except GatewayError as error:
            # A refused pushed authorization request, KMS failing to sign it, DynamoDB failing to end the held
            # session or to store the transaction: the browser navigated here, so it goes back to the frontend.
            raise self._failed(provider.id, error, return_to, consumed=False) from None
        finally:
            if held is not None and previous_session_id:  # ended, whether or not the login could start
                self._revoke(previous_session_id, held, "replaced by a new login")
        logger.info("login started", extra={"provider": provider.id})
        return LoginRedirect(location=authorization.url, binding=txn.binding, max_age=self._settings.login_ttl_seconds)

    def complete_login(
        self,
        provider_id: str,
        params: Mapping[str, str],
        binding: str | None,
    ) -> CompletedLogin:
        """Finish a login exactly once; on any failure raise LoginFailed and store nothing."""
        provider = self._callback_provider(provider_id)
        txn = self._consume(provider.id, params, binding)
        try:
            with calls_for(provider.id):
                identity = provider.complete(self._callback(txn, params))
            session_id = secrets.token_urlsafe(32)
            now = int(self._clock())
            sealed = None
            if identity.grant and self._sealer is not None:
                sealed = seal_grant(self._sealer, session_id, identity.grant)
            session = Session(
                provider_id=provider.id,
                sub=identity.sub,
                person=identity.person,
                expires_at=now + self._settings.session_ttl_seconds,
                authentication=identity.authentication,
                sealed_grant=sealed,
                refreshed_at=now,
                provenance=identity.provenance,
                seen_at=now,
                organisation=identity.organisation,
                access=identity.access,
            )
            self._store.put_session(session_id, session)
        except GatewayError as error:
            raise self._failed(provider.id, error, txn.return_to, consumed=True) from None
        except Exception as error:  # a bug must still end as a clean redirect, never a stack trace
            log_unexpected(error)
            raise self._failed(provider.id, GatewayError("unexpected error"), txn.return_to, consumed=True) from None
        logger.info("login completed", extra={"provider": provider.id})
        count_login_succeeded(provider.id)
        return CompletedLogin(
            location=self._frontend(txn.return_to),
            session_id=session_id,
            max_age=self._settings.session_ttl_seconds,
        )

    def current_session(self, session_id: str | None, refresh: bool = False) -> Session:
        """The caller's live session, refreshed from the provider when asked or stale; NotAuthenticated when
        there is none (or the provider no longer honours it)."""
        now = int(self._clock())
        session = self._store.get_session(session_id, now, include_expired=True) if session_id else None
        if session is None or session_id is None:
            raise NotAuthenticated("no live session")
        if session.expires_at <= now:
            self._end_session(session_id, "expired")
            raise NotAuthenticated("session expired")
        if now - session.seen_at >= self._settings.session_idle_seconds:
            self._end_session(session_id, "idle")
            raise NotAuthenticated("session idle too long")
        if now - session.seen_at >= SEEN_RESOLUTION_SECONDS:
            self._store.touch_session(session_id, now)
        after = self._settings.refresh_after_seconds
        stale = after > 0 and now - session.refreshed_at >= after
        if (refresh or stale) and session.sealed_grant is not None:
            return self._refresh(session_id, session, now)
        return session

    def logout(self, session_id: str | None) -> None:
        """Delete the session and revoke the provider's refresh token where it can (idempotent)."""
        if session_id:
            self._end_session(session_id, "logout")

    def _end_session(self, session_id: str, reason: str) -> None:
        """Delete the session and revoke its refresh token: a session's end by logout, idle timeout or expiry
        (and, through :meth:`begin_login`, by a new login in the same browser). A refused refresh ends one
        without: the provider already refused its token."""
        ended = self._store.delete_session(session_id)
        if ended is not None:
            self._revoke(session_id, ended, reason)

    def _revoke(self, session_id: str, ended: Session, reason: str, grant: dict[str, str] | None = None) -> None:
        """Revoke an ended session's refresh token (``grant``, or else the one it stored), best effort.

        Whatever fails (KMS, the provider down or out of time) is logged as a warning with the provider and the
        error code, never the token, and a bug as one; either ends here, and the path that ended the session goes
        on. Lambda cannot answer first and revoke after, so this runs before the answer: one revocation call,
        bounded by the HTTP client's deadlines (:mod:`singpass_gateway.http`)."""
        provider = self._providers.get(ended.provider_id)
        if not isinstance(provider, Refreshes) or self._sealer is None:
            return
        try:
            if grant is None:
                if ended.sealed_grant is None:
                    return  # the provider gave no refresh token
                grant = open_grant(self._sealer, session_id, ended.sealed_grant, ended.sub)
            with calls_for(provider.id):
                provider.revoke(grant)
        except GatewayError as error:
            extra = {"provider": provider.id, "reason": reason, "error_code": error.code, "detail": error.detail}
            logger.warning("revocation failed", extra=extra)
            return
        except Exception as error:  # a bug: logged as one, and the session's end still goes on
            log_unexpected(error)
            return
        logger.info("refresh token revoked", extra={"provider": provider.id, "reason": reason})

    def _refresh(self, session_id: str, session: Session, now: int) -> Session:
        """One refresh at a time per session: a concurrent request gets the current data, so a rotated
        refresh token is spent exactly once; a refused refresh token ends the session.

        If sealing or storing fails after the provider rotated the token, the new token is lost and the next
        refresh ends the session: a clean logout, never a session holding a token the provider revoked.
        """
        provider = self._providers.get(session.provider_id)
        if not isinstance(provider, Refreshes) or self._sealer is None:
            return session
        leased = self._store.lease_refresh(session_id, now, REFRESH_LEASE_SECONDS)
        if leased is None or leased.sealed_grant is None:
            return session
        session = leased
        try:
            grant = open_grant(self._sealer, session_id, leased.sealed_grant, leased.sub)
            with calls_for(provider.id):
                refreshed = provider.refresh(grant, now)
        except RefreshRejected:
            self._store.delete_session(session_id)
            logger.info("session ended: refresh refused", extra={"provider": provider.id})
            raise NotAuthenticated("refresh refused") from None
        except GatewayError:
            self._store.release_refresh(session_id)
            raise
        sealed = seal_grant(self._sealer, session_id, refreshed.grant)
        access = session.access if refreshed.access is None else refreshed.access
        session = replace(session, person=refreshed.person, sealed_grant=sealed, refreshed_at=now, access=access)
        if not self._store.save_refresh(session_id, session):
            # Ended meanwhile (logout, a new login, idle): that revoked the token this refresh spent, not its successor.
            self._revoke(session_id, session, "ended during its refresh", refreshed.grant)
            raise NotAuthenticated("the session ended during its refresh")
        logger.info("session refreshed", extra={"provider": provider.id})
        return session

    def _provider(self, provider_id: str) -> Provider:
        provider = self._providers.get(provider_id)
        if provider is None:
            raise UnknownProvider(f"no provider {provider_id[:40]!r}")
        return provider

    def _callback_provider(self, provider_id: str) -> Provider:
        """The provider a callback names; a name no provider has counts as a rejected callback of the
        ``unknown`` provider, so that text from the URL never becomes a metric dimension."""
        try:
            return self._provider(provider_id)
        except UnknownProvider as error:
            count_callback_rejected(UNKNOWN_PROVIDER, error.code)
            raise

    def _consume(self, provider_id: str, params: Mapping[str, str], binding: str | None) -> LoginTransaction:
        """The callback's login transaction, spent. A callback it does not spend (no state or login cookie;
        forged, replayed, expired or another browser's state) is rejected, not a failed login: it belongs to no
        started login, or (expired) it can be sent again and again. A failing table is a failed login: the
        callback may have spent its transaction, and its login can no longer succeed."""
        state = params.get("state", "")
        try:
            if not state or not binding:
                raise InvalidState("callback without state or without the login cookie")
            if len(state) > MAX_PARAM_LENGTH or len(binding) > MAX_PARAM_LENGTH:
                raise InvalidState("oversized state or login cookie")
            return self._store.consume_transaction(state, provider_id, binding, int(self._clock()))
        except StoreUnavailable as error:
            # Whether the transaction is gone is unknown: the login ends here, login cookie included, so that
            # the browser cannot complete it later.
            raise self._failed(provider_id, error, "/", consumed=True) from None
        except GatewayError as error:
            raise self._rejected(provider_id, error) from None

    def _callback(self, txn: LoginTransaction, params: Mapping[str, str]) -> Callback:
        """The provider's answer as a Callback, or the login error it reports."""
        error = params.get("error")
        if error is not None:
            if error == "access_denied":
                raise AccessDenied("the person did not consent")
            if error in MAINTENANCE_ERRORS:
                raise ProviderMaintenance(f"provider error {error[:40]!r}")
            if error in UNAVAILABLE_ERRORS:
                raise ProviderUnavailable(f"provider error {error[:40]!r}")
            raise ProviderError(f"provider error {error[:40]!r}")
        code = params.get("code", "")
        if not code:
            raise InvalidCallback("callback without code")
        if len(code) > MAX_PARAM_LENGTH:
            raise InvalidRequest("oversized code")
        return Callback(
            code=code,
            params=params,
            code_verifier=txn.code_verifier,
            nonce=txn.nonce,
            redirect_uri=txn.redirect_uri,
            now=int(self._clock()),
            remembered=txn.provider_data,
        )

    def _failed(self, provider_id: str, error: GatewayError, return_to: str, *, consumed: bool) -> LoginFailed:
        """A started login's end: counted once, as its LoginStarted was."""
        logger.warning(
            "login failed", extra={"provider": provider_id, "error_code": error.code, "detail": error.detail}
        )
        count_login_failed(provider_id, error.code)
        return LoginFailed(error, self._frontend(with_error(return_to, error.code)), consumed)

    def _rejected(self, provider_id: str, error: GatewayError) -> LoginFailed:
        """A callback that spent no login: the browser's own login in progress, if any, is left alone."""
        logger.warning(
            "callback rejected", extra={"provider": provider_id, "error_code": error.code, "detail": error.detail}
        )
        count_callback_rejected(provider_id, error.code)
        return LoginFailed(error, self._frontend(with_error("/", error.code)), consumed=False)

    def _frontend(self, path: str) -> str:
        """The frontend's URL of ``path``, or of ``/`` for a path outside the grammar of :func:`safe_return_to`
        (a login stored by an older gateway, say): the redirect is always a Location API Gateway can send."""
        return self._settings.frontend_url + (path if _carried(path) else "/")


@functools.cache
def gateway() -> Gateway:
    """The container's gateway, built once from the environment's settings."""
    config = settings()
    sealer = KmsSealer(config.session_key_arn) if config.session_key_arn else None
    return Gateway(config, Store(config.table_name), build_providers(config, Toolkit(config)), sealer)


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
"""RFC 3986's pchar: unreserved, pct-encoded, sub-delims, ':' and '@'."""
RETURN_TO = re.compile(rf"(?P<path>/(?:{_PCHAR}|/)*)(?:\?(?:{_PCHAR}|[/?\[\]])*)?(?:#(?:{_PCHAR}|[/?\[\]])*)?")
"""The characters :func:`safe_return_to` accepts, where it accepts them (the rest of its grammar is checked there)."""
DOT_SEGMENTS = frozenset({b".", b".."})


def safe_return_to(value: str | None) -> str:
    """A path on the frontend to return to (``/`` when absent). Anything a browser or a frontend could read as
    another place, and anything a Location header cannot carry as it is, is refused with InvalidReturnTo.

    The grammar, in RFC 3986's terms, at most :data:`MAX_RETURN_TO_LENGTH` characters::

        return-to = path [ "?" extra ] [ "#" extra ]
        path      = "/" *( pchar / "/" )                  ; not starting with "//"
        extra     = *( pchar / "/" / "?" / "[" / "]" )
        pchar     = unreserved / pct-encoded / sub-delims / ":" / "@"

    That is printable ASCII alone: no space, backslash, stray ``%``, second ``#``, ``"<>^`{|}``, control or
    non-ASCII character (a frontend percent-encodes those, as ``location.pathname`` and ``location.search``
    already are). ``[`` and ``]`` are allowed in the query and fragment, where browsers keep them as typed
    (``?filter[state]=open``), and not in the path.

    And the path, percent-decoded once, has no control character, no backslash and no ``.`` or ``..`` segment:
    browsers resolve dot segments before the frontend sees the path, ``%2e`` (either case, alone or mixed with
    ``.``) as ``.``, and read ``\\`` as ``/``; a frontend that decodes the path and navigates to it would get a
    tab or newline stripped (``/%09/evil.example`` becomes ``//evil.example``) or a backslash read as ``/``; and a
    ``..`` between encoded slashes (``/a%2F..%2Fb``) is one for servers and routers that decode them. A
    percent-encoded ``/`` is otherwise data, unless the decoded path would start with ``//`` (``/%2F%2Fevil.example``,
    another host to a frontend that decodes it); the query and fragment, encoded text included, are the frontend's.

    A parameter sent twice never gets here as one value: the login handler refuses it
    (:meth:`singpass_gateway.web.Request.query_value`).
    """
    if not value:
        return "/"
    if len(value) > MAX_RETURN_TO_LENGTH or not _carried(value):
        raise InvalidReturnTo("return_to must be a plain path on the frontend")
    return value


def _carried(value: str) -> bool:
    """Whether ``value`` is in the grammar of :func:`safe_return_to`, whatever its length."""
    match = RETURN_TO.fullmatch(value)
    if match is None or value.startswith("//"):
        return False
    decoded = unquote_to_bytes(match["path"])
    if any(byte < 0x20 or byte in (0x5C, 0x7F) for byte in decoded):  # controls, backslash, DEL
        return False
    if decoded.startswith(b"//"):  # /%2F%2Fevil.example: a frontend that decodes the path would leave the site
        return False
    return not DOT_SEGMENTS.intersection(decoded.split(b"/"))


def with_error(path: str, code: str) -> str:
    """``path`` with ``error=<code>`` in its query (replacing any error already there). A path outside the
    grammar of :func:`safe_return_to` (a login stored by an older gateway, say) becomes ``/``: the result is
    always printable ASCII, a Location API Gateway can send."""
    parts = urlsplit(path if _carried(path) else "/")
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "error"]
    query.append(("error", code))
    return urlunsplit(("", "", parts.path, urlencode(query), parts.fragment))
