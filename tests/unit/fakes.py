"""Unit-test doubles: an in-memory HTTP client that answers from a routing table and records requests, the
provider toolkit over it, and an in-memory store with DynamoDB's conditions."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from singpass_gateway.errors import InvalidState, LoginExpired
from singpass_gateway.http import HttpResponse
from singpass_gateway.jose import JwksCache
from singpass_gateway.keys.pem import PemKey
from singpass_gateway.observability import UpstreamCall
from singpass_gateway.store import LoginTransaction, Session


class FakeHttp:
    """Answers requests from a routing table and records them, so tests can check what was sent."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Callable[..., HttpResponse]] = {}
        self.requests: list[dict[str, Any]] = []

    def on(self, method: str, url: str, answer: Callable[..., HttpResponse] | HttpResponse) -> None:
        self.routes[(method, url)] = answer if callable(answer) else (lambda **_: answer)

    def get(
        self, url: str, headers: Mapping[str, str] | None = None, *, call: UpstreamCall, single_use: bool = False
    ) -> HttpResponse:
        return self._answer("GET", url, call, headers=dict(headers or {}), single_use=single_use)

    def post_form(
        self, url: str, form: Mapping[str, str], headers: Mapping[str, str] | None = None, *, call: UpstreamCall
    ) -> HttpResponse:
        return self._answer("POST", url, call, headers=dict(headers or {}), form=dict(form))

    def _answer(self, method: str, url: str, call: UpstreamCall, **request: Any) -> HttpResponse:
        self.requests.append({"method": method, "url": url, "call": call, **request})
        return self.routes[(method, url)](**request)

    def count(self, method: str, url: str) -> int:
        return sum(1 for request in self.requests if (request["method"], request["url"]) == (method, url))


def json_response(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, dict(headers or {}), json.dumps(body).encode())


def pem(key: PrivateKeyTypes) -> str:
    """A private key as the PKCS#8 PEM a Secrets Manager secret holds."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class FakeSecrets:
    """Secrets Manager as a dict: an unknown ARN is a KeyError, so a provider reading the wrong secret fails."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)

    def get(self, secret_id: str) -> str:
        return self.values[secret_id]


class FakeToolkit:
    """The providers' toolkit over FakeHttp: PEM keys from fake secrets, a real JWKS cache with a settable clock."""

    def __init__(
        self,
        http: FakeHttp,
        secrets: Mapping[str, str],
        *,
        refetch_cooldown_seconds: float = 10,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.http, self.secrets = http, FakeSecrets(secrets)
        cache_clock = {"clock": clock} if clock is not None else {}
        self.jwks = JwksCache(http, refetch_cooldown_seconds=refetch_cooldown_seconds, **cache_clock)  # type: ignore[arg-type]
        self.pauses: list[float] = []
        """The waits providers asked for between retries, recorded instead of slept."""

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)

    def key(self, reference: str) -> PemKey:
        return PemKey(reference, self.secrets)  # type: ignore[arg-type]


class MemoryStore:
    """The store's contract in memory, with the conditions of its DynamoDB calls: a transaction is consumed once,
    only by its provider and browser and before it expires; one refresh lease per session."""

    def __init__(self) -> None:
        self.transactions: dict[str, LoginTransaction] = {}
        self.sessions: dict[str, Session] = {}
        self.leases: dict[str, int] = {}

    def put_transaction(self, txn: LoginTransaction) -> None:
        self.transactions[txn.state] = txn

    def consume_transaction(self, state: str, provider_id: str, binding: str, now: int) -> LoginTransaction:
        txn = self.transactions.get(state)
        if txn is None or txn.provider_id != provider_id or txn.binding != binding:
            raise InvalidState("no login transaction for this state, provider and browser")
        if txn.expires_at <= now:
            raise LoginExpired("login transaction expired")
        return self.transactions.pop(state)

    def put_session(self, session_id: str, session: Session) -> None:
        self.sessions[session_id] = session

    def get_session(self, session_id: str, now: int, *, include_expired: bool = False) -> Session | None:
        session = self.sessions.get(session_id)
        return session if session is not None and (session.expires_at > now or include_expired) else None

    def delete_session(self, session_id: str) -> Session | None:
        self.leases.pop(session_id, None)
        return self.sessions.pop(session_id, None)

    def lease_refresh(self, session_id: str, now: int, seconds: int) -> Session | None:
        session = self.get_session(session_id, now)
        if session is None or self.leases.get(session_id, 0) >= now:
            return None
        self.leases[session_id] = now + seconds
        return session

    def touch_session(self, session_id: str, now: int) -> None:
        if session_id in self.sessions:
            self.sessions[session_id] = replace(self.sessions[session_id], seen_at=now)

    def save_refresh(self, session_id: str, session: Session) -> bool:
        if session_id not in self.sessions:
            return False
        self.sessions[session_id] = session
        self.leases.pop(session_id, None)
        return True

    def release_refresh(self, session_id: str) -> None:
        self.leases.pop(session_id, None)


def load_handler(name: str) -> ModuleType:
    """``functions/<name>/app.py`` as its container loads it, but without a gateway, settings or tracing: unit tests
    have no AWS to build them from and call the handler's own functions with doubles."""
    path = Path(__file__).resolve().parents[2] / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"{name}_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("singpass_gateway.flows.gateway", lambda: None)
        patch.setattr("singpass_gateway.settings.settings", lambda: None)
        patch.setattr("singpass_gateway.observability.traced", lambda handler: handler)
        spec.loader.exec_module(module)
    return module


def import_in_a_fresh_process(
    code_dir: Path, environment: Mapping[str, str], probe: str = ""
) -> subprocess.CompletedProcess[str]:
    """Import ``code_dir``'s app.py in a new interpreter with only ``environment`` (and PATH, a region, no AWS
    credentials), as a Lambda container starts, then run ``probe``; module-level work happens as deployed."""
    script = f"import sys\nsys.path.insert(0, {str(code_dir)!r})\nimport app\n{probe}"
    return subprocess.run(
        [sys.executable, "-c", script],
        env={
            "PATH": os.environ["PATH"],
            "AWS_DEFAULT_REGION": "ap-southeast-1",
            "LAMBDA_TASK_ROOT": str(code_dir),
            **environment,
        },
        cwd=code_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
