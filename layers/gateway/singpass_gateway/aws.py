"""One boto3 client per AWS service and container, created on first use and reused by every invocation.

Bounded timeouts and botocore's standard retry mode apply to every AWS call: DynamoDB, KMS and Secrets
Manager calls are all safe to retry. Local endpoints (the sandbox) come from boto3's own
``AWS_ENDPOINT_URL_<SERVICE>`` variables, so no code here knows about them.

An AWS service that stops answering costs one call at most 3 attempts of 2 s plus up to 3 s of backoff: 9 s,
within every function's timeout in template.yaml (15 s; 29 s for the callback), so the handler still answers
with its ``service_unavailable`` instead of being cut off by Lambda. DynamoDB, KMS and Secrets Manager answer
in milliseconds when they answer at all.
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
    from mypy_boto3_ssm import SSMClient

_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 3, "mode": "standard"})
"""``total_max_attempts`` counts the first attempt too (botocore's ``max_attempts`` would mean 3 retries)."""


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


def ssm() -> SSMClient:
    client: SSMClient = _client("ssm")
    return client
