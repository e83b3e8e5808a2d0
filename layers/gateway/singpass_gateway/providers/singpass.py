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
from typing import Any

from ..errors import ConfigurationError
from ..person import plain
from ..settings import ProviderSettings
from . import Options, Toolkit
from .fapi_apps import (
    CONTEXT_OPTIONS,
    DataApp,
    extra_parameters,
    login_context,
    options_of,
    profiled,
    refuse_data_scopes,
    refuse_login_only,
    sub_attributes,
)
from .oidc import OPTIONS as OIDC_OPTIONS
from .oidc import Description, OidcConfig, OidcProvider, parse_config

PRODUCTION_ISSUER = "https://id.singpass.gov.sg/fapi"
STAGING_ISSUER = "https://stg-id.singpass.gov.sg/fapi"
APPS = ("login", "myinfo")
MYINFO_APP = DataApp("Myinfo (Data Catalog)", "Myinfo", "myinfo")
LOGIN_SCOPES = frozenset({"openid", "user.identity", "name", "email", "mobileno", "sub_account"})
"""The only scopes Singpass lets a Login app ask for; anything else is a Myinfo (Data Catalog) scope."""
PROFILE_OPTIONS = frozenset({"app", *CONTEXT_OPTIONS})
LOGIN_ONLY_OPTIONS = (*CONTEXT_OPTIONS, "acr_values")
"""``acr_values`` too: a Myinfo PAR carrying them is reported refused with ``invalid_request``."""


def create(entry: ProviderSettings, toolkit: Toolkit) -> SingpassProvider:
    """A Singpass app of the configured kind, its options checked at start-up with messages that say the fix."""
    options = options_of(entry, OIDC_OPTIONS | PROFILE_OPTIONS, "Singpass")
    app = options.choice("app", APPS, "login")
    scopes = options.strings("scopes", ("openid",))
    profile = _login_profile(entry, options, scopes) if app == "login" else _myinfo_profile(entry, options, scopes)
    settings = profiled(entry, {"issuer": PRODUCTION_ISSUER}, profile, set(PROFILE_OPTIONS))
    return SingpassProvider(settings, toolkit, parse_config(settings), app)


def _login_profile(entry: ProviderSettings, options: Options, scopes: tuple[str, ...]) -> dict[str, Any]:
    """A Login app: the context type (and message) in every request, Login scopes, no userinfo call."""
    refuse_data_scopes(entry, scopes, LOGIN_SCOPES, "Singpass", MYINFO_APP)
    return {"userinfo": False, "authorization_params": login_context(entry, options, "Singpass")}


def _myinfo_profile(entry: ProviderSettings, options: Options, scopes: tuple[str, ...]) -> dict[str, Any]:
    """A Myinfo app: no context type or assurance level, Data Catalog scopes, the person from userinfo."""
    refuse_login_only(entry, LOGIN_ONLY_OPTIONS, "Singpass", "Myinfo")
    if not set(scopes) - {"openid"}:
        raise ConfigurationError(
            f"provider {entry.id}: a Singpass Myinfo app asks for Data Catalog scopes besides openid "
            "(e.g. uinfin name); an app that only logs people in is a Login app (app 'login')"
        )
    return {"person_claim": "person_info", "authorization_params": extra_parameters(entry, options)}


class SingpassProvider(OidcProvider):
    """The OIDC provider, with Singpass's person (``sub_attributes``) and ordered assurance levels."""

    def __init__(self, entry: ProviderSettings, toolkit: Toolkit, config: OidcConfig, app: str) -> None:
        super().__init__(entry, toolkit, config)
        self.app = app

    def describe(self, claims: dict[str, Any], userinfo: dict[str, Any] | None) -> Description:
        """A Login app's person is the ID token's ``sub_attributes``; a Myinfo app's is userinfo's ``person_info``,
        with the ``sub_attributes`` Singpass may also send (``person_info`` wins where both name a field)."""
        person = sub_attributes(claims.get("sub_attributes"))
        if "sub_account" in claims:  # asked for with the sub_account scope; its shape is not documented
            person["sub_account"] = plain(claims["sub_account"])
        if self.app == "login":
            return Description(person)
        myinfo = super().describe(claims, userinfo)
        return Description({**person, **myinfo.person}, myinfo.provenance)

    def assurance_met(self, achieved: str, asked: tuple[str, ...]) -> bool:
        """Singpass's levels are ordered (``urn:singpass:authentication:loa:1`` < 2 < 3): a login at a higher
        level than the lowest asked meets the request."""
        level = _level(achieved)
        wanted = [_level(value) for value in asked]
        if level is None or None in wanted:
            return super().assurance_met(achieved, asked)
        return level >= min(value for value in wanted if value is not None)


LEVEL = re.compile(r"^urn:singpass:authentication:loa:([0-9])$")


def _level(acr: str) -> int | None:
    match = LEVEL.match(acr)
    return int(match.group(1)) if match else None
