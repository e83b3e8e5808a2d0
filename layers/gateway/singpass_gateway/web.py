"""API Gateway HTTP API (payload 2.0) events in, responses out: parsing, cookies, CSRF, Fetch Metadata, error
bodies, and the refusal of requests that bypassed the CloudFront distribution in front of the API.

Handlers use this module to stay thin; nothing here knows about providers or protocols.
"""

from __future__ import annotations

import functools
import hmac
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .errors import CsrfRejected, DirectAccessRefused, GatewayError, InvalidRequest, NavigationRequired
from .observability import log_unexpected, logger
from .settings import Settings, origin_secret

SESSION_COOKIE = "__Host-sgw_session"
LOGIN_COOKIE = "__Host-sgw_login"
"""``__Host-`` cookies must be Secure, host-only and Path=/, so a sibling subdomain cannot plant or shadow them."""
_SAME_SITE = {SESSION_COOKIE: "Strict", LOGIN_COOKIE: "Lax"}
"""Only the frontend's own requests need the session cookie (Strict: no cross-site request carries it, not even a
top-level navigation); the login cookie must come back on the provider's cross-site redirect to the callback."""
CSRF_HEADER = "x-csrf"
"""A custom header a cross-site form or image cannot send; fetch from another origin needs a CORS preflight."""
PREFLIGHT_MAX_AGE_SECONDS = 600
"""How long a browser may reuse a CORS preflight answer (Chromium caps it at 7200)."""
CORS_METHODS = frozenset({"GET", "POST"})
CORS_REQUEST_HEADERS = frozenset({CSRF_HEADER, "content-type"})
NAVIGATION = {"sec-fetch-mode": "navigate", "sec-fetch-dest": "document"}
"""The Fetch Metadata of a top-level navigation (a link, a typed URL, ``location.assign``, a redirect); an
``<img>``, a script, a frame, ``fetch`` or a prefetch says otherwise."""
PREFETCH_HEADERS = ("sec-purpose", "purpose", "x-purpose", "x-moz")
ORIGIN_HEADER = "x-origin-verify"
"""The header CloudFront adds to every request it forwards to the API (template.yaml's OriginCustomHeaders), with
the deployment's secret value (:func:`singpass_gateway.settings.origin_secret`); it overwrites one a viewer sends."""
"""Where browsers mark a prefetch, prerender or preview (``prefetch``, ``preview``): it may look like a navigation,
but nobody clicked."""

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

Event = Mapping[str, Any]
Response = dict[str, Any]
Handler = Callable[["Request"], Response]


@dataclass(frozen=True)
class Request:
    method: str
    route: str
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    cookies: Mapping[str, str]
    origin: str
    repeated: frozenset[str] = frozenset()
    """Query parameters sent more than once: API Gateway hands over their values joined with commas, a value
    no browser sent (``?return_to=/a&return_to=//evil`` arrives as ``/a,//evil``)."""

    @classmethod
    def from_event(cls, event: Event) -> Request:
        context = event.get("requestContext") or {}
        return cls(
            method=str((context.get("http") or {}).get("method", "")).upper(),
            route=str(event.get("routeKey", "")),
            path_params=dict(event.get("pathParameters") or {}),
            query=dict(event.get("queryStringParameters") or {}),
            headers={name.lower(): value for name, value in (event.get("headers") or {}).items()},
            cookies=_cookies(event.get("cookies") or ()),
            origin=f"https://{context.get('domainName', '')}",
            repeated=_repeated(str(event.get("rawQueryString") or "")),
        )

    def query_value(self, name: str, refusal: type[GatewayError] = InvalidRequest) -> str | None:
        """The query parameter ``name`` as the browser sent it (None without it); sent more than once, it is
        refused with ``refusal``: which of its values was meant, or whether the commas are its own, is a guess."""
        if name in self.repeated:
            raise refusal(f"query parameter {name!r} sent more than once")
        return self.query.get(name)

    def require_csrf_header(self) -> None:
        if self.headers.get(CSRF_HEADER) != "1":
            raise CsrfRejected(f"missing {CSRF_HEADER} header")

    def require_navigation(self) -> None:
        """Refuse a request the browser marks (Fetch Metadata) as anything but a top-level navigation to a page:
        ``Sec-Fetch-Mode`` and ``Sec-Fetch-Dest``, each where sent, must be ``navigate`` and ``document``, and it
        must not be a prefetch, prerender or preview (``Sec-Purpose`` and its older forms). A request without
        them (a browser from before Fetch Metadata, or no browser) passes. Where the navigation comes from
        (``Sec-Fetch-Site``) and whether a person's gesture caused it (``Sec-Fetch-User``) do not matter: a link
        from another site, or a script's ``location.assign``, is a fine way to start a login; and a cross-site
        request carries no session (SameSite=Strict) for a login to end."""
        for header, wanted in NAVIGATION.items():
            sent = self.headers.get(header)
            if sent is not None and sent.strip().lower() != wanted:
                raise NavigationRequired(f"{header}: {sent[:40]!r}")
        for header in PREFETCH_HEADERS:
            purpose = self.headers.get(header, "").lower()
            if "prefetch" in purpose or "preview" in purpose:
                raise NavigationRequired(f"{header}: {purpose[:40]!r}")


def _repeated(raw_query: str) -> frozenset[str]:
    """The names the raw query string holds more than once (``queryStringParameters`` cannot tell)."""
    counts = Counter(name for name, _ in parse_qsl(raw_query, keep_blank_values=True))
    return frozenset(name for name, count in counts.items() if count > 1)


def _cookies(pairs: Sequence[str]) -> dict[str, str]:
    """Cookie pairs by name; the first of duplicate names wins, as in browsers' most-specific-first order."""
    cookies: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if sep and name.strip() not in cookies:
            cookies[name.strip()] = value.strip()
    return cookies


def set_cookie(name: str, value: str, max_age: int) -> str:
    return f"{name}={value}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite={_SAME_SITE[name]}"


def expire_cookie(name: str) -> str:
    """Expire ``name`` with the attributes it was set with."""
    return set_cookie(name, "", 0)


def json_response(status: int, body: object, cookies: Sequence[str] = ()) -> Response:
    return {
        "statusCode": status,
        "headers": {**SECURITY_HEADERS, "Content-Type": "application/json"},
        "cookies": list(cookies),
        "body": json.dumps(body, separators=(",", ":")),
    }


def public_json(body: object, max_age: int) -> Response:
    """A JSON document anyone may fetch and cache (the client JWKS, the OpenAPI document): the security headers
    but a public ``Cache-Control``."""
    return {
        "statusCode": 200,
        "headers": {
            **SECURITY_HEADERS,
            "Cache-Control": f"public, max-age={max_age}",
            "Content-Type": "application/json",
        },
        "body": json.dumps(body, separators=(",", ":")),
    }


def redirect(location: str, cookies: Sequence[str] = ()) -> Response:
    return {"statusCode": 302, "headers": {**SECURITY_HEADERS, "Location": location}, "cookies": list(cookies)}


def no_content(cookies: Sequence[str] = ()) -> Response:
    return {"statusCode": 204, "headers": dict(SECURITY_HEADERS), "cookies": list(cookies)}


def error_response(error: GatewayError, cookies: Sequence[str] = ()) -> Response:
    """The error's stable code as JSON; its detail stays in the logs."""
    return json_response(error.status, {"error": error.code}, cookies)


def serve_api(request: Request, routes: Mapping[str, Handler], config: Settings) -> Response:
    """Run a data route behind the checks every one of them needs, made here once so no route can miss one:
    :func:`guarded`'s, the ``Origin`` allow-list, the CSRF header, and CORS for frontends on another origin (with
    credentials, for exactly the configured origins: never ``*``, never a reflected foreign origin)."""

    @guarded
    def serve(request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin is not None and not config.origin_allowed(origin, request.origin):
            logger.warning("request refused", extra={"error_code": CsrfRejected.code, "detail": "origin not allowed"})
            return error_response(CsrfRejected("origin not allowed"))
        if request.method == "OPTIONS":
            return _preflight(request, origin)
        response = _checked_route(request, routes)
        if origin is not None:
            response["headers"].update(_cors_headers(origin))
        return response

    return serve(request)


def guarded(handler: Handler) -> Handler:
    """The wrapper every request passes through (every handler's, and :func:`serve_api`'s routes): refuse one that
    bypassed the CloudFront distribution in front of the API (:func:`require_front_door`), then run ``handler``
    with typed errors turned into their JSON answers and anything unexpected into a bare ``internal_error``."""

    def checked(request: Request) -> Response:
        require_front_door(request)
        return handler(request)

    return functools.wraps(handler)(_answering(checked))


def require_front_door(request: Request) -> None:
    """Refuse (403 ``direct_access_refused``) a request without the secret origin header CloudFront adds, when the
    deployment says CloudFront fronts the API (:func:`singpass_gateway.settings.origin_secret`): API Gateway's own
    URL stays reachable, and a request made to it would skip the distribution's web ACL and per-IP limits. Made
    before anything else, so such a request costs no KMS, DynamoDB or provider call. Without the setting (a site
    hosted elsewhere, the sandbox), nothing is checked."""
    expected = origin_secret()
    if expected is None:
        return
    sent = request.headers.get(ORIGIN_HEADER)
    if sent is None or not hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode()):
        detail = "no origin header: not through CloudFront" if sent is None else "wrong origin header"
        logger.warning("request refused", extra={"error_code": DirectAccessRefused.code, "detail": detail})
        raise DirectAccessRefused(detail)


def _answering(handler: Handler) -> Handler:
    """``handler`` with typed errors as their JSON answers and anything unexpected as a bare ``internal_error``."""

    def run(request: Request) -> Response:
        try:
            return handler(request)
        except GatewayError as error:
            if error.status >= 500:
                logger.error("request failed", extra={"error_code": error.code, "detail": error.detail})
            return error_response(error)
        except Exception as error:
            log_unexpected(error)
            return error_response(GatewayError("unexpected"))

    return run


def _checked_route(request: Request, routes: Mapping[str, Handler]) -> Response:
    """The route behind its CSRF header (:func:`serve_api` has made :func:`guarded`'s checks already)."""

    def run(request: Request) -> Response:
        request.require_csrf_header()
        return routes[request.route](request)

    return _answering(run)(request)


def _preflight(request: Request, origin: str | None) -> Response:
    """Grant a CORS preflight for the methods and headers the data routes use, or refuse it."""
    method = request.headers.get("access-control-request-method", "")
    asked = {name.strip().lower() for name in request.headers.get("access-control-request-headers", "").split(",")}
    if origin is None or method not in CORS_METHODS or not asked - {""} <= CORS_REQUEST_HEADERS:
        return error_response(CsrfRejected("preflight for a method or header the API does not use"))
    headers = {
        **_cors_headers(origin),
        "Access-Control-Allow-Methods": ", ".join(sorted(CORS_METHODS)),
        "Access-Control-Allow-Headers": "X-CSRF, Content-Type",
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
    }
    return {"statusCode": 204, "headers": {**SECURITY_HEADERS, **headers}, "cookies": []}


def _cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}
