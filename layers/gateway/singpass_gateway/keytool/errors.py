"""The key CLI's expected failures: each is one ``error:`` line on stderr and an exit status, never a traceback.

Most commands exit 1 on any of them. ``keys check`` exits 1 for what it finds wrong in a JWKS and 2 when it could
not look (:class:`CannotCheck`), so a pipeline can tell a stale JWKS from an unreachable one.
"""

from __future__ import annotations

from typing import ClassVar


class KeyToolError(Exception):
    """An expected failure of a command: reported as one line, no traceback."""

    exit_status: ClassVar[int] = 1


class UnsuitableKey(KeyToolError):
    """The key exists but is of a type, size or usage the provider or the command cannot use."""


class UnreadablePem(KeyToolError):
    """The file is not an unencrypted PEM private key (the message never quotes the file)."""


class InvalidArgument(KeyToolError):
    """An argument argparse cannot check by itself (a subject, an alias, a key reference)."""


class AwsCallFailed(KeyToolError):
    """AWS refused or could not be reached: credentials, region, permissions, a missing resource."""


class CannotCheck(KeyToolError):
    """``keys check`` could not compare: exit status 2, where a mismatch it found is 1."""

    exit_status: ClassVar[int] = 2


class CheckUsageError(CannotCheck):
    """``keys check`` was asked something it cannot check (no keys, a JWKS URL that is not HTTPS, …)."""


class ConfigurationUnreadable(CannotCheck):
    """What the stack is configured with could not be read: the stack, a KMS public key, a PEM secret."""


class JwksUnreadable(CannotCheck):
    """A published JWKS could not be fetched as a provider fetches it: unreachable, slow, not a JWKS."""
