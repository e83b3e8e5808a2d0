"""The one structured JSON logger. Log lines carry provider ids and error codes, never tokens or personal data."""

import traceback

from aws_lambda_powertools import Logger

logger = Logger(service="singpass-gateway")


def log_unexpected(error: BaseException) -> None:
    """Log a bug's type and stack frames, but not its message: third-party messages can echo request data."""
    frames = traceback.format_tb(error.__traceback__)
    logger.error("unexpected error", extra={"exception_type": type(error).__name__, "stack": frames})
