"""Tracing costs nothing when it is off: each handler, imported by a fresh process with its environment from
template.yaml, loads the X-Ray SDK only when the stack's Tracing parameter is Active (and then patches the
provider and AWS clients). Cold-start figures belong to ``make bench``; this checks what is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.sandbox.template import FunctionSpec, Resolver, functions, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
PARAMETERS = {
    "SiteHosting": "None",  # the site's URL from the environment, not SSM: nothing to reach in a fresh process
    "FrontendUrl": "https://app.example.com",
    "SgidClientId": "client",
    "OidcIssuer": "https://op.example",
    "OidcClientId": "oidc",
}
PHYSICAL = {
    name: {
        "Ref": f"arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:{name}" if name.endswith("Secret") else name,
        "Arn": f"arn:aws:kms:ap-southeast-1:111122223333:key/{name}",
    }
    for name in TEMPLATE["Resources"]
}
PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import app
loaded = sorted({name.split(".")[0] for name in sys.modules if name.startswith("aws_xray_sdk")})
patched = sorted(sys.modules["aws_xray_sdk.core.patcher"]._PATCHED_MODULES) if loaded else []
print(json.dumps({"loaded": loaded, "patched": patched}))
"""


def handlers(tracing: str) -> list[FunctionSpec]:
    return functions(TEMPLATE, Resolver(TEMPLATE, {**PARAMETERS, "Tracing": tracing}, PHYSICAL), ROOT)


def cold_import(spec: FunctionSpec) -> dict[str, Any]:
    """Import the handler in a new interpreter, as a Lambda container would (LAMBDA_TASK_ROOT set: in Lambda)."""
    environment = {
        "PATH": os.environ["PATH"],
        "AWS_DEFAULT_REGION": "ap-southeast-1",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        **spec.environment,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(spec.code_dir)],
        env=environment,
        cwd=spec.code_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("spec", handlers("PassThrough"), ids=lambda spec: spec.logical_id)
def test_with_tracing_off_no_handler_imports_the_xray_sdk(spec: FunctionSpec) -> None:
    assert spec.environment["GATEWAY_TRACING"] == "false"
    assert cold_import(spec) == {"loaded": [], "patched": []}


@pytest.mark.parametrize("spec", handlers("Active"), ids=lambda spec: spec.logical_id)
def test_with_tracing_active_each_handler_traces_its_provider_and_aws_calls(spec: FunctionSpec) -> None:
    assert spec.environment["GATEWAY_TRACING"] == "true"
    assert cold_import(spec) == {"loaded": ["aws_xray_sdk"], "patched": ["botocore", "requests"]}
