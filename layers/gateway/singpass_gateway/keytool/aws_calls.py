"""AWS calls as the key CLI makes them: one call, its failures as one-line errors rather than botocore tracebacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import AwsCallFailed


def aws_call(client: Callable[[], Any], operation: str, **parameters: Any) -> Any:
    """One AWS call, with credentials, region, permission and not-found failures as one-line errors."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return getattr(client(), operation)(**parameters)
    except ClientError as error:
        details = error.response.get("Error", {})
        raise AwsCallFailed(f"{operation}: {details.get('Code')}: {details.get('Message')}") from None
    except BotoCoreError as error:
        raise AwsCallFailed(f"{operation}: {error}") from None


def arn_service(reference: str) -> str:
    """The service an ARN belongs to (``kms``, ``secretsmanager``), or "" for anything that is not an ARN."""
    parts = reference.split(":")
    return parts[2] if len(parts) >= 6 and parts[0] == "arn" else ""
