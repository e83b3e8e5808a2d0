"""The provider interface, the shared per-container toolkit, and the registry of provider types.

A provider knows how to start and finish one login with one upstream system, nothing else: state, cookies,
sessions, redirects and error mapping are the flow's job (:mod:`singpass_gateway.flows`), written once.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import ConfigurationError
from ..settings import ProviderSettings, Settings

if TYPE_CHECKING:
    from ..http import HttpClient
    from ..jose import JwksCache
    from ..keys import PrivateKey
    from ..secrets import SecretCache

PROVIDER_TYPES = {
    "sgid": "singpass_gateway.providers.sgid",
    "oidc": "singpass_gateway.providers.oidc",
    "oauth2": "singpass_gateway.providers.oauth2",
    "singpass": "singpass_gateway.providers.singpass",
    "corppass": "singpass_gateway.providers.corppass",
    "myinfo-v3": "singpass_gateway.providers.myinfo_v3",
    "myinfo-v4": "singpass_gateway.providers.myinfo_v4",
}
"""Provider type → module; each module has ``create(settings, toolkit) -> Provider``."""


@dataclass(frozen=True)
class AuthorizationRequest:
    """The per-login values a provider puts into its authorization request."""

    state: str
    nonce: str
    code_challenge: str
    redirect_uri: str
    now: int


@dataclass(frozen=True)
class Authorization:
    """Where to send the browser, and what the provider needs back at the callback (e.g. its DPoP key)."""

    url: str
    remember: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Callback:
    """What a provider needs to finish a login: the callback's parameters and the transaction's secrets."""

    code: str
    params: Mapping[str, str]
    code_verifier: str
    nonce: str
    redirect_uri: str
    now: int
    remembered: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Identity:
    """A verified person: the provider's subject identifier and their data as plain values."""

    sub: str
    person: dict[str, Any]
    authentication: dict[str, Any] = field(default_factory=dict)
    """How the person authenticated (``acr``, ``amr``), when the provider says."""
    grant: dict[str, str] | None = None
    """What lets the provider be asked again without the person (a refresh token and what binds it); the
    session keeps it sealed under the session id and KMS (:mod:`singpass_gateway.grants`), never readable by the
    browser or a database reader."""
    provenance: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per MyInfo attribute: its source, classification and last update (for the frontend to show)."""
    organisation: dict[str, Any] = field(default_factory=dict)
    """For a login on behalf of an organisation (Corppass): ``entity``, ``act`` (the acting user) and
    ``authorisations``, shown beside ``person`` by ``/api/me``; empty for a person logging in for themselves."""
    access: dict[str, list[str]] = field(default_factory=dict)
    """What the provider's token grants, where it says (plain OAuth 2.0): ``scopes`` and ``permissions``, kept
    apart from ``person`` because they describe the grant, not the person; shown by ``/api/me`` as ``access``."""


@dataclass(frozen=True)
class Refreshed:
    """A refreshed login: the person as the provider now describes them, and the grant to use next time."""

    person: dict[str, Any]
    grant: dict[str, str]
    access: dict[str, list[str]] | None = None
    """The grant's scopes and permissions now, for providers that report them (None: unchanged)."""


@runtime_checkable
class Refreshes(Protocol):
    """A provider whose logins can be refreshed (refresh tokens) and revoked (RFC 7009)."""

    def refresh(self, grant: dict[str, str], now: int) -> Refreshed:
        """Use the grant's refresh token; RefreshRejected when the provider no longer honours it."""
        ...

    def revoke(self, grant: dict[str, str]) -> None:
        """Revoke the grant's refresh token where the provider supports it (best effort)."""
        ...


class Provider(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    def authorize(self, request: AuthorizationRequest) -> Authorization:
        """Where to send the browser to log in (after pushing the request, for PAR providers)."""
        ...

    def complete(self, callback: Callback) -> Identity:
        """Exchange the code, validate what comes back, and return the person; raises LoginError."""
        ...


@runtime_checkable
class PublishesKeys(Protocol):
    """A provider that authenticates with keys of its own publishes their public halves (the client JWKS)."""

    def client_jwks(self) -> list[dict[str, Any]]: ...


class Toolkit:
    """What providers share in one container: HTTP pool, secret cache, JWKS cache, keys.

    Each part is created on first use, so a handler that only redirects (login) never imports the HTTP or
    JOSE libraries, and a warm callback reuses parsed keys, fetched JWKS and open connections.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @functools.cached_property
    def http(self) -> HttpClient:
        from ..http import HttpClient

        return HttpClient(self._settings.http_timeout_seconds, url_policy=self._settings.url_policy)

    @functools.cached_property
    def secrets(self) -> SecretCache:
        from .. import aws
        from ..secrets import SecretCache

        return SecretCache(aws.secretsmanager, self._settings.secret_cache_seconds)

    @functools.cached_property
    def jwks(self) -> JwksCache:
        from ..jose import JwksCache

        return JwksCache(self.http)

    @staticmethod
    def pause(seconds: float) -> None:
        """Wait between retries of a provider call (tests record the waits instead)."""
        time.sleep(seconds)

    def key(self, reference: str) -> PrivateKey:
        from ..keys import load_key

        return load_key(reference, self.secrets)


def build_providers(settings: Settings, toolkit: Toolkit) -> dict[str, Provider]:
    """Every configured provider, keyed by id, with its options parsed and validated."""
    providers: dict[str, Provider] = {}
    for entry in settings.providers:
        module_name = PROVIDER_TYPES.get(entry.type)
        if module_name is None:
            raise ConfigurationError(f"provider {entry.id}: unknown type {entry.type!r}")
        providers[entry.id] = importlib.import_module(module_name).create(entry, toolkit)
    return providers


class Options:
    """Reads one provider's options with errors that name the provider and option; rejects unknown keys."""

    def __init__(self, entry: ProviderSettings, known: AbstractSet[str]) -> None:
        unknown = set(entry.options) - known
        if unknown:
            raise ConfigurationError(f"provider {entry.id}: unknown option(s) {', '.join(sorted(unknown))}")
        self._entry = entry

    def string(self, name: str, default: str | None = None) -> str:
        value = self._value(name, default)
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"provider {self._entry.id}: {name!r} must be a non-empty string")
        return value.strip()

    def url(self, name: str, default: str | None = None) -> str:
        """A URL the provider is called at (or sends the browser to), as the deployment's URL policy allows."""
        return self._entry.url_policy.provider_url(self.string(name, default), f"provider {self._entry.id}: {name!r}")

    def arn(self, name: str) -> str:
        value = self.string(name)
        if not value.startswith("arn:"):
            raise ConfigurationError(f"provider {self._entry.id}: {name!r} must be an ARN (secrets stay out of config)")
        return value

    def arns(self, name: str, *, required: bool, current: str | None = None) -> tuple[str, ...]:
        """A list of key ARNs (several while keys rotate); an absent optional list is empty.

        No key may be listed twice, nor repeat ``current`` (the option naming the key in use): both copies would
        carry one kid, so the published JWKS would repeat it and every JWE to it would match two keys and fail.
        """
        if not required and not self._entry.options.get(name):
            return ()
        values = self.strings(name, ())
        if not all(value.startswith("arn:") for value in values):
            raise ConfigurationError(f"provider {self._entry.id}: {name!r} must list ARNs (secrets stay out of config)")
        repeated = next((value for index, value in enumerate(values) if value in values[:index]), None)
        if repeated is not None:
            raise ConfigurationError(f"provider {self._entry.id}: {name!r} lists {repeated} twice")
        in_use = self._entry.options.get(current) if current is not None else None
        if isinstance(in_use, str) and in_use.strip() in values:
            raise ConfigurationError(f"provider {self._entry.id}: {name!r} repeats {current!r}, the key in use")
        return values

    def _value(self, name: str, default: Any) -> Any:
        """The option's value; ``null`` counts as not set (a template writes it for an empty parameter)."""
        value = self._entry.options.get(name)
        return default if value is None else value

    def present(self, name: str) -> bool:
        """Whether the option is set at all (absent and ``null`` are the same)."""
        return self._entry.options.get(name) is not None

    def optional_string(self, name: str) -> str | None:
        return self.string(name) if self._entry.options.get(name) is not None else None

    def optional_url(self, name: str) -> str | None:
        return self.url(name) if self._entry.options.get(name) is not None else None

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(name, default)
        if value not in choices:
            raise ConfigurationError(f"provider {self._entry.id}: {name!r} must be one of {', '.join(choices)}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._value(name, default)
        if not isinstance(value, bool):
            raise ConfigurationError(f"provider {self._entry.id}: {name!r} must be true or false")
        return value

    def integer(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        value = self._value(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            raise ConfigurationError(
                f"provider {self._entry.id}: {name!r} must be a whole number from {minimum} to {maximum}"
            )
        return value

    def string_map(self, name: str) -> dict[str, str]:
        value = self._value(name, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ConfigurationError(f"provider {self._entry.id}: {name!r} must be an object of strings")
        return dict(value)

    def strings(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self._value(name, list(default))
        if not isinstance(value, list) or not value or not all(isinstance(item, str) and item for item in value):
            raise ConfigurationError(f"provider {self._entry.id}: {name!r} must be a list of strings")
        return tuple(value)
