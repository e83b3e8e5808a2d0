"""Singpass FAPI 2.0: the OIDC provider with Singpass's profile, for its two kinds of app.

Singpass requires every app to use it by 31 Dec 2026: PAR, DPoP bound from PAR to userinfo, an ES256
``private_key_jwt`` whose ``aud`` is the issuer, ID tokens always encrypted (ECDH-ES) around ES256, retries with
backoff where Singpass says a failure is passing, and, for Myinfo apps, userinfo as JWE(JWS) carrying
``person_info`` (never plain JSON, which would be person data nobody signed). Endpoints come from discovery.

Every Singpass app is registered as one kind, and the kind decides the request and where the person is:

- a **Login app** (``app: login``, the default) must send ``authentication_context_type`` (Singpass's anti-fraud
  assessment; ``APP_AUTHENTICATION_DEFAULT`` unless configured) and may send a message shown to the person; it
  asks only for the Login scopes, and the person is in the ID token's ``sub_attributes``. Singpass documents
  userinfo for Myinfo apps only, so a Login app never calls it.
- a **Myinfo app** (``app: myinfo``) must not send a context type; it asks for Data Catalog scopes, and the person
  is userinfo's ``person_info`` (with ``sub_attributes`` too, when Singpass sends them).

Keys rotate without downtime as MyInfo v4's do: Singpass verifies assertions and encrypts ID tokens and userinfo
with the keys of the client JWKS it last fetched (cached for an hour), so the next key is published first
(``additional_signing_key_arns`` / ``additional_decryption_key_arns``), then switched to while the old one stays
published (and, for encryption, accepted), then retired.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ..errors import ConfigurationError, InvalidToken
from ..person import plain
from ..settings import ProviderSettings
from . import Options, Toolkit
from .oidc import OPTIONS as OIDC_OPTIONS
from .oidc import OidcProvider, parse_config

PRODUCTION_ISSUER = "https://id.singpass.gov.sg/fapi"
STAGING_ISSUER = "https://stg-id.singpass.gov.sg/fapi"
DEFAULTS = {
    "issuer": PRODUCTION_ISSUER,
    "client_auth": "private_key_jwt",
    "assertion_audience": "issuer",
    "pushed_authorization": True,
    "dpop": True,
    "id_token_algorithms": ["ES256"],
    "signed_userinfo": True,
    "transient_retries": 3,
}
APPS = ("login", "myinfo")
LOGIN_SCOPES = frozenset({"openid", "user.identity", "name", "email", "mobileno", "sub_account"})
"""The only scopes Singpass lets a Login app ask for; anything else is a Myinfo (Data Catalog) scope."""
DEFAULT_CONTEXT_TYPE = "APP_AUTHENTICATION_DEFAULT"
CONTEXT_TYPE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
"""Singpass's values are an enumerated, growing list (``APP_PAYMENT_DEFAULT``, sector values such as
``BANK_*``): any value of that shape is passed on, and Singpass refuses one not enabled for the app."""
CONTEXT_MESSAGE = re.compile(r"^[A-Za-z0-9 ]{1,100}$")
"""Singpass shows the message to the person: at most 100 letters, digits and spaces."""
PROFILE_OPTIONS = frozenset({"app", "authentication_context_type", "authentication_context_message"})
LOGIN_ONLY_OPTIONS = ("authentication_context_type", "authentication_context_message", "acr_values")
CONTEXT_PARAMETERS = frozenset({"authentication_context_type", "authentication_context_message"})
SUB_ATTRIBUTES = {
    "identity_number": "uinfin",
    "identity_coi": "identity_coi",
    "account_type": "account_type",
    "name": "name",
    "email": "email",
    "mobileno": "mobileno",
}
"""``sub_attributes`` members as person fields: the NRIC/FIN under MyInfo's name (``uinfin``), as every provider's
person names it, so a frontend shows a Login app's person as it shows a Myinfo one; the rest keep Singpass's names."""
MAX_SUB_ATTRIBUTE_LENGTH = 320


def create(entry: ProviderSettings, toolkit: Toolkit) -> SingpassProvider:
    """A Singpass app of the configured kind, its options checked at start-up with messages that say the fix."""
    for required in ("client_id", "signing_key_arn", "decryption_key_arn"):
        if not entry.options.get(required):
            raise ConfigurationError(f"provider {entry.id}: Singpass needs {required!r}")
    options = Options(entry, OIDC_OPTIONS | PROFILE_OPTIONS)  # refuses unknown options, naming them
    app = options.choice("app", APPS, "login")
    scopes = options.strings("scopes", ("openid",))
    profile = _login_profile(entry, options, scopes) if app == "login" else _myinfo_profile(entry, options, scopes)
    general = {name: value for name, value in entry.options.items() if name not in PROFILE_OPTIONS}
    profiled = replace(entry, options={**DEFAULTS, **general, **profile})
    return SingpassProvider(profiled, toolkit, parse_config(profiled), app)


def _login_profile(entry: ProviderSettings, options: Options, scopes: tuple[str, ...]) -> dict[str, Any]:
    """A Login app: the context type (and message) in every request, Login scopes, no userinfo call."""
    others = [scope for scope in scopes if scope not in LOGIN_SCOPES]
    if others:
        raise ConfigurationError(
            f"provider {entry.id}: a Singpass Login app may ask only for {', '.join(sorted(LOGIN_SCOPES))}; "
            f"{', '.join(others)} are Myinfo (Data Catalog) scopes: register a Myinfo app and set app to 'myinfo'"
        )
    context_type = options.string("authentication_context_type", DEFAULT_CONTEXT_TYPE)
    if len(context_type) > 64 or not CONTEXT_TYPE.match(context_type):
        raise ConfigurationError(
            f"provider {entry.id}: 'authentication_context_type' must be one of Singpass's values, "
            f"such as {DEFAULT_CONTEXT_TYPE} or APP_PAYMENT_DEFAULT"
        )
    context = {"authentication_context_type": context_type}
    message = entry.options.get("authentication_context_message")
    if message is not None:
        if not isinstance(message, str) or not CONTEXT_MESSAGE.match(message):
            raise ConfigurationError(
                f"provider {entry.id}: 'authentication_context_message' must be 1 to 100 letters, digits and spaces"
            )
        context["authentication_context_message"] = message
    return {"userinfo": False, "authorization_params": {**_extra_parameters(entry, options), **context}}


def _myinfo_profile(entry: ProviderSettings, options: Options, scopes: tuple[str, ...]) -> dict[str, Any]:
    """A Myinfo app: no context type (Singpass refuses one), no ``acr_values`` (a Myinfo PAR carrying them is
    reported refused with ``invalid_request``), Data Catalog scopes, the person from userinfo."""
    given = sorted(name for name in LOGIN_ONLY_OPTIONS if entry.options.get(name))
    if given:
        raise ConfigurationError(
            f"provider {entry.id}: {', '.join(given)} is for Login apps only; Singpass refuses it from Myinfo apps"
        )
    if not set(scopes) - {"openid"}:
        raise ConfigurationError(
            f"provider {entry.id}: a Singpass Myinfo app asks for Data Catalog scopes besides openid "
            "(e.g. uinfin name); an app that only logs people in is a Login app (app 'login')"
        )
    return {"person_claim": "person_info", "authorization_params": _extra_parameters(entry, options)}


def _extra_parameters(entry: ProviderSettings, options: Options) -> dict[str, str]:
    """The operator's own extra request parameters, which may not smuggle in what the app kind decides."""
    extra = options.string_map("authorization_params")
    if CONTEXT_PARAMETERS & set(extra):
        raise ConfigurationError(
            f"provider {entry.id}: set the authentication context with its own options, not authorization_params"
        )
    return extra


class SingpassProvider(OidcProvider):
    """The OIDC provider, with Singpass's person (``sub_attributes``) and ordered assurance levels."""

    def __init__(self, entry: ProviderSettings, toolkit: Toolkit, config: Any, app: str) -> None:
        super().__init__(entry, toolkit, config)
        self.app = app

    def describe(
        self, claims: dict[str, Any], userinfo: dict[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
        """A Login app's person is the ID token's ``sub_attributes``; a Myinfo app's is userinfo's ``person_info``,
        with the ``sub_attributes`` Singpass may also send (``person_info`` wins where both name a field)."""
        person = sub_attributes(claims.get("sub_attributes"))
        if "sub_account" in claims:  # asked for with the sub_account scope; its shape is not documented
            person["sub_account"] = plain(claims["sub_account"])
        if self.app == "login":
            return person, {}
        data, provenance = super().describe(claims, userinfo)
        return {**person, **data}, provenance

    def assurance_met(self, achieved: str, asked: tuple[str, ...]) -> bool:
        """Singpass's levels are ordered (``urn:singpass:authentication:loa:1`` < 2 < 3): a login at a higher
        level than the lowest asked meets the request."""
        level = _level(achieved)
        wanted = [_level(value) for value in asked]
        if level is None or None in wanted:
            return super().assurance_met(achieved, asked)
        return level >= min(value for value in wanted if value is not None)


def sub_attributes(value: object) -> dict[str, Any]:
    """The ID token's ``sub_attributes`` as person fields. The documented members must be short strings (a frontend
    shows them as text, and the NRIC/FIN among them identifies the person); a member Singpass adds later is kept
    when it is one too, and left out otherwise, so that a new kind of member does not stop every login."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidToken("sub_attributes is not an object")
    person: dict[str, Any] = {}
    for name, member in value.items():
        usable = isinstance(member, str) and len(member) <= MAX_SUB_ATTRIBUTE_LENGTH
        if name in SUB_ATTRIBUTES and not usable:
            raise InvalidToken(f"sub_attributes.{name} is not a short string")
        if usable:
            person[SUB_ATTRIBUTES.get(name, str(name))] = member
    return person


LEVEL = re.compile(r"^urn:singpass:authentication:loa:([0-9])$")


def _level(acr: str) -> int | None:
    match = LEVEL.match(acr)
    return int(match.group(1)) if match else None
