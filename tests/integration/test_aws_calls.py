"""What a login costs in AWS calls, counted at the botocore layer inside the handlers (issue 7's budgets)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from infra.sandbox.browser import Browser
from infra.sandbox.stack import Sandbox, SandboxOptions, run_sandbox

WRITES = {"PutItem", "DeleteItem", "UpdateItem"}


@pytest.fixture(scope="module")
def counting_sandbox() -> Iterator[Sandbox]:
    with run_sandbox(SandboxOptions(show_login_page=False, count_aws_calls=True)) as stack:
        yield stack


def login_calls(sandbox: Sandbox, provider: str) -> Counter[str]:
    mark = len(sandbox.server.invocations)
    callback = Browser(sandbox.url).login(provider=provider)
    assert "error=" not in callback.headers["Location"]
    calls: Counter[str] = Counter()
    for _, invocation in list(sandbox.server.invocations)[mark:]:
        calls.update(invocation.aws_calls)
    return calls


@pytest.mark.parametrize("provider", ["sgid", "oidc", "sp", "sp-data"])
def test_a_warm_login_stays_within_its_aws_budget(counting_sandbox: Sandbox, provider: str) -> None:
    cold = login_calls(counting_sandbox, provider)
    warm = login_calls(counting_sandbox, provider)

    assert sum(n for call, n in warm.items() if call.split(".")[1] in WRITES) <= 3
    assert warm["secretsmanager.GetSecretValue"] == 0  # secrets are cached for a bounded time
    assert warm["kms.GetPublicKey"] == cold["kms.GetPublicKey"] == 0  # no login ever needs a public key
    assert warm["dynamodb.GetItem"] == 0
    if provider == "sgid":
        assert warm["kms.Decrypt"] == 1  # the userinfo content key; nothing else
        assert sum(n for call, n in warm.items() if call.startswith("kms.")) == 1
    if provider == "oidc":
        assert cold["secretsmanager.GetSecretValue"] == 1  # the client secret, once per container
        assert warm["kms.Encrypt"] == 1  # sealing the refresh token
    if provider in ("sp", "sp-data"):
        assert warm["kms.Sign"] == 2  # the PAR's and the token call's client assertions
    if provider == "sp":  # the Login app: its person is in the ID token, and there is no userinfo call
        assert warm["kms.DeriveSharedSecret"] == 1  # the encrypted ID token
    if provider == "sp-data":  # the Myinfo app
        assert warm["kms.DeriveSharedSecret"] == 2  # the encrypted ID token and userinfo
