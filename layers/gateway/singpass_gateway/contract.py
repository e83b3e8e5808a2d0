"""The HTTP contract as an OpenAPI 3.1 document, built from the code that keeps it.

Served at ``GET /api/openapi.json`` (functions/openapi) and printed by ``python -m singpass_gateway openapi``.
Nothing in it is a hand-kept copy of something the code decides: error codes and their statuses come from the
classes in :mod:`singpass_gateway.errors`, cookie and header names, security headers and CORS rules from
:mod:`singpass_gateway.web`, the provider id pattern from :mod:`singpass_gateway.settings`, MyInfo's provenance
facts from :mod:`singpass_gateway.person`. What no module holds as data (which route answers what) is said here
once, in :data:`ROUTES`; tests hold ROUTES equal to template.yaml's HttpApi events, which is what API Gateway
routes, and the integration suite checks the sandbox's real answers against this document with schemathesis.

It imports no AWS SDK, so the function that serves it starts cold without one.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from . import web
from .errors import (
    CsrfRejected,
    DirectAccessRefused,
    GatewayError,
    InvalidRequest,
    InvalidReturnTo,
    LoginError,
    NavigationRequired,
    NotAuthenticated,
    ServiceUnavailable,
    UnknownProvider,
)
from .person import PROVENANCE
from .settings import PROVIDER_ID

Json = dict[str, Any]

OPENAPI_VERSION = "3.1.0"
CONTRACT_VERSION = "1"
"""The contract's own version (OpenAPI's ``info.version``): raise it when a change could break a frontend."""


@dataclass(frozen=True)
class Route:
    """One route of template.yaml: what it takes and every answer it can give."""

    operation_id: str
    summary: str
    answers: Mapping[int, Json]
    """The answers that are not errors, by status."""
    errors: tuple[type[GatewayError], ...] = ()
    """The typed errors it answers with a JSON ``{"error": code}`` (besides ``internal_error``, which all can)."""
    parameters: tuple[str, ...] = ()
    """Names in ``components.parameters``."""
    session: Literal["none", "optional", "required"] = "none"
    """Whether it reads the session cookie."""
    data_route: bool = False
    """Served through :func:`singpass_gateway.web.serve_api`: Origin allow-list, X-CSRF, CORS preflight."""
    description: str = ""
    redirect_errors: tuple[type[GatewayError], ...] = ()
    """Errors that send the browser back to the frontend with ``?error=<code>`` instead of a JSON answer."""


def family(error: type[GatewayError]) -> list[type[GatewayError]]:
    """``error`` and every subclass of it, however deep (the codes a handler catching ``error`` can meet)."""
    return [error, *(member for subclass in error.__subclasses__() for member in family(subclass))]


def login_errors() -> list[type[GatewayError]]:
    """What a provider or the transaction store can fail a login with (LoginError's subclasses; the base class
    itself is never raised)."""
    return family(LoginError)[1:]


def codes(errors: tuple[type[GatewayError], ...] | list[type[GatewayError]]) -> list[str]:
    return sorted({error.code for error in errors})


# -- responses ------------------------------------------------------------------------------------------

SECURITY_HEADER_SPECS = {name: {"$ref": f"#/components/headers/{name}"} for name in web.SECURITY_HEADERS}
"""On every answer (:data:`singpass_gateway.web.SECURITY_HEADERS`); the public documents replace Cache-Control."""


def json_answer(description: str, schema: Json, headers: Mapping[str, Json] = SECURITY_HEADER_SPECS) -> Json:
    return {"description": description, "headers": dict(headers), "content": {"application/json": {"schema": schema}}}


def public_json(description: str, schema: Json) -> Json:
    """A document anyone may fetch and cache (:func:`singpass_gateway.web.public_json`)."""
    cache_control = {"required": True, "schema": {"type": "string", "pattern": r"^public, max-age=\d+$"}}
    return json_answer(description, schema, {**SECURITY_HEADER_SPECS, "Cache-Control": cache_control})


def set_cookie_header(description: str, *cookies: str) -> Json:
    example = ", ".join(web.set_cookie(name, "…", 600) for name in cookies)
    return {"description": description, "schema": {"type": "string"}, "example": example}


def redirect(description: str, set_cookie: Json) -> Json:
    location = {"required": True, "schema": {"type": "string", "minLength": 1}}
    return {
        "description": description,
        "headers": {**SECURITY_HEADER_SPECS, "Location": location, "Set-Cookie": set_cookie},
    }


def no_content(description: str, headers: Mapping[str, Json]) -> Json:
    return {"description": description, "headers": {**SECURITY_HEADER_SPECS, **headers}}


def error_answers(errors: tuple[type[GatewayError], ...]) -> dict[int, Json]:
    """One answer per status, its body an Error whose code is one of those this route gives with that status."""
    by_status: dict[int, set[str]] = {}
    for error in errors:
        by_status.setdefault(error.status, set()).add(error.code)
    return {
        status: json_answer(
            f"The stable error code{'s' if len(names) > 1 else ''} {', '.join(sorted(names))}.",
            {"allOf": [{"$ref": "#/components/schemas/Error"}, {"properties": {"error": {"enum": sorted(names)}}}]},
        )
        for status, names in sorted(by_status.items())
    }


# -- the routes -----------------------------------------------------------------------------------------

LOGIN_COOKIE_SET = set_cookie_header(
    "The short-lived browser-binding login cookie (absent when the login goes straight back with an error).",
    web.LOGIN_COOKIE,
)
CALLBACK_COOKIES = set_cookie_header(
    "The spent login cookie expired and, after a login, the new session cookie.", web.LOGIN_COOKIE, web.SESSION_COOKIE
)

ROUTES: dict[str, Route] = {
    "GET /auth/{provider}/login": Route(
        operation_id="startLogin",
        summary="Start a login: redirect the browser to the provider.",
        description="Ends the session the browser holds, if any. Navigate the browser here; do not fetch it.",
        parameters=("Provider", "ReturnTo"),
        session="optional",
        answers={
            302: redirect(
                "To the provider's authorization page; or, when the provider or AWS fails, back to the frontend's "
                "`return_to` with `?error=<code>`.",
                LOGIN_COOKIE_SET,
            )
        },
        errors=(UnknownProvider, InvalidReturnTo, NavigationRequired),
        redirect_errors=(*login_errors(), ServiceUnavailable),
    ),
    "GET /auth/{provider}/callback": Route(
        operation_id="completeLogin",
        summary="Finish a login (the provider redirects the browser here) and redirect to the frontend.",
        parameters=("Provider", "State", "Code", "ProviderError", "Issuer", "LoginCookie"),
        answers={
            302: redirect(
                "To the frontend's `return_to` with a new session; after any failure to `return_to` (or `/`) "
                "with `?error=<code>` and no session.",
                CALLBACK_COOKIES,
            )
        },
        errors=(UnknownProvider,),
        redirect_errors=(*login_errors(), ServiceUnavailable, InvalidRequest, GatewayError),
    ),
    "GET /api/me": Route(
        operation_id="me",
        summary="The logged-in person: provider, subject, person data, authentication and provenance.",
        description="With `refresh=true`, or when the data is older than the deployment's refresh age, the "
        "session is first refreshed at the provider, whose failures are login error codes; a refresh token the "
        "provider no longer honours ends the session (401).",
        parameters=("Refresh",),
        session="required",
        data_route=True,
        answers={200: json_answer("The session's data.", {"$ref": "#/components/schemas/Me"})},
        errors=(NotAuthenticated, ServiceUnavailable, *login_errors()),
    ),
    "POST /auth/logout": Route(
        operation_id="logout",
        summary="End the session: revoke the provider's refresh token, delete the session, expire the cookie.",
        session="optional",
        data_route=True,
        answers={
            204: no_content(
                "Logged out (also without a session).",
                {"Set-Cookie": set_cookie_header("The session cookie, expired.", web.SESSION_COOKIE)},
            )
        },
        errors=(ServiceUnavailable,),
    ),
    "GET /api/providers": Route(
        operation_id="providers",
        summary="The configured providers, for the frontend's login buttons.",
        data_route=True,
        answers={200: json_answer("In the deployment's order.", {"$ref": "#/components/schemas/Providers"})},
    ),
    "GET /.well-known/jwks.json": Route(
        operation_id="jwks",
        summary="Every provider's signing keys; encryption keys only while a single provider has any.",
        answers={200: public_json("The shared client keys.", {"$ref": "#/components/schemas/Jwks"})},
        errors=(ServiceUnavailable,),
    ),
    "GET /.well-known/jwks/{provider}": Route(
        operation_id="providerJwks",
        summary="One provider's client keys alone: the JWKS to register with it (Singpass, MyInfo v4).",
        parameters=("Provider",),
        answers={200: public_json("This provider's client keys.", {"$ref": "#/components/schemas/Jwks"})},
        errors=(UnknownProvider, ServiceUnavailable),
    ),
    "GET /api/openapi.json": Route(
        operation_id="openapi",
        summary="This document.",
        answers={200: public_json("The HTTP contract, OpenAPI 3.1.", {"$ref": "#/components/schemas/OpenApi"})},
    ),
}
"""Every route, keyed as template.yaml routes it; a data route's CORS preflight is added by :func:`paths`."""


def route_keys() -> set[str]:
    """Every ``METHOD /path`` the document describes, preflights included (what template.yaml must route)."""
    return {f"{method.upper()} {path}" for path, item in paths().items() for method in item}


# -- the document ---------------------------------------------------------------------------------------


@functools.cache
def document() -> Json:
    """The whole OpenAPI document (built once per container: it depends on nothing but the code)."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "singpass-gateway",
            "version": CONTRACT_VERSION,
            "description": "A backend-for-frontend for Singpass, MyInfo, sgID and OpenID Connect logins. The "
            "browser holds only an HttpOnly session cookie; the frontend reads the person with `GET /api/me`. "
            f'Every error is a JSON `{{"error": code}}` (or, on browser navigations, a redirect with '
            f"`?error=code`) with one of the stable codes: {', '.join(codes(family(GatewayError)))}.",
        },
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "parameters": parameters(),
            "headers": {
                name: {"required": True, "schema": {"const": value}} for name, value in web.SECURITY_HEADERS.items()
            },
            "securitySchemes": {"session": session_scheme()},
        },
    }


def paths() -> dict[str, Json]:
    items: dict[str, Json] = {}
    for key, route in ROUTES.items():
        method, path = key.split(" ", 1)
        items.setdefault(path, {})[method.lower()] = operation(route)
        if route.data_route:
            items[path]["options"] = preflight(route, path)
    return items


def operation(route: Route) -> Json:
    parameter_names = (*route.parameters, "Csrf", "Origin") if route.data_route else route.parameters
    # Behind CloudFront, any route refuses a request that bypassed it (web.require_front_door).
    always = (DirectAccessRefused, GatewayError)
    errors = (*route.errors, CsrfRejected, *always) if route.data_route else (*route.errors, *always)
    description = route.description
    if route.redirect_errors:
        description += f" Codes a redirect can carry in `error`: {', '.join(codes(route.redirect_errors))}."
    spec: Json = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "parameters": [{"$ref": f"#/components/parameters/{name}"} for name in parameter_names],
        "responses": {str(status): answer for status, answer in {**route.answers, **error_answers(errors)}.items()},
    }
    if description.strip():
        spec["description"] = description.strip()
    spec["security"] = SECURITY[route.session]
    return spec


SECURITY: dict[str, list[Json]] = {"none": [], "optional": [{}, {"session": []}], "required": [{"session": []}]}
"""OpenAPI's ``security`` for each :attr:`Route.session`: ``{}`` is "or without"."""


def preflight(route: Route, path: str) -> Json:
    """The CORS preflight :func:`singpass_gateway.web.serve_api` answers for each data route."""
    cors = {
        "Access-Control-Allow-Origin": {"required": True, "schema": {"type": "string"}},
        "Access-Control-Allow-Credentials": {"required": True, "schema": {"const": "true"}},
        "Access-Control-Allow-Methods": {"required": True, "schema": {"type": "string"}},
        "Access-Control-Allow-Headers": {"required": True, "schema": {"type": "string"}},
        "Access-Control-Max-Age": {"required": True, "schema": {"const": str(web.PREFLIGHT_MAX_AGE_SECONDS)}},
    }
    return {
        "operationId": f"{route.operation_id}Preflight",
        "summary": f"The CORS preflight of {path}, granted to the allowed origins only.",
        "parameters": [
            {"$ref": "#/components/parameters/PreflightOrigin"},
            {"$ref": "#/components/parameters/PreflightMethod"},
            {"$ref": "#/components/parameters/PreflightHeaders"},
        ],
        "security": [],
        "responses": {
            "204": no_content("Granted, for this origin, with credentials.", cors),
            **{str(status): answer for status, answer in error_answers((CsrfRejected, DirectAccessRefused)).items()},
        },
    }


def parameters() -> dict[str, Json]:
    provider_id = {"type": "string", "pattern": PROVIDER_ID.pattern}
    optional_text = {"type": "string"}
    return {
        "Provider": path_parameter("provider", provider_id, "A configured provider's id, e.g. `sgid`.", "sgid"),
        "ReturnTo": query_parameter(
            "return_to",
            optional_text,
            "A path on the frontend to come back to (`/` when absent); anything that "
            "could leave the site (`//host`, `https:…`, `\\`) is refused with `invalid_return_to`.",
            "/account",
        ),
        "State": query_parameter("state", optional_text, "The state the login sent to the provider."),
        "Code": query_parameter("code", optional_text, "The authorization code."),
        "ProviderError": query_parameter("error", optional_text, "The provider's OAuth error, instead of a code."),
        "Issuer": query_parameter("iss", optional_text, "The provider's issuer (RFC 9207), where it sends one."),
        "LoginCookie": {
            "name": web.LOGIN_COOKIE,
            "in": "cookie",
            "schema": optional_text,
            "description": "The browser-binding cookie the login set: only the browser that started a login can "
            "finish it.",
        },
        "Refresh": query_parameter(
            "refresh", {"enum": ["true", "false"]}, "`true`: refresh the data from the provider first."
        ),
        "Csrf": {
            "name": web.CSRF_HEADER.upper(),
            "in": "header",
            "required": True,
            "schema": {"const": "1"},
            "description": "Required on every data route (else 403 `csrf_rejected`): a cross-site form or image "
            "cannot send it, and a cross-origin fetch cannot without a CORS preflight.",
        },
        "Origin": {
            "name": "Origin",
            "in": "header",
            "schema": optional_text,
            "description": "When present, must be the API's own origin, the frontend's or an allowed one "
            "(else 403 `csrf_rejected`); allowed foreign origins get credentialed CORS headers.",
        },
        "PreflightOrigin": {"name": "Origin", "in": "header", "required": True, "schema": optional_text},
        "PreflightMethod": {
            "name": "Access-Control-Request-Method",
            "in": "header",
            "required": True,
            "schema": {"enum": sorted(web.CORS_METHODS)},
        },
        "PreflightHeaders": {
            "name": "Access-Control-Request-Headers",
            "in": "header",
            "schema": optional_text,
            "description": f"Only {', '.join(sorted(web.CORS_REQUEST_HEADERS))} are granted.",
        },
    }


def path_parameter(name: str, schema: Json, description: str, example: str) -> Json:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description,
            "example": example}  # fmt: skip


def query_parameter(name: str, schema: Json, description: str, example: str | None = None) -> Json:
    parameter = {"name": name, "in": "query", "schema": schema, "description": description}
    return {**parameter, "example": example} if example is not None else parameter


def session_scheme() -> Json:
    return {
        "type": "apiKey",
        "in": "cookie",
        "name": web.SESSION_COOKIE,
        "description": "The HttpOnly session cookie the callback sets (`"
        + web.set_cookie(web.SESSION_COOKIE, "…", 3600)
        + '`). The browser sends it by itself: call with `credentials: "same-origin"` (or `"include"` '
        "from another allowed origin of the same site).",
    }


def schemas() -> dict[str, Json]:
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"enum": codes(family(GatewayError))}},
            "additionalProperties": False,
            "description": "A stable machine code; the detail stays in the gateway's logs.",
        },
        "ProviderId": {"type": "string", "pattern": PROVIDER_ID.pattern},
        "Providers": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {"id": {"$ref": "#/components/schemas/ProviderId"}, "name": {"type": "string"}},
                "additionalProperties": False,
            },
        },
        "Me": me_schema(),
        "Authorisation": authorisation_schema(),
        "Jwks": {
            "type": "object",
            "required": ["keys"],
            "properties": {"keys": {"type": "array", "items": jwk_schema()}},
        },
        "OpenApi": {"type": "object", "required": ["openapi", "info", "paths"]},
    }


def authorisation_schema() -> Json:
    nullable = {"type": ["string", "null"]}
    return {
        "type": "object",
        "required": ["eservice", "role", "entity", "start", "end", "parameters", "third_party"],
        "properties": {
            "eservice": {"type": "string", "description": "The e-service (Corppass's CPESrvcID)."},
            "role": nullable,
            "entity": {**nullable, "description": "The sub-entity the role is for, if any."},
            "start": {**nullable, "description": "YYYY-MM-DD."},
            "end": {**nullable, "description": "YYYY-MM-DD; null when the authorisation does not end."},
            "parameters": {"type": "object"},
            "third_party": {"type": "boolean", "description": "Granted by a client entity (tp_auth_info)."},
            "missing": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Fields Corppass marks as not set (ERROR_MISSING_VALUE), shown as null.",
            },
        },
        "additionalProperties": False,
    }


def me_schema() -> Json:
    return {
        "type": "object",
        "required": ["provider", "sub", "person", "authentication"],
        "properties": {
            "provider": {"$ref": "#/components/schemas/ProviderId"},
            "sub": {"type": "string", "description": "The provider's subject for the person."},
            "person": {
                "type": "object",
                "description": 'Attribute name to plain value: strings, numbers, null for "not available", '
                "lists and objects for composites (addresses, phone numbers, lists of records). MyInfo names "
                "throughout: the NRIC/FIN is `uinfin`, also for a Singpass Login app, whose person is its ID "
                "token's `sub_attributes` (`uinfin`, `identity_coi`, `account_type`, `name`, `email`, "
                "`mobileno`).",
            },
            "authentication": {
                "type": "object",
                "properties": {"acr": {"type": "string"}, "amr": {"type": "array", "items": {"type": "string"}}},
                "description": "The provider's `acr` and `amr`, when it sends them.",
            },
            "entity": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": {"type": "string"},
                    **{
                        name: {"type": "string"}
                        for name in ("type", "registration_number", "coi", "name", "uen_status")
                    },
                },
                "description": "A login on behalf of an entity (Corppass) only: the entity (`id` its UEN or "
                "Corppass entity id, also the `sub`), and Myinfo Business's entity data as plain values.",
            },
            "act": {
                "type": "object",
                "required": ["sub"],
                "properties": {"sub": {"type": "string"}},
                "additionalProperties": False,
                "description": "A login on behalf of an entity only: the acting user (RFC 8693 `act`), whose "
                "details are `person`.",
            },
            "authorisations": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Authorisation"},
                "description": "A login on behalf of an entity only: the e-service roles the user holds.",
            },
            "access": {
                "type": "object",
                "required": ["scopes", "permissions"],
                "properties": {
                    "scopes": {"type": "array", "items": {"type": "string"}},
                    "permissions": {"type": "array", "items": {"type": "string"}},
                },
                "additionalProperties": False,
                "description": "A plain OAuth 2.0 provider (`oauth2`) only: what its access token grants, kept "
                "apart from `person`. `scopes` as the token (`scope`/`scp`) or the token response says, else those "
                "asked for; `permissions` from the configured claim (default `permissions`; e.g. `roles`), empty "
                "when the token has none. Refreshed with the session.",
            },
            "provenance": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {fact: {"type": "string"} for fact in PROVENANCE},
                    "additionalProperties": False,
                },
                "description": "MyInfo data only: per attribute, its `source` (1 government-verified, 2 "
                "user-provided, 3 not applicable, 4 Singpass-verified), `classification` and `lastupdated`.",
            },
        },
        "additionalProperties": False,
    }


def jwk_schema() -> Json:
    return {
        "type": "object",
        "required": ["kty", "kid", "use", "alg"],
        "properties": {
            "kty": {"enum": ["EC", "RSA"]},
            "kid": {"type": "string"},
            "use": {"enum": ["sig", "enc"]},
            "alg": {"type": "string"},
        },
        "description": "A public JWK (EC P-256 `x`/`y` or RSA `n`/`e`); never a private member.",
        "not": {"anyOf": [{"required": [member]} for member in ("d", "p", "q", "dp", "dq", "qi", "k")]},
    }


def print_document() -> None:
    """``python -m singpass_gateway openapi``: the document on stdout, as the API serves it but indented."""
    print(json.dumps(document(), indent=2, ensure_ascii=False))
