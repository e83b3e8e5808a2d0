"""Tracing costs nothing when it is off: each handler, imported by a fresh process with its environment from
template.yaml, loads the X-Ray SDK only when the stack's Tracing parameter is Active (and then patches the
provider and AWS clients). Cold-start figures belong to ``make bench``; this checks what is imported."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from infra.sandbox.template import FunctionSpec, Resolver, functions, load_template
from tests.unit.fakes import import_in_a_fresh_process

ROOT = Path(__file__).resolve().parents[2]
XRAY_POLICY = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
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
import json
loaded = sorted({name.split(".")[0] for name in sys.modules if name.startswith("aws_xray_sdk")})
patched = sorted(sys.modules["aws_xray_sdk.core.patcher"]._PATCHED_MODULES) if loaded else []
print(json.dumps({"loaded": loaded, "patched": patched}))
"""


def handlers(tracing: str) -> list[FunctionSpec]:
    return functions(TEMPLATE, Resolver(TEMPLATE, {**PARAMETERS, "Tracing": tracing}, PHYSICAL), ROOT)


def cold_import(spec: FunctionSpec) -> dict[str, Any]:
    done = import_in_a_fresh_process(spec.code_dir, spec.environment, PROBE)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("spec", handlers("Disabled"), ids=lambda spec: spec.logical_id)
def test_with_tracing_off_no_handler_imports_the_xray_sdk(spec: FunctionSpec) -> None:
    assert spec.environment["GATEWAY_TRACING"] == "false"
    assert cold_import(spec) == {"loaded": [], "patched": []}


@pytest.mark.parametrize("spec", handlers("Active"), ids=lambda spec: spec.logical_id)
def test_with_tracing_active_each_handler_traces_its_provider_and_aws_calls(spec: FunctionSpec) -> None:
    assert spec.environment["GATEWAY_TRACING"] == "true"
    assert cold_import(spec) == {"loaded": ["aws_xray_sdk"], "patched": ["botocore", "requests"]}


@pytest.mark.parametrize(("tracing", "granted"), [("Disabled", False), ("Active", True)])
def test_only_active_tracing_gives_the_functions_an_xray_policy(
    monkeypatch: pytest.MonkeyPatch, tracing: str, granted: bool
) -> None:
    """SAM attaches AWSXrayWriteOnlyAccess for any Tracing value but Disabled (PassThrough included)."""
    from samtranslator.translator.transform import transform

    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-1")
    source = copy.deepcopy(dict(TEMPLATE))
    source["Parameters"]["Tracing"]["Default"] = tracing  # what the transform resolves the Ref with
    for resource in source["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = "s3://bucket/code.zip"

    class ManagedPolicies:
        def load(self) -> dict[str, str]:
            return {"AWSXrayWriteOnlyAccess": XRAY_POLICY}

    deployed = transform(source, {}, ManagedPolicies())  # type: ignore[arg-type]
    roles = [resource for name, resource in deployed["Resources"].items() if name.endswith("FunctionRole")]

    assert len(roles) == len(handlers(tracing))
    for role in roles:
        assert (XRAY_POLICY in role["Properties"].get("ManagedPolicyArns", [])) is granted
