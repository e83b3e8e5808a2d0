"""Key rotations as the ``sam deploy`` commands to run, step by step; nothing is changed.

A provider that reads a JWKS gets an overlapping rotation (publish, switch, retire, a cache lifetime apart); one
that registers a single key or certificate gets one switching deploy, with what that costs said plainly.
"""

from __future__ import annotations

import argparse
import shlex
import textwrap
from collections.abc import Callable

from .aws_calls import arn_service
from .errors import InvalidArgument
from .roles import JWKS_CACHE_NOTE, KeyRole, role

EMPTY_SAM_VALUE = '""'
"""SAM's --parameter-overrides refuses ``Name=``; ``Name=""`` sets the empty string."""
_SAMCONFIG_WARNING = """
Each `sam deploy --parameter-overrides` above sets only the parameters it names; the others keep their
deployed values. It also replaces samconfig.toml's parameter_overrides for that run only: change the key
parameters there as well, or a later plain `sam deploy` puts the old keys back.
"""


def rotation_plan(arguments: argparse.Namespace) -> None:
    """The steps of a key rotation as commands to run; nothing is changed."""
    key_role = role(arguments.provider, arguments.use)
    for reference in (arguments.current, arguments.next):
        if arn_service(reference) not in ("kms", "secretsmanager"):
            raise InvalidArgument(f"{reference!r} is neither a KMS key ARN nor a Secrets Manager secret ARN")
    if arguments.current == arguments.next:
        raise InvalidArgument("--current and --next name the same key")
    plan = _overlapping_rotation if key_role.additional_parameter else _switching_rotation
    print(plan(arguments, key_role) + _SAMCONFIG_WARNING)


def _overlapping_rotation(arguments: argparse.Namespace, key_role: KeyRole) -> str:
    """Publish, switch, retire: every key that is used was published a cache lifetime earlier."""
    deploy, additional = _deploy_command(arguments.stack_name), str(key_role.additional_parameter)
    cache_note = JWKS_CACHE_NOTE.format(provider="the provider")
    wait = _paragraph(key_role.cache_wait or f"Wait longer than the provider caches your JWKS: {cache_note}.")
    return f"""\
Rotating the {arguments.provider} {arguments.use} key without downtime ({key_role.parameter}, {additional}).
Run after `make build`; this assumes {additional} is empty now.

1. Publish the new key next to the current one:
   {deploy({additional: arguments.next})}
   Check that the JWKS registered with {arguments.provider} (the stack's {key_role.jwks_output} output) lists the
   kid this prints:
   python -m singpass_gateway keys jwks --use {arguments.use} {shlex.quote(arguments.next)}
{wait}
2. Switch to the new key and keep the old one published:
   {deploy({key_role.parameter: arguments.next, additional: arguments.current})}
{wait}
3. Retire the old key:
   {deploy({additional: ""})}
{_retire(arguments.current)}
"""


def _switching_rotation(arguments: argparse.Namespace, key_role: KeyRole) -> str:
    """One deploy that replaces the key, with what that costs for this provider said plainly."""
    return f"""\
Rotating the {arguments.provider} {arguments.use} key ({key_role.parameter}) is NOT zero-downtime: the stack takes
one {arguments.provider} {arguments.use} key, so one deploy replaces it.
{_paragraph(key_role.switch_caveat, indent="")}

1. Switch to the new key (after `make build`):
   {_deploy_command(arguments.stack_name)({key_role.parameter: arguments.next})}
2. Once logins succeed with the new key:
{_retire(arguments.current)}
"""


def _deploy_command(stack_name: str | None) -> Callable[[dict[str, str]], str]:
    """``sam deploy`` with parameter overrides quoted as SAM reads them (an empty value must be ``""``)."""
    stack = f" --stack-name {shlex.quote(stack_name)}" if stack_name else ""

    def command(overrides: dict[str, str]) -> str:
        pairs = " ".join(f"{name}={value or EMPTY_SAM_VALUE}" for name, value in overrides.items())
        return f"sam deploy{stack} --parameter-overrides {shlex.quote(pairs)}"

    return command


def _paragraph(text: str, indent: str = "   ") -> str:
    """Prose wrapped for a terminal; commands are never wrapped, so they stay copyable."""
    return textwrap.fill(text, width=110, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False)


def _retire(reference: str) -> str:
    """How to take the old key out of service: reversibly, since another parameter may still name it."""
    if arn_service(reference) == "kms":
        advice = "Disable the old key when no parameter names it any more (enable-key undoes it; delete it later):"
        return f"{_paragraph(advice)}\n   aws kms disable-key --key-id {shlex.quote(reference)}"
    return _paragraph("Delete the old key's secret when no parameter names it any more.")
