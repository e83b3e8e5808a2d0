"""Tracing costs nothing when it is off: each handler, imported by a fresh process with its environment from
template.yaml, loads the X-Ray SDK only when the stack's Tracing parameter is Active (and then patches the AWS
client, botocore, but not ``requests``, whose traces would carry provider URLs). Cold-start figures belong to
``make bench``; this checks what is imported.

With tracing on, nothing personal or secret reaches X-Ray: each provider call is a subsegment named by provider
and call kind with the provider's host alone, and every document leaves through an emitter that drops what the
X-Ray SDK or Powertools could record of a request (a URL's path and query, an exception's message, metadata).
tests/integration/test_traces.py checks the same over every provider's login in the sandbox."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from singpass_gateway import observability
from singpass_gateway import settings as configuration
from singpass_gateway.errors import ProviderUnavailable
from singpass_gateway.http import HttpClient
from singpass_gateway.observability import calls_for

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
emitter = type(sys.modules["aws_xray_sdk.core"].xray_recorder.emitter).__name__ if loaded else None
print(json.dumps({"loaded": loaded, "patched": patched, "emitter": emitter}))
"""
NRIC = "S9812381D"
CODE = "authorization-code-that-must-not-be-traced"
COOKIE = "session-cookie-that-must-not-be-traced"


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
    assert cold_import(spec) == {"loaded": [], "patched": [], "emitter": None}


@pytest.mark.parametrize("spec", handlers("Active"), ids=lambda spec: spec.logical_id)
def test_with_tracing_active_each_handler_traces_its_aws_calls_through_the_redacting_emitter(
    spec: FunctionSpec,
) -> None:
    assert spec.environment["GATEWAY_TRACING"] == "true"
    assert cold_import(spec) == {"loaded": ["aws_xray_sdk"], "patched": ["botocore"], "emitter": "RedactingEmitter"}


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


class Provider(BaseHTTPRequestHandler):
    """Answers every GET with ``{}``; drops a POST's connection without an answer."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What a traced handler's X-Ray SDK sends the daemon, in this process: through the emitter that ``traced``
    installs, with Powertools' Tracer kept from patching anything here."""
    from aws_lambda_powertools import Tracer
    from aws_xray_sdk import global_sdk_config
    from aws_xray_sdk.core import xray_recorder

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setattr(configuration, "tracing_enabled", lambda: True)
    emitter, enabled = xray_recorder.emitter, global_sdk_config.sdk_enabled()
    observability.traced(lambda event, context: None)
    global_sdk_config.set_sdk_enabled(True)  # Powertools' Tracer, off outside Lambda, switched the SDK off
    documents: list[str] = []
    monkeypatch.setattr(xray_recorder.emitter, "_send_data", documents.append)
    try:
        yield documents
    finally:
        xray_recorder.emitter = emitter
        global_sdk_config.set_sdk_enabled(enabled)
        Tracer._reset_config()


def test_provider_calls_are_traced_by_provider_and_call_and_nothing_personal_leaves(
    sent: list[str], provider: str
) -> None:
    from aws_xray_sdk.core import xray_recorder

    client = HttpClient(timeout_seconds=2)
    xray_recorder.begin_segment("test", sampling=1)
    try:
        with calls_for("myinfo-v3"):
            client.get(f"{provider}/myinfo/v3/person/{NRIC}/?attributes=name", call="person")
            with pytest.raises(ProviderUnavailable):
                client.post_form(f"{provider}/token/{NRIC}", {"code": CODE}, call="token")
        # What the X-Ray SDK records itself: a patched HTTP client's whole URL; a handler's exception with its
        # message, and its response as metadata (Powertools' capture_error and capture_response).
        xray_recorder.begin_subsegment("127.0.0.1", "remote").put_http_meta("url", f"{provider}/person/{NRIC}/?a=1")
        xray_recorder.end_subsegment()
        with pytest.raises(ValueError, match=NRIC):
            handler_failing(xray_recorder)
    finally:
        xray_recorder.end_segment()

    text = "\n".join(sent)
    for secret in (NRIC, CODE, COOKIE, "/person", "attributes"):
        assert secret not in text
    entities = {entity["name"]: entity for document in sent for entity in walk(json.loads(document.split("\n", 1)[1]))}
    person, token = entities["myinfo-v3 person"], entities["myinfo-v3 token"]
    assert person["namespace"] == token["namespace"] == "remote"
    assert person["annotations"] == {"provider": "myinfo-v3", "call": "person"}
    assert person["http"] == {"request": {"method": "GET", "url": provider}, "response": {"status": 200}}
    assert token["http"] == {"request": {"method": "POST", "url": provider}}
    assert token["fault"] is True
    assert [exception["type"] for exception in token["cause"]["exceptions"]] == ["ConnectionError"]  # requests' own
    assert entities["127.0.0.1"]["http"]["request"]["url"] == provider
    handler = entities["## lambda_handler"]
    assert [exception["type"] for exception in handler["cause"]["exceptions"]] == ["ValueError"]
    for entity in entities.values():
        assert "metadata" not in entity
        for exception in entity.get("cause", {}).get("exceptions", []):
            assert "message" not in exception


def handler_failing(xray_recorder: Any) -> None:
    """A handler's subsegment as Powertools records one with ``capture_response`` and ``capture_error`` on."""
    with xray_recorder.in_subsegment("## lambda_handler"):
        xray_recorder.put_metadata("lambda_handler response", {"cookies": [COOKIE]})
        raise ValueError(f"a bug that echoes {NRIC}")


def walk(entity: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A trace document and the subsegments nested in it."""
    yield entity
    for child in entity.get("subsegments", []):
        yield from walk(child)
