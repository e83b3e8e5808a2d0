"""Corppass FAPI 2.0: Corppass Login and Myinfo Business, for people logging in on behalf of an entity.

Corppass runs the same FAPI 2.0 design as Singpass (:mod:`.fapi_apps`: PAR, DPoP, ``private_key_jwt`` for the
issuer, encrypted ID tokens, retries), with its own issuer (no ``/fapi`` suffix), endpoints (from discovery), scopes
and data. Every app is registered as one of two kinds:

- a **Login app** (``app: login``, the default) must send ``authentication_context_type`` and may send a message;
  it asks for ``entity.identity``, ``entity.basic_profile.name``/``uen_status``, ``user.identity``, ``user.name``
  (all in the ID token) and ``authinfo``/``tpauthinfo`` (the user's e-service roles, from userinfo, which is only
  called when one of those is asked for);
- a **Myinfo Business app** (``app: myinfo-business``) must send neither, and reads the entity's ``entity_info``,
  the acting user's ``person_info`` and ``corppass_info`` from userinfo.

The ID token's ``sub`` is the entity and ``act`` the user (:mod:`.corppass_data`). Userinfo's ``sub`` must equal
the ID token's; Corppass was once documented to send the client id there instead, which ``userinfo_subject:
client_id`` accepts for a deployment that sees it (off by default: a userinfo about another entity is refused).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError, InvalidToken
from ..person import normalise
from ..person import provenance as provenance_of
from ..settings import ProviderSettings
from . import Options, Toolkit, corppass_data
from .fapi_apps import (
    CONTEXT_OPTIONS,
    DataApp,
    extra_parameters,
    login_context,
    options_of,
    profiled,
    refuse_data_scopes,
    refuse_login_only,
)
from .oidc import OPTIONS as OIDC_OPTIONS
from .oidc import Description, OidcConfig, OidcProvider, parse_config

PRODUCTION_ISSUER = "https://id.corppass.gov.sg"
STAGING_ISSUER = "https://stg-id.corppass.gov.sg"
APPS = ("login", "myinfo-business")
LOGIN_SCOPES = frozenset(
    {"openid", "entity.identity", "entity.basic_profile.name", "entity.basic_profile.uen_status",
     "user.identity", "user.name", "authinfo", "tpauthinfo"}
)  # fmt: skip
"""What Corppass lets every app ask for; the rest (``entity.address``, ``user.uinfin``, ``corppass.email``…) is
Myinfo Business's."""
BUSINESS_APP = DataApp("Myinfo Business", "Myinfo Business", "myinfo-business")
USERINFO_SCOPES = frozenset({"authinfo", "tpauthinfo"})
"""A Login app's scopes answered by userinfo; everything else it asks for is in the ID token."""
PROFILE_OPTIONS = frozenset({"app", "userinfo_subject", *CONTEXT_OPTIONS})
USERINFO_SUBJECTS = ("id_token", "client_id")


def create(entry: ProviderSettings, toolkit: Toolkit) -> CorppassProvider:
    """A Corppass app of the configured kind, its options checked at start-up with messages that say the fix."""
    options = options_of(entry, OIDC_OPTIONS | PROFILE_OPTIONS, "Corppass")
    app = options.choice("app", APPS, "login")
    scopes = options.strings("scopes", ("openid", "entity.identity", "user.identity"))
    profile = _login_profile(entry, options, scopes) if app == "login" else _business_profile(entry, options, scopes)
    settings = profiled(entry, {"issuer": PRODUCTION_ISSUER}, profile, set(PROFILE_OPTIONS))
    userinfo_subject = options.choice("userinfo_subject", USERINFO_SUBJECTS, "id_token")
    return CorppassProvider(settings, toolkit, parse_config(settings), userinfo_subject)


def _login_profile(entry: ProviderSettings, options: Options, scopes: tuple[str, ...]) -> dict[str, Any]:
    """A Login app: the context type (and message) in every request; userinfo only for authorisations."""
    refuse_data_scopes(entry, scopes, LOGIN_SCOPES, "Corppass", BUSINESS_APP)
    return {
        "userinfo": bool(USERINFO_SCOPES & set(scopes)),
        "authorization_params": login_context(entry, options, "Corppass"),
    }


def _business_profile(entry: ProviderSettings, options: Options, scopes: tuple[str, ...]) -> dict[str, Any]:
    """A Myinfo Business app: no context type, data scopes, the entity's and the user's data from userinfo."""
    refuse_login_only(entry, CONTEXT_OPTIONS, "Corppass", "Myinfo Business")
    if not set(scopes) - {"openid"}:
        raise ConfigurationError(
            f"provider {entry.id}: a Myinfo Business app asks for data scopes besides openid "
            "(e.g. entity.basic_profile.name user.name); an app that only logs people in is a Login app"
        )
    return {"userinfo": True, "authorization_params": extra_parameters(entry, options)}


class CorppassProvider(OidcProvider):
    """The OIDC provider with Corppass's subject (the entity), actor (the user) and userinfo blocks."""

    def __init__(self, entry: ProviderSettings, toolkit: Toolkit, config: OidcConfig, userinfo_subject: str) -> None:
        super().__init__(entry, toolkit, config)
        self._userinfo_subject = userinfo_subject

    def describe(self, claims: dict[str, Any], userinfo: dict[str, Any] | None) -> Description:
        """The user as ``person`` (the ID token's ``act``, plus Myinfo Business's ``person_info`` and Corppass
        email), and as ``organisation`` the entity, the actor and their authorisations."""
        act, person = corppass_data.actor(claims)
        blocks = corppass_data.unwrapped(userinfo) if userinfo is not None else {}
        provenance: dict[str, dict[str, str]] = {}
        if blocks.get("person_info") is not None:
            _check_same_person(person, blocks["person_info"])
            person = {**person, **normalise(blocks["person_info"])}
            provenance = provenance_of(blocks["person_info"])
        person.update(corppass_data.corppass_email(blocks.get("corppass_info")))
        organisation = {
            "entity": corppass_data.entity(claims, blocks.get("entity_info")),
            "act": act,
            "authorisations": corppass_data.authorisations(blocks),
        }
        return Description(person, provenance, organisation)

    def userinfo_subject(self, sub: str) -> str:
        """The ID token's ``sub`` (the entity), or, where allowed, the client id Corppass once sent instead."""
        return self._config.client_id if self._userinfo_subject == "client_id" else sub


def _check_same_person(person: dict[str, Any], person_info: object) -> None:
    """Myinfo Business's ``person_info`` must describe the acting user the ID token names, where both say who."""
    if not isinstance(person_info, dict):
        raise InvalidToken("person_info is not an object")
    named = normalise({"uinfin": person_info.get("uinfin")}).get("uinfin")
    if named is not None and person.get("uinfin") is not None and named != person["uinfin"]:
        raise InvalidToken("person_info names someone other than the acting user")
