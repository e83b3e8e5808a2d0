"""The one structured JSON logger. Log lines carry provider ids and error codes, never tokens or personal data."""

from aws_lambda_powertools import Logger

logger = Logger(service="singpass-gateway")
