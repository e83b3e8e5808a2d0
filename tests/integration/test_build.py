"""`make build` as a newcomer runs it: `sam build` from the project's virtualenv, no Docker, makes every function
and a layer of Lambda's own (arm64, the runtime's Python) wheels, with nothing that would shadow the runtime's
boto3. Built into a temporary folder, so the tests write nothing into the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.sandbox.template import load_template

ROOT = Path(__file__).resolve().parents[2]
SAM = Path(sys.executable).with_name("sam")


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("sam-build")
    environment = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    done = subprocess.run(
        [str(SAM), "build", "--build-dir", str(target), "--template-file", str(ROOT / "template.yaml")],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return target


def test_every_function_is_built_with_its_handler(build_dir: Path) -> None:
    resources = load_template(ROOT / "template.yaml")["Resources"]
    functions = [name for name, resource in resources.items() if resource["Type"] == "AWS::Serverless::Function"]

    assert len(functions) == 5
    for name in functions:
        assert (build_dir / name / "app.py").is_file(), name
    built = load_template(build_dir / "template.yaml")["Resources"]
    assert {name for name, resource in built.items() if resource["Type"] == "AWS::Serverless::Function"} == set(
        functions
    )


def test_the_layer_holds_the_package_and_arm64_wheels_for_the_lambda_runtime(build_dir: Path) -> None:
    python = build_dir / "GatewayLayer" / "python"
    template = load_template(ROOT / "template.yaml")
    runtime = template["Globals"]["Function"]["Runtime"]  # e.g. python3.13
    version_tag = "cp" + runtime.removeprefix("python").replace(".", "")

    assert (python / "singpass_gateway" / "flows.py").is_file()
    for package in ("aws_lambda_powertools", "jwt", "joserfc", "requests", "cryptography", "aws_xray_sdk"):
        assert (python / package).is_dir(), package
    tags = {
        line.removeprefix("Tag: ").strip()
        for wheel in python.glob("*.dist-info/WHEEL")
        for line in wheel.read_text().splitlines()
        if line.startswith("Tag: ")
    }
    native = {tag for tag in tags if not tag.endswith("-none-any")}
    assert native, "cryptography and cffi ship native code"
    assert all(tag.endswith("aarch64") for tag in native), native  # Lambda's arm64, whatever builds it
    assert any(tag.startswith(version_tag) for tag in native), native  # cffi is built per Python version
    # The runtime's own boto3/botocore must win: a copy in the layer would shadow it and double the size.
    assert not (python / "botocore").exists()
    assert not (python / "boto3").exists()
    assert not list(python.rglob("__pycache__"))
