"""Typed settings, parsed once per Lambda container from the environment.

This is the only module that reads ``os.environ``. Provider entries keep their provider-specific options as a
mapping here; each provider module turns its options into its own typed config when the provider registry is
built (also once per container), so that adding a provider type does not touch this file.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigurationError
from .urls import UrlPolicy, base_url, origin_of

PROVIDER_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
MAX_LOGIN_TTL_SECONDS = 600
"""A login transaction lives at most 10 minutes: long enough to log in, short enough to limit replay."""
ALLOW_LOCAL_PROVIDERS = "GATEWAY_ALLOW_LOCAL_PROVIDERS"
"""The switch that marks a sandbox or development deployment (see :class:`UrlPolicy`); template.yaml never sets it."""


@dataclass(frozen=True)
class ProviderSettings:
    """One entry of ``GATEWAY_PROVIDERS``: identity and display name, plus the type's own options."""

    id: str
    type: str
    name: str
    options: Mapping[str, Any]
    url_policy: UrlPolicy = field(default_factory=UrlPolicy)
    """What the provider's URLs, configured or discovered, are checked against (the deployment's)."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    frontend_url: str
    """Origin (and optional base path) of the static site; every redirect back to the browser goes here."""
    public_url: str | None
    """Where this API is reachable from browsers; redirect URIs derive from it. None: the request's host."""
    session_ttl_seconds: int
    """Absolute session lifetime, from login."""
    session_idle_seconds: int
    """A session unused for this long ends, however long its absolute lifetime."""
    login_ttl_seconds: int
    secret_cache_seconds: int
    http_timeout_seconds: float
    session_key_arn: str | None
    """KMS key that seals upstream refresh tokens in sessions. None: refresh tokens are not kept."""
    refresh_after_seconds: int
    """/api/me refreshes a session whose data is older than this (0: only when asked with ?refresh=true)."""
    providers: tuple[ProviderSettings, ...]
    allowed_origins: frozenset[str] = frozenset()
    """Browser origins that may call the data routes with credentials (CORS): the frontend's own origin plus
    ``GATEWAY_ALLOWED_ORIGINS``. Requests from any other origin are refused."""
    url_policy: UrlPolicy = field(default_factory=UrlPolicy)
    """Which provider URLs and addresses may be called (local ones only in a sandbox)."""

    def origin_allowed(self, origin: str, request_origin: str) -> bool:
        """Whether a request's ``Origin`` header names a site allowed to use the API: a configured frontend
        origin, or the API's own (a same-origin deployment)."""
        return origin in self.allowed_origins or origin == origin_of(self.public_url or request_origin)

    def redirect_uri(self, provider_id: str, request_origin: str) -> str:
        """The exact callback URL registered with the provider for ``provider_id``."""
        return f"{self.public_url or request_origin}/auth/{provider_id}/callback"


@functools.cache
def settings() -> Settings:
    """The container's settings (parsed on first use, then reused by every invocation)."""
    return load_settings(with_site_url(os.environ, _ssm_parameter))


@functools.cache
def tracing_enabled() -> bool:
    """Whether X-Ray traces the handlers (``GATEWAY_TRACING``). Read apart from :func:`settings`: handlers decide
    it when imported, and the OpenAPI function, which reads no other setting, must not need the site URL's SSM
    parameter (nor any AWS access) to start."""
    return _flag(os.environ, "GATEWAY_TRACING")


MIN_ORIGIN_SECRET_LENGTH = 32


@functools.cache
def origin_secret() -> str | None:
    """The value the CloudFront distribution in front of the API sends in its secret origin header
    (``GATEWAY_ORIGIN_SECRET``; template.yaml generates it), which every request must carry; None - nothing is known
    to front the API (SiteHosting None, the sandbox) and no request is refused for lacking it.

    Read apart from :func:`settings`, like :func:`tracing_enabled`: every handler checks it, the OpenAPI function
    too, which reads no other setting."""
    return parse_origin_secret(os.environ)


def parse_origin_secret(environ: Mapping[str, str]) -> str | None:
    """``GATEWAY_ORIGIN_SECRET``: empty, or at least 32 printable ASCII characters (a header value, hard to guess)."""
    value = environ.get("GATEWAY_ORIGIN_SECRET", "").strip()
    if not value:
        return None
    if len(value) < MIN_ORIGIN_SECRET_LENGTH or not (value.isascii() and value.isprintable()):
        raise ConfigurationError(
            f"GATEWAY_ORIGIN_SECRET must be at least {MIN_ORIGIN_SECRET_LENGTH} printable ASCII characters"
        )
    return value


@functools.cache
def public_keys_only() -> bool:
    """Whether this function only publishes the gateway's keys (``GATEWAY_PUBLIC_KEYS_ONLY``, the JWKS function's):
    a PEM-backed key is then its public half, stored beside its secret, and the private PEM is never read (the
    function's role cannot read it). Unset - the keys sign and decrypt."""
    return _flag(os.environ, "GATEWAY_PUBLIC_KEYS_ONLY")


def with_site_url(environ: Mapping[str, str], read_parameter: Callable[[str], str]) -> Mapping[str, str]:
    """The environment with the frontend and public URL read from ``GATEWAY_SITE_URL_PARAMETER``, if it is set.

    A stack that serves the site through CloudFront on the distribution's own ``*.cloudfront.net`` name cannot put
    that name in the functions' environment (the distribution depends on the API, which depends on the functions),
    so template.yaml stores it in an SSM parameter and names the parameter: one read per container.
    """
    name = environ.get("GATEWAY_SITE_URL_PARAMETER", "").strip()
    if not name:
        return environ
    site_url = read_parameter(name)
    return {**environ, "GATEWAY_FRONTEND_URL": site_url, "GATEWAY_PUBLIC_URL": site_url}


def _ssm_parameter(name: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    from . import aws

    try:
        value: str = aws.ssm().get_parameter(Name=name)["Parameter"]["Value"]
    except (BotoCoreError, ClientError) as error:
        raise ConfigurationError(f"GATEWAY_SITE_URL_PARAMETER {name} cannot be read: {type(error).__name__}") from None
    return value


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Parse and validate settings; any problem is a ConfigurationError that names the variable."""
    login_ttl = _int(environ, "GATEWAY_LOGIN_TTL_SECONDS", 600, minimum=30)
    if login_ttl > MAX_LOGIN_TTL_SECONDS:
        raise ConfigurationError(f"GATEWAY_LOGIN_TTL_SECONDS must be at most {MAX_LOGIN_TTL_SECONDS}")
    public_url = environ.get("GATEWAY_PUBLIC_URL", "").strip()
    frontend_url = base_url(_required(environ, "GATEWAY_FRONTEND_URL"), "GATEWAY_FRONTEND_URL")
    url_policy = UrlPolicy(allow_local=_flag(environ, ALLOW_LOCAL_PROVIDERS))
    return Settings(
        table_name=_required(environ, "GATEWAY_TABLE"),
        frontend_url=frontend_url,
        public_url=base_url(public_url, "GATEWAY_PUBLIC_URL") if public_url else None,
        session_ttl_seconds=_int(environ, "GATEWAY_SESSION_TTL_SECONDS", 3600, minimum=60),
        session_idle_seconds=_int(environ, "GATEWAY_SESSION_IDLE_SECONDS", 1800, minimum=120),
        login_ttl_seconds=login_ttl,
        secret_cache_seconds=_int(environ, "GATEWAY_SECRET_CACHE_SECONDS", 300, minimum=0),
        http_timeout_seconds=float(_int(environ, "GATEWAY_HTTP_TIMEOUT_SECONDS", 10, minimum=1)),
        session_key_arn=environ.get("GATEWAY_SESSION_KEY_ARN", "").strip() or None,
        refresh_after_seconds=_int(environ, "GATEWAY_REFRESH_AFTER_SECONDS", 0, minimum=0),
        providers=parse_providers(_required(environ, "GATEWAY_PROVIDERS"), url_policy),
        allowed_origins=frozenset({origin_of(frontend_url), *_origins(environ, "GATEWAY_ALLOWED_ORIGINS")}),
        url_policy=url_policy,
    )


def parse_providers(document: str, url_policy: UrlPolicy | None = None) -> tuple[ProviderSettings, ...]:
    """Parse the ``GATEWAY_PROVIDERS`` JSON array (see the README); each entry's URLs will be checked against
    ``url_policy`` (by default, outside a sandbox's).

    ``null`` entries are skipped, so a template can switch a provider off with a plain condition.
    """
    try:
        entries = json.loads(document)
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"GATEWAY_PROVIDERS is not valid JSON: {error.msg}") from None
    if not isinstance(entries, list):
        raise ConfigurationError("GATEWAY_PROVIDERS must be a JSON array of provider objects")
    policy = url_policy or UrlPolicy()
    providers = tuple(_provider(entry, index, policy) for index, entry in enumerate(entries) if entry is not None)
    ids = [provider.id for provider in providers]
    if len(set(ids)) != len(ids):
        raise ConfigurationError("GATEWAY_PROVIDERS has duplicate provider ids")
    return providers


def _provider(entry: object, index: int, url_policy: UrlPolicy) -> ProviderSettings:
    if not isinstance(entry, dict):
        raise ConfigurationError(f"GATEWAY_PROVIDERS[{index}] must be an object")
    options = dict(entry)
    provider_id, provider_type, name = options.pop("id", None), options.pop("type", None), options.pop("name", None)
    if not isinstance(provider_id, str) or not PROVIDER_ID.match(provider_id):
        raise ConfigurationError(f"GATEWAY_PROVIDERS[{index}].id must be a lowercase slug")
    if not isinstance(provider_type, str) or not provider_type:
        raise ConfigurationError(f"provider {provider_id}: 'type' is required")
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"provider {provider_id}: 'name' is required")
    return ProviderSettings(
        id=provider_id, type=provider_type, name=name.strip(), options=options, url_policy=url_policy
    )


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"{name} is required")
    return value


def _int(environ: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    """``true`` or ``false`` (the default when unset); anything else is a mistake worth refusing at start-up."""
    raw = environ.get(name, "").strip().lower()
    if raw not in ("", "true", "false"):
        raise ConfigurationError(f"{name} must be true or false")
    return raw == "true"


def _origins(environ: Mapping[str, str], name: str) -> list[str]:
    """A comma-separated list of exact origins (scheme, host and port; no path)."""
    origins = []
    for value in environ.get(name, "").replace(",", " ").split():
        url = base_url(value, name)
        if urlsplit(url).path:
            raise ConfigurationError(f"{name} lists origins, without a path: {value[:80]!r}")
        origins.append(origin_of(url))
    return origins
