"""A session's life after login: read (touched, refreshed from the provider when asked or stale) and ended, by
logout, idle timeout, expiry when next seen or a new login in the same browser, each revoking the provider's
refresh token (best effort); a refused refresh ends one without.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from .errors import GatewayError, NotAuthenticated, RefreshRejected
from .grants import KmsLayer, open_grant, seal_grant
from .observability import calls_for, log_unexpected, logger
from .providers import Provider, Refreshes
from .settings import Settings
from .store import Session, Store

SEEN_RESOLUTION_SECONDS = 60
"""A session's last use is written at most once a minute: the idle timeout is that precise, and reads stay reads."""
REFRESH_LEASE_SECONDS = 30
"""How long one request may hold a session's refresh; longer than a refresh's bounded provider calls."""


class Sessions:
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

    def current(self, session_id: str | None, refresh: bool = False) -> Session:
        """The caller's live session, refreshed from the provider when asked or stale; NotAuthenticated when
        there is none (or the provider no longer honours it)."""
        now = int(self._clock())
        session = self._store.get_session(session_id, now, include_expired=True) if session_id else None
        if session is None or session_id is None:
            raise NotAuthenticated("no live session")
        if session.expires_at <= now:
            self.end(session_id, "expired")
            raise NotAuthenticated("session expired")
        if now - session.seen_at >= self._settings.session_idle_seconds:
            self.end(session_id, "idle")
            raise NotAuthenticated("session idle too long")
        if now - session.seen_at >= SEEN_RESOLUTION_SECONDS:
            self._store.touch_session(session_id, now)
        after = self._settings.refresh_after_seconds
        stale = after > 0 and now - session.refreshed_at >= after
        if (refresh or stale) and session.sealed_grant is not None:
            return self._refresh(session_id, session, now)
        return session

    def end(self, session_id: str, reason: str) -> None:
        """Delete the session and revoke its refresh token: a session's end by logout, idle timeout or expiry
        (and, through :meth:`.flows.Gateway.begin_login`, by a new login in the same browser). A refused refresh
        ends one without: the provider already refused its token."""
        ended = self._store.delete_session(session_id)
        if ended is not None:
            self.revoke(session_id, ended, reason)

    def revoke(self, session_id: str, ended: Session, reason: str, grant: dict[str, str] | None = None) -> None:
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
            self.revoke(session_id, session, "ended during its refresh", refreshed.grant)
            raise NotAuthenticated("the session ended during its refresh")
        logger.info("session refreshed", extra={"provider": provider.id})
        return session
