"""Typed errors, each with a stable machine code that the frontend can show.

The code (and only the code) crosses to the browser: upstream text, stack traces and personal data stay in
the ``detail``, which is for log lines and must itself never carry tokens or personal data.
"""

from __future__ import annotations

from typing import ClassVar


class GatewayError(Exception):
    """Base of every error the gateway reports on purpose."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail


class UnknownProvider(GatewayError):
    code = "unknown_provider"
    status = 404


class InvalidReturnTo(GatewayError):
    """``return_to`` was not a plain relative path (open-redirect defence)."""

    code = "invalid_return_to"
    status = 400


class InvalidRequest(GatewayError):
    """A parameter was malformed or oversized."""

    code = "invalid_request"
    status = 400


class NotAuthenticated(GatewayError):
    code = "not_authenticated"
    status = 401


class CsrfRejected(GatewayError):
    """A state-changing or data route was called without the custom CSRF header."""

    code = "csrf_rejected"
    status = 403


class NavigationRequired(GatewayError):
    """The browser said (Fetch Metadata) that the login URL was loaded as something other than a page, e.g. an
    ``<img>``, a script, a frame or a prefetch: starting a login ends the browser's session, so only a top-level
    navigation may start one."""

    code = "navigation_required"
    status = 403


class DirectAccessRefused(GatewayError):
    """The request did not come through the CloudFront distribution that fronts the API (it lacks the secret origin
    header CloudFront adds, or carries another value): a request to API Gateway's own URL would skip the
    distribution's web ACL and its per-IP rate limits. Only deployments behind CloudFront refuse such requests."""

    code = "direct_access_refused"
    status = 403


class ServiceUnavailable(GatewayError):
    """An AWS service the gateway stands on (DynamoDB, KMS, Secrets Manager) failed or throttled: nobody's
    mistake, and the request can be tried again later. One code for all of them: which one is for the logs."""

    code = "service_unavailable"
    status = 503


class LoginError(GatewayError):
    """A login that failed at the callback; the browser is redirected with ``?error=<code>``."""

    status = 400


class InvalidState(LoginError):
    """Unknown, replayed, foreign (other browser) or missing ``state``."""

    code = "invalid_state"


class LoginExpired(LoginError):
    code = "login_expired"


class AccessDenied(LoginError):
    """The person cancelled or refused consent at the provider."""

    code = "access_denied"


class ProviderError(LoginError):
    """The provider answered the authorization request with an error other than access_denied."""

    code = "provider_error"


class ProviderMaintenance(LoginError):
    """The provider says it is down for maintenance (MyInfo's ``503``, OAuth's ``temporarily_unavailable``)."""

    code = "provider_maintenance"
    status = 503


class InvalidCallback(LoginError):
    """The callback carried neither a code nor an error."""

    code = "invalid_callback"


class ProviderUnavailable(LoginError):
    """The provider could not be reached, timed out, or answered 5xx or a malformed body."""

    code = "provider_unavailable"
    status = 502


class TokenRejected(LoginError):
    """The provider's token endpoint refused the code exchange (reused or expired code, bad client auth)."""

    code = "token_rejected"


class RequestUnauthorized(LoginError):
    """The provider refused the gateway's signed request (MyInfo 401): signature, timestamp, nonce, client id or
    secret, or attributes that differ from what the person consented to."""

    code = "request_unauthorized"


class RequestForbidden(LoginError):
    """The provider refused this client or URL (MyInfo 403/404 at the token step): attributes not allowed for
    the service, a service not registered, or a wrong API URL. A deployment problem, not the person's."""

    code = "request_forbidden"


class NoMyinfoProfile(LoginError):
    """MyInfo has no profile for the person (MyInfo 404 at the person step), e.g. a Singpass account that
    is less than a day old."""

    code = "no_myinfo_profile"


class InsufficientAssurance(LoginError):
    """The person logged in at a lower assurance level (the ID token's ``acr``) than the login asked for with
    ``acr_values``: the provider may answer with less than was asked, so the gateway refuses it itself."""

    code = "insufficient_assurance"


class InvalidToken(LoginError):
    """A token or encrypted payload from the provider failed validation, signature or decryption."""

    code = "invalid_token"


class PersonDataTooLarge(LoginError):
    """The person's data arrived within every limit (a person document of up to 1 MiB) but is too large to keep:
    even compressed, the session would not fit one DynamoDB item (400 KB). Refused before DynamoDB is asked, at
    login (no session) and at a refresh (the session keeps its earlier data). Retrying cannot help."""

    code = "person_data_too_large"


class RefreshRejected(GatewayError):
    """The provider no longer honours the refresh token (``invalid_grant``): the session must end."""

    code = "not_authenticated"
    status = 401


class ConfigurationError(GatewayError):
    """The deployment's settings are invalid; raised at start-up, never per request."""
