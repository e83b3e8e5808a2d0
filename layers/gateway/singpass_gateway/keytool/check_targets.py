"""What ``keys check`` compares: each JWKS URL with the key ARNs configured for it, given on the command line or
read from a deployed stack (its JWKS outputs, its key parameters, and the keys it created when those are empty).

Reading the stack rather than samconfig.toml or a note of the ARNs is the point: it is what the deployed
functions were given, so a check that passes says what the provider sees is what the gateway uses.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .aws_calls import aws_call
from .console import note
from .errors import AwsCallFailed, CheckUsageError, ConfigurationUnreadable
from .live_jwks import checked_url

if TYPE_CHECKING:
    from mypy_boto3_cloudformation.type_defs import StackTypeDef

USE_WORDS = {"sig": "Signing", "enc": "Decryption"}
"""How template.yaml's parameter and resource names spell each use."""


@dataclass(frozen=True)
class JwksTarget:
    """One published JWKS and the keys it must publish."""

    label: str
    """The provider, as findings name it ("singpass", "singpass-myinfo" for the second Singpass app, …)."""
    url: str
    signing: tuple[str, ...]
    """Key ARNs: the first signs, the others are published for a rotation (the next key, or the previous)."""
    decryption: tuple[str, ...]
    """Key ARNs: the first is the configured one, the others are published and accepted too."""


@dataclass(frozen=True)
class StackProvider:
    """Where template.yaml names one provider's keys and JWKS URLs: ``{prefix}SigningKeyArn``, the
    ``{prefix}SigningKey`` resource it creates when that is empty, ``{prefix}AdditionalSigningKeyArns``, and
    likewise for decryption."""

    name: str
    prefix: str
    jwks_outputs: tuple[tuple[str, str], ...]
    """(label, stack output) for each app of the provider; the apps share the provider's keys."""

    def parameter(self, use: str) -> str:
        return f"{self.prefix}{USE_WORDS[use]}KeyArn"

    def additional_parameter(self, use: str) -> str:
        return f"{self.prefix}Additional{USE_WORDS[use]}KeyArns"

    def created_key(self, use: str) -> str:
        return f"{self.prefix}{USE_WORDS[use]}Key"


STACK_PROVIDERS = (
    StackProvider(
        "singpass", "Singpass", (("singpass", "SingpassJwksUri"), ("singpass-myinfo", "SingpassMyinfoJwksUri"))
    ),
    StackProvider("myinfo-v4", "MyInfoV4", (("myinfo-v4", "MyInfoV4JwksUri"),)),
    StackProvider(
        "corppass",
        "Corppass",
        (("corppass", "CorppassJwksUri"), ("corppass-myinfo-business", "CorppassMyinfoBusinessJwksUri")),
    ),
)
"""Every provider that reads the gateway's keys from a JWKS URL; a stack configures those whose outputs it has."""
CHECKED_PROVIDERS = tuple(provider.name for provider in STACK_PROVIDERS)


def targets(arguments: argparse.Namespace) -> list[JwksTarget]:
    """The JWKS to check: the one named on the command line, or every one the stack publishes."""
    explicit = {
        "--provider": arguments.provider,
        "--jwks-url": arguments.jwks_url,
        "--signing-key": arguments.signing_keys,
        "--decryption-key": arguments.decryption_keys,
    }
    if arguments.stack_name:
        given = [flag for flag, value in explicit.items() if value]
        if given:
            raise CheckUsageError(f"--stack-name reads the keys from the stack; leave out {', '.join(given)}")
        return from_stack(arguments.stack_name)
    missing = [flag for flag, value in explicit.items() if not value]
    if missing:
        raise CheckUsageError(f"give --stack-name, or all of {', '.join(explicit)} (missing: {', '.join(missing)})")
    signing, decryption = _distinct(arguments.signing_keys), _distinct(arguments.decryption_keys)
    return [JwksTarget(arguments.provider, checked_url(arguments.jwks_url), signing, decryption)]


def from_stack(stack_name: str) -> list[JwksTarget]:
    """Every JWKS output of the stack, with the keys its parameters name or, where they are empty, it created."""
    client = _cloudformation()
    stack = _call(client, "describe_stacks", StackName=stack_name)["Stacks"][0]
    if not stack["StackStatus"].endswith("_COMPLETE"):
        note(f"stack {stack_name} is {stack['StackStatus']}: what it is configured with may be about to change")
    outputs = {output["OutputKey"]: output.get("OutputValue", "") for output in stack.get("Outputs", [])}
    found = []
    for provider in STACK_PROVIDERS:
        published = [(label, outputs[output]) for label, output in provider.jwks_outputs if outputs.get(output)]
        if published:
            signing, decryption = (_stack_keys(client, stack, provider, use) for use in ("sig", "enc"))
            found += [JwksTarget(label, checked_url(url), signing, decryption) for label, url in published]
    if not found:
        names = ", ".join(output for provider in STACK_PROVIDERS for _, output in provider.jwks_outputs)
        raise ConfigurationUnreadable(f"stack {stack_name} has none of the outputs {names}: no JWKS to check")
    return found


def _stack_keys(client: Any, stack: StackTypeDef, provider: StackProvider, use: str) -> tuple[str, ...]:
    """The provider's keys for ``use``: the one its parameter names (or the stack created), then the additional."""
    parameters = {
        parameter["ParameterKey"]: parameter.get("ParameterValue", "") for parameter in stack.get("Parameters", [])
    }
    current = parameters.get(provider.parameter(use)) or _created_key_arn(client, stack, provider.created_key(use))
    additional = parameters.get(provider.additional_parameter(use), "").split(",")
    return _distinct([current, *(arn.strip() for arn in additional if arn.strip())])


def _created_key_arn(client: Any, stack: StackTypeDef, logical_id: str) -> str:
    """The ARN of a KMS key the stack created: its physical id is the key id, in the stack's account and region."""
    resource = _call(client, "describe_stack_resource", StackName=stack["StackId"], LogicalResourceId=logical_id)
    _, partition, _, region, account, _ = stack["StackId"].split(":", 5)
    return f"arn:{partition}:kms:{region}:{account}:key/{resource['StackResourceDetail']['PhysicalResourceId']}"


def _cloudformation() -> Any:
    """A CloudFormation client; no region configured is one ``error:`` line and exit status 2, not a traceback."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.client("cloudformation")
    except BotoCoreError as error:
        raise ConfigurationUnreadable(f"cloudformation: {error}") from None


def _call(client: Any, operation: str, **parameters: Any) -> Any:
    """A CloudFormation call whose failure means the configuration is unknown: exit status 2, not 1."""
    try:
        return aws_call(lambda: client, operation, **parameters)
    except AwsCallFailed as error:
        raise ConfigurationUnreadable(str(error)) from None


def _distinct(arns: Sequence[str]) -> tuple[str, ...]:
    """The ARNs as given, each once: the gateway refuses a repeated key, since both copies would carry one kid."""
    repeated = next((arn for index, arn in enumerate(arns) if arn in arns[:index]), None)
    if repeated is not None:
        raise CheckUsageError(f"{repeated} is named twice; the gateway refuses that configuration")
    return tuple(arns)
