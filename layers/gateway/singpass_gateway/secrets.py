"""Client secrets and PEM keys from Secrets Manager, cached per container for a bounded time.

A warm container reads no secret; after ``max_age_seconds`` it reads again, so a rotated secret is picked up
without a redeploy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from .errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


class SecretUnavailable(ServiceUnavailable):
    """A secret could not be read (missing, access denied, throttled, service error): the login can be tried
    again later, like any other AWS service failing."""


class SecretCache:
    def __init__(
        self,
        client: Callable[[], SecretsManagerClient],
        max_age_seconds: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._max_age = max_age_seconds
        self._clock = clock
        self._values: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, secret_id: str) -> str:
        """The secret's current string value."""
        with self._lock:
            cached = self._values.get(secret_id)
            if cached and self._clock() - cached[1] < self._max_age:
                return cached[0]
        value = self._fetch(secret_id)
        with self._lock:
            self._values[secret_id] = (value, self._clock())
        return value

    def _fetch(self, secret_id: str) -> str:
        try:
            response = self._client().get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
        except (ClientError, BotoCoreError) as error:
            raise SecretUnavailable(f"secret {secret_id}: {type(error).__name__}") from None
        value = response.get("SecretString")
        if not value:
            raise SecretUnavailable(f"secret {secret_id} has no string value")
        return value
