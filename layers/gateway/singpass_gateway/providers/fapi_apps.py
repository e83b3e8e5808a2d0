"""What Singpass's and Corppass's FAPI 2.0 APIs share, for the profiles in :mod:`.singpass` and :mod:`.corppass`.

Both are the same authorization server design: PAR, DPoP from PAR to userinfo, an ES256 ``private_key_jwt`` whose
``aud`` is the issuer, ID tokens always encrypted (ECDH-ES) around ES256, and retries where the server says a
failure is passing. Both register every app as one of two kinds: a Login app, which must send an
``authentication_context_type`` (the server's anti-fraud assessment) and may send a message shown to the person,
and a data app (Myinfo, Myinfo Business), which must send neither. And both describe a person in
``sub_attributes`` of the same shape (Singpass's ID token; Corppass's acting user, ``act``).
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ConfigurationError, InvalidToken
from ..settings import ProviderSettings
from . import Options

FAPI_DEFAULTS = {
    "client_auth": "private_key_jwt",
    "assertion_audience": "issuer",
    "pushed_authorization": True,
    "dpop": True,
    "id_token_algorithms": ["ES256"],
    "signed_userinfo": True,
    "transient_retries": 3,
}
REQUIRED_OPTIONS = ("client_id", "signing_key_arn", "decryption_key_arn")
DEFAULT_CONTEXT_TYPE = "APP_AUTHENTICATION_DEFAULT"
CONTEXT_TYPE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
"""The values are an enumerated, growing list (``APP_PAYMENT_DEFAULT``, sector values such as ``BANK_*``): any
value of that shape is passed on, and the server refuses one not enabled for the app."""
CONTEXT_MESSAGE = re.compile(r"^[A-Za-z0-9 ]{1,100}$")
"""Shown to the person: at most 100 letters, digits and spaces (Corppass's rule, and within Singpass's)."""
CONTEXT_OPTIONS = ("authentication_context_type", "authentication_context_message")
SUB_ATTRIBUTES = {
    "identity_number": "uinfin",
    "identity_coi": "identity_coi",
    "account_type": "account_type",
    "name": "name",
    "email": "email",
    "mobileno": "mobileno",
}
"""``sub_attributes`` members as person fields: the NRIC/FIN under MyInfo's name (``uinfin``), as every provider's
person names it, so a frontend shows a Login app's person as it shows a Myinfo one; the rest keep their names."""
MAX_SUB_ATTRIBUTE_LENGTH = 320


@dataclass(frozen=True)
class DataApp:
    """A product's data app, as a configuration error names it: what its scopes are called, the app, its ``app``."""

    scopes: str
    name: str
    value: str


def options_of(entry: ProviderSettings, known: AbstractSet[str], product: str) -> Options:
    """The entry's options, unknown ones refused and the ones every app needs present."""
    for required in REQUIRED_OPTIONS:
        if not entry.options.get(required):
            raise ConfigurationError(f"provider {entry.id}: {product} needs {required!r}")
    return Options(entry, known)


def profiled(
    entry: ProviderSettings, defaults: dict[str, Any], profile: dict[str, Any], own: set[str]
) -> ProviderSettings:
    """The entry as the OIDC provider reads it: the profile's defaults, the operator's general options (without the
    profile's ``own`` ones, which the OIDC provider does not know), and what the app kind decides."""
    general = {name: value for name, value in entry.options.items() if name not in own}
    return replace(entry, options={**FAPI_DEFAULTS, **defaults, **general, **profile})


def login_context(entry: ProviderSettings, options: Options, product: str) -> dict[str, str]:
    """A Login app's request parameters: the operator's extra ones, the context type and the optional message."""
    context_type = options.string("authentication_context_type", DEFAULT_CONTEXT_TYPE)
    if len(context_type) > 64 or not CONTEXT_TYPE.match(context_type):
        raise ConfigurationError(
            f"provider {entry.id}: 'authentication_context_type' must be one of {product}'s values, "
            f"such as {DEFAULT_CONTEXT_TYPE}"
        )
    context = {"authentication_context_type": context_type}
    message = entry.options.get("authentication_context_message")
    if message is not None:
        if not isinstance(message, str) or not CONTEXT_MESSAGE.match(message):
            raise ConfigurationError(
                f"provider {entry.id}: 'authentication_context_message' must be 1 to 100 letters, digits and spaces"
            )
        context["authentication_context_message"] = message
    return {**extra_parameters(entry, options), **context}


def refuse_data_scopes(
    entry: ProviderSettings, scopes: tuple[str, ...], login_scopes: frozenset[str], product: str, data_app: DataApp
) -> None:
    """A Login app asking for a data app's scopes, which the server would refuse at every login."""
    others = [scope for scope in scopes if scope not in login_scopes]
    if others:
        raise ConfigurationError(
            f"provider {entry.id}: a {product} Login app may ask only for {', '.join(sorted(login_scopes))}; "
            f"{', '.join(others)} are {data_app.scopes} scopes: register a {data_app.name} app and set app to "
            f"'{data_app.value}'"
        )


def refuse_login_only(entry: ProviderSettings, names: tuple[str, ...], product: str, kind: str) -> None:
    """A data app configured with what only Login apps may send, which the server would refuse at every login."""
    given = sorted(name for name in names if entry.options.get(name))
    if given:
        raise ConfigurationError(
            f"provider {entry.id}: {', '.join(given)} is for Login apps only; {product} refuses it from {kind} apps"
        )


def extra_parameters(entry: ProviderSettings, options: Options) -> dict[str, str]:
    """The operator's own extra request parameters, which may not smuggle in what the app kind decides."""
    extra = options.string_map("authorization_params")
    if set(CONTEXT_OPTIONS) & set(extra):
        raise ConfigurationError(
            f"provider {entry.id}: set the authentication context with its own options, not authorization_params"
        )
    return extra


def sub_attributes(value: object, where: str = "sub_attributes") -> dict[str, Any]:
    """``sub_attributes`` as person fields. The documented members must be short strings (a frontend shows them as
    text, and the NRIC/FIN among them identifies the person); a member the server adds later is kept when it is one
    too, and left out otherwise, so that a new kind of member does not stop every login."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidToken(f"{where} is not an object")
    person: dict[str, Any] = {}
    for name, member in value.items():
        usable = isinstance(member, str) and len(member) <= MAX_SUB_ATTRIBUTE_LENGTH
        if name in SUB_ATTRIBUTES and not usable:
            raise InvalidToken(f"{where}.{name} is not a short string")
        if usable:
            person[SUB_ATTRIBUTES.get(name, str(name))] = member
    return person
