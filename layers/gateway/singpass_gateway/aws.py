"""One boto3 client per AWS service and container, created on first use and reused by every invocation.

Bounded timeouts and botocore's standard retry mode apply to every AWS call: DynamoDB, KMS and Secrets
Manager calls are all safe to retry. Local endpoints (the sandbox) come from boto3's own
``AWS_ENDPOINT_URL_<SERVICE>`` variables, so no code here knows about them.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})


@functools.cache
def _client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]


def dynamodb() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb")
    return client


def kms() -> KMSClient:
    client: KMSClient = _client("kms")
    return client


def secretsmanager() -> SecretsManagerClient:
    client: SecretsManagerClient = _client("secretsmanager")
    return client
