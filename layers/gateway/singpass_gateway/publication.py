"""The client JWKS: the public keys providers verify this gateway's assertions with and encrypt to.

Each provider has its own JWKS (``/.well-known/jwks/{provider}``), the one to register: an authorization server
that encrypts picks an encryption key from the JWKS it has (MockPass and MyInfo v4: the first ``use: enc`` key), so
a JWKS that mixes several providers' encryption keys can make it encrypt to a key the gateway keeps for another
provider, and every login fails. The shared ``/.well-known/jwks.json`` stays for deployments that registered it
before, but can never steer a server that way: it lists every provider's signing keys, and encryption keys only
while every provider that has any has the same ones (one provider alone, or two Singpass apps sharing their keys:
then whichever a server picks is right for each).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .providers import Provider, PublishesKeys


def provider_jwks(provider: Provider) -> dict[str, list[dict[str, Any]]]:
    """One provider's keys: what to register with it."""
    return {"keys": _unique(_published(provider))}


def shared_jwks(providers: Iterable[Provider]) -> dict[str, list[dict[str, Any]]]:
    """Every provider's signing keys, and encryption keys only when all providers that have any have the same."""
    published = [_published(provider) for provider in providers]
    encryption_sets = {frozenset(key["kid"] for key in keys if key.get("use") == "enc") for keys in published}
    unambiguous = len(encryption_sets - {frozenset()}) <= 1
    keys = [key for keys in published for key in keys if key.get("use") != "enc" or unambiguous]
    return {"keys": _unique(keys)}


def _published(provider: Provider) -> list[dict[str, Any]]:
    return provider.client_jwks() if isinstance(provider, PublishesKeys) else []


def _unique(keys: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each ``kid`` once (two providers may share a key): a repeated kid would make a JWE to it ambiguous."""
    by_kid: dict[str, dict[str, Any]] = {}
    for key in keys:
        by_kid.setdefault(key["kid"], key)
    return list(by_kid.values())
