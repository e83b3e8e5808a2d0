"""The OpenAPI document is valid, complete and the one the code keeps: every route template.yaml routes, every
stable error code any module declares, and the session function's data routes behind their CSRF header."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator
from singpass_gateway import contract, keytool, web
from singpass_gateway.errors import GatewayError

from infra.sandbox.template import Resolver, functions, load_template
from tests.error_codes import gateway_error_codes
from tests.unit.fakes import import_in_a_fresh_process, load_handler

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
DOCUMENT = contract.document()


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": spec for path, item in document["paths"].items() for method, spec in item.items()
    }


def test_the_document_is_valid_openapi_3_1() -> None:
    OpenAPIV31SpecValidator(DOCUMENT).validate()
    assert DOCUMENT["openapi"].startswith("3.1.")


def test_it_describes_exactly_the_routes_template_yaml_routes() -> None:
    physical = {
        name: {"Ref": name, "Arn": f"arn:aws:kms:ap-southeast-1:1:key/{name}"} for name in TEMPLATE["Resources"]
    }
    resolver = Resolver(TEMPLATE, {"FrontendUrl": "https://app.example.com"}, physical)
    routed = {route.key for spec in functions(TEMPLATE, resolver) for route in spec.routes}
    assert set(operations(DOCUMENT)) == routed
    assert contract.route_keys() == routed


def test_the_data_routes_are_the_session_functions_and_take_the_csrf_header() -> None:
    served = set(load_handler("session").ROUTES)
    assert {key for key, route in contract.ROUTES.items() if route.data_route} == served
    csrf = DOCUMENT["components"]["parameters"]["Csrf"]
    assert (csrf["name"].lower(), csrf["in"], csrf["required"], csrf["schema"]) == (web.CSRF_HEADER, "header", True,
                                                                                    {"const": "1"})  # fmt: skip
    for key, spec in operations(DOCUMENT).items():
        takes_csrf = {"$ref": "#/components/parameters/Csrf"} in spec["parameters"]
        assert takes_csrf == (key in served), key
        refused = spec["responses"]["403"]["content"]["application/json"]["schema"]["allOf"][1]["properties"]
        assert "direct_access_refused" in refused["error"]["enum"], key  # behind CloudFront, from any route
        if key in served:
            assert set(refused["error"]["enum"]) == {"csrf_rejected", "direct_access_refused"}


def test_every_error_code_of_every_module_is_listed_as_the_lambda_builds_it() -> None:
    # The OpenAPI function imports contract alone: start it as Lambda does and build the document there.
    built = import_in_a_fresh_process(
        ROOT / "functions" / "openapi", {}, "import json\nprint(json.dumps(app.contract.document()))"
    )
    assert built.returncode == 0, built.stderr
    listed = json.loads(built.stdout.splitlines()[-1])["components"]["schemas"]["Error"]["properties"]["error"]["enum"]
    assert set(listed) == gateway_error_codes()
    assert "service_unavailable" in listed


def test_each_routes_errors_are_stable_codes_under_their_own_status() -> None:
    every_code = set(DOCUMENT["components"]["schemas"]["Error"]["properties"]["error"]["enum"])
    raised = {(error.code, error.status) for error in contract.family(GatewayError)}
    for key, spec in operations(DOCUMENT).items():
        for status, answer in spec["responses"].items():
            if int(status) >= 400:
                [_, narrowed] = answer["content"]["application/json"]["schema"]["allOf"]
                for code in narrowed["properties"]["error"]["enum"]:
                    assert code in every_code, (key, code)
                    assert (code, int(status)) in raised, (key, code)


def test_the_session_cookie_is_the_security_scheme_me_requires() -> None:
    scheme = DOCUMENT["components"]["securitySchemes"]["session"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "cookie", web.SESSION_COOKIE)
    assert operations(DOCUMENT)["GET /api/me"]["security"] == [{"session": []}]
    assert operations(DOCUMENT)["GET /api/providers"]["security"] == []


def test_redirects_document_location_and_set_cookie() -> None:
    for key in ("GET /auth/{provider}/login", "GET /auth/{provider}/callback"):
        headers = operations(DOCUMENT)[key]["responses"]["302"]["headers"]
        assert headers["Location"]["required"] is True
        assert "Set-Cookie" in headers
    callback = operations(DOCUMENT)["GET /auth/{provider}/callback"]
    assert "invalid_state" in callback["description"]  # the codes a failed login's redirect can carry


def test_the_openapi_function_serves_the_document_publicly() -> None:
    app = load_handler("openapi")
    response = app.openapi(web.Request.from_event({"routeKey": "GET /api/openapi.json"}))
    assert response["statusCode"] == 200
    assert response["headers"]["Cache-Control"] == "public, max-age=300"
    assert json.loads(response["body"]) == DOCUMENT


def test_the_command_line_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert keytool.main(["openapi"]) == 0
    assert json.loads(capsys.readouterr().out) == DOCUMENT
