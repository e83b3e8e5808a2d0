"""A published JWKS compared with the keys the stack is configured with, as findings a person can act on.

Pure: the configured keys arrive as the entries the gateway itself would publish for them (``published_jwk``),
the JWKS as the provider fetched it, and nothing here calls AWS or the network. A finding names a kid and
public members (``kty``, ``use``…) at most; it never quotes key material, published or private.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
"""JWK members that carry private or secret key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1)."""
DESCRIPTIVE_MEMBERS = ("kty", "crv", "use", "alg")
"""Members compared and named with their values: what kind of key it is and what the provider may do with it."""
REQUIRED_KEY = {"kty": "EC", "crv": "P-256"}
"""Every provider that reads the gateway's keys from a JWKS takes EC P-256 keys alone (``KEY_ROLES``)."""
_SHOWN = re.compile(r"[^A-Za-z0-9._~+/=:-]")


class Verdict(StrEnum):
    """The first word of a finding's line."""

    OK = "ok"
    MISMATCH = "MISMATCH"
    """Published under the configured kid, but not as the gateway publishes that key."""
    MISSING = "MISSING"
    """A configured key (or every key of one use) is not published."""
    UNEXPECTED = "UNEXPECTED"
    """Published, but no configured key has its kid."""
    DUPLICATE = "DUPLICATE"
    """One kid published more than once: a provider cannot tell which entry is meant."""
    PRIVATE = "PRIVATE"
    """An entry carries private key members: the key is compromised, whatever else is right."""
    UNSUITABLE = "UNSUITABLE"
    """The configured key itself is not one the provider can use (not EC P-256)."""
    UNREADABLE = "UNREADABLE"
    """The JWKS could not be fetched and read (see ``live_jwks``); nothing else about it is known."""


@dataclass(frozen=True)
class ConfiguredKey:
    """One key the stack is configured with, as the gateway publishes it, and what the stack uses it for."""

    jwk: Mapping[str, Any]
    """``jose.published_jwk`` of the key: its kid, public numbers, ``use`` and ``alg``."""
    purpose: str
    """How the stack names its part in a finding: "signing key in use", "additional decryption key", …"""

    @property
    def kid(self) -> str:
        return str(self.jwk["kid"])


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    kid: str
    """The kid concerned, as safe to print; "-" for a finding about the whole JWKS."""
    detail: str

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK


def compare(configured: Sequence[ConfiguredKey], published: Sequence[object]) -> list[Finding]:
    """Every configured key published exactly as the gateway publishes it, nothing else, nothing private.

    The findings come in the order a person reads them: each configured key, then what is published that no
    configured key accounts for, then a use no entry covers.
    """
    findings = [finding for key in configured for finding in _suitability(key)]
    by_kid, anonymous = _by_kid(published)
    for key in configured:
        findings += _published_as_configured(key, by_kid.pop(key.kid, []))
    for kid, entries in by_kid.items():
        findings.append(Finding(Verdict.UNEXPECTED, _shown(kid), "published, but not a configured key"))
        findings += _integrity(kid, entries)
    for entry in anonymous:
        what = "an entry without a kid" if isinstance(entry, dict) else "an entry that is not an object"
        findings.append(Finding(Verdict.UNEXPECTED, "-", what))
        findings += _integrity("-", [entry] if isinstance(entry, dict) else [])
    findings += _uses_covered(published)
    return findings


def _suitability(key: ConfiguredKey) -> list[Finding]:
    """A configured key the provider cannot use is wrong however faithfully it is published."""
    kind = {name: key.jwk.get(name) for name in REQUIRED_KEY}
    if kind == REQUIRED_KEY:
        return []
    found = " ".join(str(value) for value in kind.values() if value)
    return [Finding(Verdict.UNSUITABLE, key.kid, f"{key.purpose} is {found}; the provider needs EC P-256")]


def _by_kid(published: Sequence[object]) -> tuple[dict[str, list[Mapping[str, Any]]], list[object]]:
    """The published entries grouped by kid, and the entries without one (or that are not even objects)."""
    by_kid: dict[str, list[Mapping[str, Any]]] = {}
    anonymous: list[object] = []
    for entry in published:
        if isinstance(entry, dict) and isinstance(entry.get("kid"), str) and entry["kid"]:
            by_kid.setdefault(entry["kid"], []).append(entry)
        else:
            anonymous.append(entry)
    return by_kid, anonymous


def _published_as_configured(key: ConfiguredKey, entries: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """One configured key against the entries published under its kid (one, unless the kid is repeated)."""
    if not entries:
        return [Finding(Verdict.MISSING, key.kid, f"{key.purpose} is not published")]
    findings = []
    for entry in entries:
        differences = _differences(key.jwk, entry)
        if differences:
            findings.append(Finding(Verdict.MISMATCH, key.kid, f"{key.purpose}: " + "; ".join(differences)))
        else:
            findings.append(Finding(Verdict.OK, key.kid, f"{key.purpose}, {entry['use']} {entry['alg']}"))
    return findings + _integrity(key.kid, entries)


def _integrity(kid: str, entries: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """What is wrong with a kid's entries whoever configured them: repeated, or carrying private members."""
    findings = []
    if len(entries) > 1:
        findings.append(Finding(Verdict.DUPLICATE, _shown(kid), f"published {len(entries)} times"))
    for entry in entries:
        private = sorted(PRIVATE_MEMBERS & entry.keys())
        if private:
            detail = f"publishes private key members ({', '.join(private)}): treat the key as compromised"
            findings.append(Finding(Verdict.PRIVATE, _shown(kid), detail))
    return findings


def _differences(expected: Mapping[str, Any], entry: Mapping[str, Any]) -> list[str]:
    """How ``entry`` differs from the gateway's entry for the key, naming members, never quoting key material."""
    differences = [
        f"{name} {_quoted(entry.get(name))}, configured {_quoted(expected.get(name))}"
        for name in DESCRIPTIVE_MEMBERS
        if entry.get(name) != expected.get(name)
    ]
    numbers = [name for name in expected if name not in (*DESCRIPTIVE_MEMBERS, "kid")]
    differing = [name for name in numbers if entry.get(name) != expected[name]]
    if differing:
        differences.append(f"public key ({', '.join(differing)}) is not the configured key's: another key, same kid")
    extra = sorted(entry.keys() - expected.keys() - PRIVATE_MEMBERS)
    if extra:
        differences.append("members the gateway does not publish: " + ", ".join(_shown(name) for name in extra))
    return differences


def _uses_covered(published: Sequence[object]) -> list[Finding]:
    """A provider needs a key to verify assertions with (sig) and one to encrypt to (enc)."""
    uses = {entry.get("use") for entry in published if isinstance(entry, dict)}
    return [
        Finding(Verdict.MISSING, "-", f'no key with "use": "{use}": the provider has no key to {purpose}')
        for use, purpose in (("sig", "verify assertions with"), ("enc", "encrypt to"))
        if use not in uses
    ]


def _quoted(value: object) -> str:
    return "absent" if value is None else f'"{_shown(str(value))}"'


def _shown(text: str, limit: int = 64) -> str:
    """Published text as safe to print on one terminal line: what a provider sends is not trusted."""
    cleaned = _SHOWN.sub("?", text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
