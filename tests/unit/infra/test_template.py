"""Reading SAM templates: short-form tags, intrinsic functions, and the FunctionSpecs they yield."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path
from typing import Any

import pytest

from infra.sandbox.template import FunctionSpec, Resolver, Route, TemplateError, functions, load_template


def write_template(tmp_path: Path, text: str) -> dict[str, Any]:
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_template(path)


def resolver_for(template: dict[str, Any], **kwargs: Any) -> Resolver:
    kwargs.setdefault("region", "ap-southeast-1")
    kwargs.setdefault("account_id", "111122223333")
    return Resolver(template, **kwargs)


# ------------------------------------------------------------------------------------------ short tags


def test_short_tags_become_long_forms(tmp_path: Path) -> None:
    template = write_template(
        tmp_path,
        """
        AWSTemplateFormatVersion: 2010-09-09
        Values:
          ref: !Ref Stage
          sub: !Sub "${Stage}-x"
          sublist: !Sub ["${A}", {A: 1}]
          getatt: !GetAtt Table.Arn
          getattdots: !GetAtt Cluster.Endpoint.Address
          getattlist: [!GetAtt [Table, StreamArn]]
          if: !If [IsProd, a, b]
          equals: !Equals [a, b]
          not: !Not [!Condition IsProd]
          and: !And [!Condition A, !Condition B]
          or: !Or [!Condition A, !Condition B]
          join: !Join [",", [a, b]]
          select: !Select [0, [a, b]]
          split: !Split [",", "a,b"]
          condition: !Condition IsProd
          base64: !Base64 hello
          findinmap: !FindInMap [M, k, v]
        """,
    )
    values = template["Values"]
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"  # a string, not a date
    assert values["ref"] == {"Ref": "Stage"}
    assert values["sub"] == {"Fn::Sub": "${Stage}-x"}
    assert values["sublist"] == {"Fn::Sub": ["${A}", {"A": 1}]}
    assert values["getatt"] == {"Fn::GetAtt": ["Table", "Arn"]}
    assert values["getattdots"] == {"Fn::GetAtt": ["Cluster", "Endpoint.Address"]}
    assert values["getattlist"] == [{"Fn::GetAtt": ["Table", "StreamArn"]}]
    assert values["if"] == {"Fn::If": ["IsProd", "a", "b"]}
    assert values["equals"] == {"Fn::Equals": ["a", "b"]}
    assert values["not"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert values["and"] == {"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]}
    assert values["or"] == {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]}
    assert values["join"] == {"Fn::Join": [",", ["a", "b"]]}
    assert values["select"] == {"Fn::Select": [0, ["a", "b"]]}
    assert values["split"] == {"Fn::Split": [",", "a,b"]}
    assert values["condition"] == {"Condition": "IsProd"}
    assert values["base64"] == {"Fn::Base64": "hello"}
    assert values["findinmap"] == {"Fn::FindInMap": ["M", "k", "v"]}


def test_loader_refuses_python_tags(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not valid YAML"):
        write_template(tmp_path, "x: !!python/object/apply:os.system ['true']\n")


def test_get_att_without_attribute_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"LogicalId\.Attribute"):
        write_template(tmp_path, "x: !GetAtt Table\n")


# ------------------------------------------------------------------------------------------- resolving

PARAMETERS = """
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  Domain:
    Type: String
    AllowedPattern: "[a-z.]+"
    ConstraintDescription: a lower-case host name
  Zones:
    Type: CommaDelimitedList
    Default: "a,b,c"
  Port:
    Type: Number
    Default: 8080
"""


def test_parameter_defaults_and_overrides(tmp_path: Path) -> None:
    template = write_template(tmp_path, PARAMETERS)
    defaults = resolver_for(template, parameters={"Domain": "example.sg"})
    assert defaults.resolve({"Ref": "Stage"}) == "dev"
    assert defaults.resolve({"Ref": "Port"}) == "8080"
    assert defaults.resolve({"Ref": "Zones"}) == ["a", "b", "c"]
    overridden = resolver_for(template, parameters={"Domain": "example.sg", "Stage": "prod"})
    assert overridden.resolve({"Ref": "Stage"}) == "prod"
    assert overridden.resolve({"Ref": "Domain"}) == "example.sg"


def test_missing_parameter_is_named(tmp_path: Path) -> None:
    template = write_template(tmp_path, PARAMETERS)
    with pytest.raises(TemplateError, match="Domain"):
        resolver_for(template)


def test_parameter_outside_allowed_values_and_unknown_override(tmp_path: Path) -> None:
    template = write_template(tmp_path, PARAMETERS)
    with pytest.raises(TemplateError, match="Stage"):
        resolver_for(template, parameters={"Domain": "d", "Stage": "qa"})
    with pytest.raises(TemplateError, match="Typo"):
        resolver_for(template, parameters={"Domain": "d", "Typo": "x"})


def test_a_parameter_must_match_its_allowed_pattern_whole(tmp_path: Path) -> None:
    template = write_template(tmp_path, PARAMETERS)
    for value in ("example.sg1", "1example.sg", ""):  # CloudFormation matches the pattern against the whole value
        with pytest.raises(TemplateError, match=r"Domain: .*a lower-case host name"):
            resolver_for(template, parameters={"Domain": value})


def test_pseudo_parameters(tmp_path: Path) -> None:
    resolver = resolver_for(write_template(tmp_path, "{}"), stack_name="my-stack")
    assert resolver.resolve({"Ref": "AWS::Region"}) == "ap-southeast-1"
    assert resolver.resolve({"Ref": "AWS::AccountId"}) == "111122223333"
    assert resolver.resolve({"Ref": "AWS::Partition"}) == "aws"
    assert resolver.resolve({"Ref": "AWS::StackName"}) == "my-stack"
    assert resolver.resolve({"Ref": "AWS::URLSuffix"}) == "amazonaws.com"


RESOURCES = """
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Key:
    Type: AWS::KMS::Key
"""
PHYSICAL = {"Table": {"Ref": "sessions-local", "Arn": "arn:aws:dynamodb:x:y:table/sessions-local"}}


def test_ref_and_get_att_of_resources(tmp_path: Path) -> None:
    resolver = resolver_for(write_template(tmp_path, RESOURCES), resources=PHYSICAL)
    assert resolver.resolve({"Ref": "Table"}) == "sessions-local"
    assert resolver.resolve({"Fn::GetAtt": ["Table", "Arn"]}) == PHYSICAL["Table"]["Arn"]
    with pytest.raises(TemplateError, match="Key"):  # declared, but no physical value given
        resolver.resolve({"Ref": "Key"})
    with pytest.raises(TemplateError, match="Nope"):
        resolver.resolve({"Ref": "Nope"})
    with pytest.raises(TemplateError, match="StreamArn"):
        resolver.resolve({"Fn::GetAtt": ["Table", "StreamArn"]})


def test_sub_forms(tmp_path: Path) -> None:
    template = write_template(tmp_path, PARAMETERS + RESOURCES)
    resolver = resolver_for(template, parameters={"Domain": "example.sg"}, resources=PHYSICAL)
    assert resolver.resolve({"Fn::Sub": "https://${Domain}/${Stage}"}) == "https://example.sg/dev"
    assert resolver.resolve({"Fn::Sub": "${Table}|${Table.Arn}|${AWS::Region}"}) == (
        f"sessions-local|{PHYSICAL['Table']['Arn']}|ap-southeast-1"
    )
    assert resolver.resolve({"Fn::Sub": "${!Literal}-${Stage}"}) == "${Literal}-dev"
    listed = {"Fn::Sub": ["${Name}.${Stage}", {"Name": {"Ref": "Domain"}, "Stage": "override"}]}
    assert resolver.resolve(listed) == "example.sg.override"
    with pytest.raises(TemplateError, match="Missing"):
        resolver.resolve({"Fn::Sub": "${Missing}"})


def test_join_select_split_base64_find_in_map(tmp_path: Path) -> None:
    template = write_template(tmp_path, PARAMETERS + "Mappings:\n  Sizes:\n    dev: {Memory: 256}\n")
    resolver = resolver_for(template, parameters={"Domain": "d"})
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}, 3]]}) == "a-dev-3"
    assert resolver.resolve({"Fn::Join": [":", {"Ref": "Zones"}]}) == "a:b:c"
    assert resolver.resolve({"Fn::Select": [1, {"Ref": "Zones"}]}) == "b"
    assert resolver.resolve({"Fn::Select": ["2", {"Fn::Split": ["/", "x/y/z"]}]}) == "z"
    assert resolver.resolve({"Fn::Base64": {"Ref": "Stage"}}) == base64.b64encode(b"dev").decode()
    assert resolver.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}) == 256
    with pytest.raises(TemplateError, match="out of range"):
        resolver.resolve({"Fn::Select": [5, ["a"]]})


CONDITIONS = (
    PARAMETERS
    + """
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
  DevOnDefaultPort: !And [!Condition IsDev, !Equals [!Ref Port, 8080]]
  ProdOrDefaultPort: !Or [!Condition IsProd, !Equals [!Ref Port, "8080"]]
  Loop: !Condition Loop
"""
)


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("dev", {"IsProd": False, "IsDev": True, "DevOnDefaultPort": True, "ProdOrDefaultPort": True}),
        ("prod", {"IsProd": True, "IsDev": False, "DevOnDefaultPort": False, "ProdOrDefaultPort": True}),
    ],
)
def test_conditions(tmp_path: Path, stage: str, expected: dict[str, bool]) -> None:
    resolver = resolver_for(write_template(tmp_path, CONDITIONS), parameters={"Domain": "d", "Stage": stage})
    assert {name: resolver.condition(name) for name in expected} == expected
    assert resolver.resolve({"Fn::If": ["IsProd", "big", "small"]}) == ("big" if stage == "prod" else "small")


def test_condition_errors(tmp_path: Path) -> None:
    resolver = resolver_for(write_template(tmp_path, CONDITIONS), parameters={"Domain": "d"})
    with pytest.raises(TemplateError, match="Loop"):
        resolver.condition("Loop")
    with pytest.raises(TemplateError, match="Unknown"):
        resolver.resolve({"Fn::If": ["Unknown", 1, 2]})


def test_no_value_drops_keys_and_items(tmp_path: Path) -> None:
    resolver = resolver_for(write_template(tmp_path, CONDITIONS), parameters={"Domain": "d"})
    value = {
        "keep": 1,
        "dropped": {"Ref": "AWS::NoValue"},
        "conditional": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]},
        "list": ["a", {"Fn::If": ["IsDev", {"Ref": "AWS::NoValue"}, "b"]}, "c"],
    }
    assert resolver.resolve(value) == {"keep": 1, "list": ["a", "c"]}
    assert resolver.resolve({"Ref": "AWS::NoValue"}) is None


def test_unknown_intrinsic_is_named(tmp_path: Path) -> None:
    resolver = resolver_for(write_template(tmp_path, "{}"))
    with pytest.raises(TemplateError, match="Fn::ImportValue"):
        resolver.resolve({"Fn::ImportValue": "shared-vpc"})
    # An ordinary mapping that merely has several keys is data, not a call.
    assert resolver.resolve({"Ref": "AWS::Region", "Other": 1}) == {"Ref": "AWS::Region", "Other": 1}


# ------------------------------------------------------------------------------------------- functions

FUNCTIONS_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Timeout: 10
    Handler: app.lambda_handler
    Environment:
      Variables:
        STAGE: !Ref Stage
        SHARED: from-globals
        DEBUG: true
        TABLE: !Ref Table
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  LoginFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/login/
      MemorySize: 256
      Environment:
        Variables:
          SHARED: from-function
          ONLY_PROD: !If [IsProd, "yes", !Ref AWS::NoValue]
          URL: !Sub "https://${AWS::Region}.example/${Table}"
      Events:
        Login:
          Type: HttpApi
          Properties: {ApiId: !Ref HttpApi, Path: "/auth/{provider}/login", Method: get}
        Everything:
          Type: HttpApi
          Properties: {Path: "/auth/{proxy+}", Method: ANY}
        Queue:
          Type: SQS
          Properties: {Queue: !GetAtt Queue.Arn}
  CatchAll:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/session
      Handler: main.handler
      Timeout: 30
      Events:
        Default:
          Type: HttpApi
  ProdOnly:
    Type: AWS::Serverless::Function
    Condition: IsProd
    Properties: {CodeUri: functions/prod}
"""


def test_functions_are_extracted_with_globals(tmp_path: Path) -> None:
    template = write_template(tmp_path, FUNCTIONS_TEMPLATE)
    resolver = resolver_for(template, resources={"Table": {"Ref": "tbl"}})
    specs = {spec.logical_id: spec for spec in functions(template, resolver)}
    assert set(specs) == {"LoginFunction", "CatchAll"}  # ProdOnly's condition is false

    login = specs["LoginFunction"]
    assert isinstance(login, FunctionSpec)
    assert login.code_dir == (tmp_path / "functions" / "login").resolve()
    assert login.code_dir.is_absolute()
    assert login.handler == "app.lambda_handler"
    assert login.environment == {
        "STAGE": "dev",
        "SHARED": "from-function",
        "DEBUG": "true",
        "TABLE": "tbl",
        "URL": "https://ap-southeast-1.example/tbl",
    }
    assert login.routes == (Route("GET", "/auth/{provider}/login"), Route("ANY", "/auth/{proxy+}"))
    assert (login.timeout, login.memory_mb) == (10, 256)

    catch_all = specs["CatchAll"]
    assert catch_all.handler == "main.handler"
    assert catch_all.routes == (Route("ANY", "$default"),)
    assert catch_all.routes[0].key == "$default"
    assert (catch_all.timeout, catch_all.memory_mb) == (30, 128)


def test_function_defaults_without_globals(tmp_path: Path) -> None:
    template = write_template(
        tmp_path,
        """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: src, Handler: app.handler}
        """,
    )
    (spec,) = functions(template, resolver_for(template))
    assert (spec.timeout, spec.memory_mb, spec.environment, spec.routes) == (3, 128, {}, ())
    assert spec.code_dir == (tmp_path / "src").resolve()
    assert spec.name == "Fn"


def test_function_base_dir_for_plain_dicts(tmp_path: Path) -> None:
    template = {"Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "x"}}}}
    template["Globals"] = {"Function": {"Handler": "a.b"}}
    with pytest.raises(TemplateError, match="base_dir"):
        functions(template, Resolver(template))
    (spec,) = functions(template, Resolver(template), base_dir=tmp_path)
    assert spec.code_dir == (tmp_path / "x").resolve()


def test_function_environment_needs_physical_values(tmp_path: Path) -> None:
    template = write_template(tmp_path, FUNCTIONS_TEMPLATE)
    with pytest.raises(TemplateError, match="Table"):
        functions(template, resolver_for(template))
