"""``keys check``: does the JWKS each provider fetches publish exactly the keys the stack is configured with?

A provider learns the gateway's keys from its JWKS URL alone, so a JWKS that lags the configuration (a deploy
not done, a stale cache in front of it, a key parameter edited by hand) only shows up as refused logins. Run
before each step of a rotation: the next key must be published before anything signs with it or expects
encryption to it. The configured keys are turned into JWKS entries by the gateway's own ``published_jwk``, so
a kid or public key that differs is a real difference, never a second implementation disagreeing.

Exit status: 0 every JWKS matches; 1 a mismatch found; 2 a JWKS or AWS could not be read, or bad usage (2 wins
over 1: a check that could not look everywhere has not passed).
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from . import check_targets, live_jwks
from .check_targets import JwksTarget
from .console import note
from .errors import ConfigurationUnreadable, JwksUnreadable
from .jwks_comparison import ConfiguredKey, Finding, Verdict, compare
from .key_loading import load
from .roles import PUBLISHED_ALGORITHMS

EXIT_MATCH, EXIT_MISMATCH, EXIT_CANNOT_CHECK = 0, 1, 2
CHECK_DESCRIPTION = """\
Fetch each provider's published JWKS as the provider does (HTTPS, within 3 s) and compare it with the keys the
stack is configured with: each key, the one in use and the additional ones, published under the gateway's kid
with its kty/crv, use, alg and public numbers; nothing unexpected, repeated or private; a sig and an enc key.
One line per finding on stdout (ok, MISMATCH, MISSING, UNEXPECTED, DUPLICATE, PRIVATE, UNSUITABLE, UNREADABLE).

Either --stack-name (every JWKS output of the stack, with the keys its parameters name or it created), or
--provider, --jwks-url, --signing-key and --decryption-key (the first of each is the key in use).
"""
EXIT_STATUSES = f"""\
exit status:
  {EXIT_MATCH}  every JWKS publishes exactly the configured keys
  {EXIT_MISMATCH}  a mismatch: a configured key not published (a stale JWKS), published with other public numbers or
     a wrong kty/crv/use/alg, an unexpected or repeated kid, private key members, no sig or no enc key
  {EXIT_CANNOT_CHECK}  a JWKS could not be read (unreachable, not HTTPS, over 3 s, not a JWKS), AWS could not be read
     (credentials, the stack, a key), or bad usage
"""


def check(arguments: argparse.Namespace) -> int:
    """Check every target; one line per finding on stdout, how each JWKS answered on stderr."""
    if arguments.region:
        os.environ["AWS_DEFAULT_REGION"] = arguments.region  # the gateway's key loader reads the region from it
    targets = check_targets.targets(arguments)
    keys = _ConfiguredKeys()
    configured = [(target, keys.of(target)) for target in targets]  # AWS first: nothing printed if it fails
    width = max(len(target.label) for target in targets)
    findings: list[Finding] = []
    for target, target_keys in configured:
        found = _check(target, target_keys)
        for finding in found:
            print(f"{finding.verdict:<10} {target.label:<{width}}  {finding.kid}  {finding.detail}")
        findings += found
    note(_summary(findings))
    return _exit_status(findings)


def _check(target: JwksTarget, configured: Sequence[ConfiguredKey]) -> list[Finding]:
    """One JWKS against its configured keys; a JWKS that cannot be read is one UNREADABLE finding."""
    try:
        fetched = live_jwks.fetch(target.url)
    except JwksUnreadable as error:
        return [Finding(Verdict.UNREADABLE, "-", str(error))]
    note(f"{target.label}: {fetched.url} answered in {fetched.seconds:.2f} s with {len(fetched.keys)} keys")
    return compare(configured, fetched.keys)


class _ConfiguredKeys:
    """The configured keys as the gateway publishes them, each read from KMS or Secrets Manager once (the two
    Singpass apps share their keys)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Mapping[str, Any]] = {}

    def of(self, target: JwksTarget) -> list[ConfiguredKey]:
        """Signing keys first, then decryption keys, each kid once, as the gateway's provider JWKS lists them."""
        keys = [
            ConfiguredKey(self._entry(arn, use), _purpose(use, index))
            for use, arns in (("sig", target.signing), ("enc", target.decryption))
            for index, arn in enumerate(arns)
        ]
        first_by_kid: dict[str, ConfiguredKey] = {}
        for key in keys:
            first_by_kid.setdefault(key.kid, key)  # one PEM for both uses is published once, as sig
        return list(first_by_kid.values())

    def _entry(self, arn: str, use: str) -> Mapping[str, Any]:
        if (arn, use) not in self._entries:
            self._entries[arn, use] = _published_entry(arn, use)
        return self._entries[arn, use]


def _published_entry(arn: str, use: str) -> Mapping[str, Any]:
    """The JWKS entry the gateway publishes for the key: its kid (KMS key id or PEM thumbprint), public numbers
    from KMS GetPublicKey or the PEM, ``use`` and ``alg``."""
    from .. import jose
    from ..errors import GatewayError

    try:
        return jose.published_jwk(load(arn), use, PUBLISHED_ALGORITHMS[use])
    except GatewayError as error:
        raise ConfigurationUnreadable(f"{arn}: {error}") from None


def _purpose(use: str, index: int) -> str:
    """How a finding names a key's part: the first of each use is the one the stack uses."""
    if use == "sig":
        return "signing key in use" if index == 0 else "additional signing key"
    return "decryption key" if index == 0 else "additional decryption key"


def _summary(findings: Sequence[Finding]) -> str:
    counts = Counter(finding.verdict for finding in findings if not finding.ok)
    if not counts:
        return f"keys check: all {len(findings)} findings ok"
    return "keys check: " + ", ".join(f"{count} {verdict}" for verdict, count in counts.items())


def _exit_status(findings: Sequence[Finding]) -> int:
    if any(finding.verdict is Verdict.UNREADABLE for finding in findings):
        return EXIT_CANNOT_CHECK
    return EXIT_MATCH if all(finding.ok for finding in findings) else EXIT_MISMATCH
