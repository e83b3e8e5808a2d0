"""Singpass FAPI 2.0 (Login and Myinfo v5): the OIDC provider with Singpass's profile as defaults.

Singpass requires every app to use it by 31 Dec 2026: PAR, DPoP bound from PAR to userinfo, an ES256
``private_key_jwt`` whose ``aud`` is the issuer, ID tokens always encrypted (ECDH-ES) around ES256, and Myinfo
userinfo as JWE(JWS) carrying ``person_info`` in the MyInfo person schema (never plain JSON, which would be
person data nobody signed). Endpoints come from discovery.
Only ``client_id``, ``signing_key_arn``, ``decryption_key_arn`` and ``scopes`` need configuring.

Keys rotate without downtime as MyInfo v4's do: Singpass verifies assertions and encrypts ID tokens and userinfo
with the keys of the client JWKS it last fetched, so the next key is published first
(``additional_signing_key_arns`` / ``additional_decryption_key_arns``), then switched to while the old one stays
published (and, for encryption, accepted), then retired.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import ConfigurationError
from ..settings import ProviderSettings
from . import Toolkit
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
    "person_claim": "person_info",
    "signed_userinfo": True,
}


def create(entry: ProviderSettings, toolkit: Toolkit) -> OidcProvider:
    for required in ("client_id", "signing_key_arn", "decryption_key_arn"):
        if not entry.options.get(required):
            raise ConfigurationError(f"provider {entry.id}: Singpass needs {required!r}")
    profiled = replace(entry, options={**DEFAULTS, **entry.options})
    return OidcProvider(profiled, toolkit, parse_config(profiled))
