"""The use cases, each one call from a handler: begin_login, complete_login, current_session, logout.

State, nonce, PKCE, browser binding, sessions and redirects are handled here once for every provider. Flows
never parse tokens (providers do, through :mod:`singpass_gateway.jose`) and never format HTTP responses
(handlers do, through :mod:`singpass_gateway.web`). Logins are counted here too (started, succeeded, failed by
stable code; callbacks refused before they spent a login apart from them), and each provider call is attributed
to its provider for the upstream metrics. However a session ends (logout, a new login in the same browser, idle
timeout, expiry when next seen) its provider's refresh token is revoked, best effort: :mod:`.sessions` keeps a
session's life after login, and :mod:`.return_paths` the grammar of where a login returns to.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import publication
from .errors import (
    AccessDenied,
    GatewayError,
    InvalidCallback,
    InvalidRequest,
    InvalidState,
    ProviderError,
    ProviderMaintenance,
    ProviderUnavailable,
    UnknownProvider,
)
from .grants import KmsLayer, seal_grant
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
    Toolkit,
    build_providers,
)
from .return_paths import carried, safe_return_to, with_error
from .sealing import KmsSealer
from .sessions import Sessions
from .settings import Settings, settings
from .store import LoginTransaction, Session, Store, StoreUnavailable

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
        self._sessions = Sessions(config, store, providers, sealer, clock)

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
        time leaves the login to go on (:meth:`.sessions.Sessions.revoke`).

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
                self._sessions.revoke(previous_session_id, held, "replaced by a new login")
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
        """The caller's live session, refreshed from the provider when asked or stale (:mod:`.sessions`)."""
        return self._sessions.current(session_id, refresh)

    def logout(self, session_id: str | None) -> None:
        """Delete the session and revoke the provider's refresh token where it can (idempotent)."""
        if session_id:
            self._sessions.end(session_id, "logout")

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
        return self._settings.frontend_url + (path if carried(path) else "/")


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
