"""Read a SAM template the way CloudFormation would - just far enough to run its functions locally.

The sandbox must run the handlers with the routes, environment and limits that the deployed stack gives
them, so it reads them from the same template.yaml instead of keeping a second, drifting description.
"""

from __future__ import annotations

import base64
import enum
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

__all__ = [
    "FunctionSpec",
    "LoadedTemplate",
    "Resolver",
    "Route",
    "TemplateError",
    "functions",
    "load_template",
]


class TemplateError(ValueError):
    """The template (or the values given for it) can't be turned into something runnable."""


# --------------------------------------------------------------------------------------------- loading

_SHORT_TAGS: Final = (
    "Ref", "Condition", "Sub", "GetAtt", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split",
    "Base64", "FindInMap", "ImportValue", "GetAZs", "Cidr",
)  # fmt: skip


class _CfnLoader(yaml.SafeLoader):
    """A SafeLoader that also understands CloudFormation's short-form tags - and nothing unsafe."""


# CloudFormation reads `2010-09-09` and friends as strings; YAML 1.1 would make them dates.
_CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _long_form_key(name: str) -> str:
    """`!Ref` and `!Condition` keep their name; every other short tag is a `Fn::` function."""
    return name if name in ("Ref", "Condition") else f"Fn::{name}"


def _short_tag_constructor(name: str) -> Callable[[_CfnLoader, yaml.Node], dict[str, Any]]:
    """Build the constructor that rewrites `!Name arg` into the long form `{"Fn::Name": arg}`."""

    def construct(loader: _CfnLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if name == "GetAtt":
                value = _split_get_att(value)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        elif isinstance(node, yaml.MappingNode):
            value = loader.construct_mapping(node, deep=True)
        else:  # pragma: no cover - PyYAML only produces the three node kinds above
            raise TemplateError(f"!{name}: unsupported YAML node {node!r}")
        return {_long_form_key(name): value}

    return construct


def _split_get_att(value: str) -> list[str]:
    """`!GetAtt Resource.Attr.With.Dots` splits at the first dot only, as CloudFormation does."""
    logical_id, dot, attribute = value.partition(".")
    if not dot or not logical_id or not attribute:
        raise TemplateError(f"!GetAtt {value!r} must look like LogicalId.Attribute")
    return [logical_id, attribute]


for _name in _SHORT_TAGS:
    _CfnLoader.add_constructor(f"!{_name}", _short_tag_constructor(_name))


class LoadedTemplate(dict[str, Any]):
    """A template's content that remembers its file, because CodeUri is relative to that file's folder."""

    def __init__(self, content: Mapping[str, Any], path: Path) -> None:
        super().__init__(content)
        self.path = path


def load_template(path: Path) -> dict[str, Any]:
    """Parse template.yaml with the short-form tags turned into their long forms."""
    loader = _CfnLoader(path.read_text(encoding="utf-8"))
    try:
        content = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path}: not valid YAML: {exc}") from exc
    finally:
        loader.dispose()
    if not isinstance(content, dict):
        raise TemplateError(f"{path}: a template must be a mapping at the top level")
    return LoadedTemplate(content, path.resolve())


# ------------------------------------------------------------------------------------------- resolving


class _NoValue(enum.Enum):
    """`AWS::NoValue`: the value that makes its key (or list item) disappear."""

    NO_VALUE = "AWS::NoValue"


NO_VALUE: Final = _NoValue.NO_VALUE
_SUB_VARIABLE: Final = re.compile(r"\$\{([^}]*)\}")


def _to_str(value: Any, what: str) -> str:
    """Stringify a scalar the way CloudFormation does where a string is required (env vars, Sub)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"{what}: expected a string, got {value!r}")


def _pair(arg: Any, function: str, size: int = 2) -> list[Any]:
    """Check the fixed-size argument list of an intrinsic so misuse fails with the function's name."""
    if not isinstance(arg, list) or len(arg) != size:
        raise TemplateError(f"{function} takes a list of {size} items, got {arg!r}")
    return arg


class Resolver:
    """Evaluates intrinsic functions with the values a deployed stack would have.

    Physical resource values (`resources`) are what CloudFormation would know after creating the
    resources: logical id -> {"Ref": ..., "Arn": ..., other GetAtt attributes}. The sandbox fills them
    with its local stand-ins (DynamoDB Local table names, moto KMS key ids...).
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, str] | None = None,
        resources: Mapping[str, Mapping[str, str]] | None = None,
        region: str = "ap-southeast-1",
        account_id: str = "123456789012",
        stack_name: str = "singpass-gateway-local",
    ) -> None:
        self._template = template
        self._resources = {name: dict(attrs) for name, attrs in (resources or {}).items()}
        self._parameters = _parameter_values(template.get("Parameters") or {}, parameters or {})
        self._pseudo: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::Partition": "aws",
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()
        self._functions: dict[str, Callable[[Any], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::Base64": self._base64,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Equals": lambda arg: self._evaluate({"Fn::Equals": arg}),
            "Fn::Not": lambda arg: self._evaluate({"Fn::Not": arg}),
            "Fn::And": lambda arg: self._evaluate({"Fn::And": arg}),
            "Fn::Or": lambda arg: self._evaluate({"Fn::Or": arg}),
        }

    @property
    def stack_name(self) -> str:
        """The stack name Ref AWS::StackName gives; generated function names start with it."""
        return str(self._pseudo["AWS::StackName"])

    def resolve(self, value: Any) -> Any:
        """Return `value` with every intrinsic replaced by its value (AWS::NoValue alone gives None)."""
        result = self._resolve(value)
        return None if result is NO_VALUE else result

    def condition(self, name: str) -> bool:
        """Evaluate a named entry of the template's Conditions section (memoised, cycles rejected)."""
        if name in self._conditions:
            return self._conditions[name]
        definitions = self._template.get("Conditions") or {}
        if not isinstance(name, str) or name not in definitions:
            raise TemplateError(f"unknown condition {name!r}")
        if name in self._evaluating:
            raise TemplateError(f"condition {name!r} refers to itself")
        self._evaluating.add(name)
        try:
            self._conditions[name] = self._evaluate(definitions[name])
        finally:
            self._evaluating.discard(name)
        return self._conditions[name]

    # -- structure

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            intrinsic = _as_intrinsic(value)
            if intrinsic is not None:
                return self._call(*intrinsic)
            resolved = {key: self._resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in map(self._resolve, value) if item is not NO_VALUE]
        return value

    def _call(self, function: str, arg: Any) -> Any:
        implementation = self._functions.get(function)
        if implementation is None:
            raise TemplateError(f"unsupported intrinsic function {function}")
        return implementation(arg)

    # -- references

    def _ref(self, name: Any) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if not isinstance(name, str):
            raise TemplateError(f"Ref needs a name, got {name!r}")
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        return self._resource_attribute(name, "Ref", f"Ref {name}")

    def _get_att(self, arg: Any) -> Any:
        logical_id, attribute = _pair(arg, "Fn::GetAtt")
        attribute = self.resolve(attribute)
        return self._resource_attribute(logical_id, attribute, f"Fn::GetAtt {logical_id}.{attribute}")

    def _resource_attribute(self, logical_id: str, attribute: str, what: str) -> str:
        attributes = self._resources.get(logical_id)
        if attributes is None:
            known = logical_id in (self._template.get("Resources") or {})
            reason = "has no physical value given to the Resolver" if known else "is not defined"
            raise TemplateError(f"{what}: {logical_id!r} {reason}")
        if attribute not in attributes:
            raise TemplateError(f"{what}: no value for attribute {attribute!r} of {logical_id!r}")
        return attributes[attribute]

    # -- strings and lists

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, str):
            text, variables = arg, {}
        else:
            text, variables = _pair(arg, "Fn::Sub")
            variables = self.resolve(variables)
            if not isinstance(text, str) or not isinstance(variables, dict):
                raise TemplateError(f"Fn::Sub takes [string, {{variables}}], got {arg!r}")

        def substitute(match: re.Match[str]) -> str:
            inner = match.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            return _to_str(self._sub_variable(inner.strip(), variables), f"Fn::Sub ${{{inner}}}")

        return _SUB_VARIABLE.sub(substitute, text)

    def _sub_variable(self, name: str, variables: Mapping[str, Any]) -> Any:
        if name in variables:
            return variables[name]
        logical_id, dot, attribute = name.partition(".")
        if dot and not name.startswith("AWS::"):
            return self._resource_attribute(logical_id, attribute, f"Fn::Sub ${{{name}}}")
        return self._ref(name)

    def _join(self, arg: Any) -> str:
        delimiter, items = _pair(arg, "Fn::Join")
        items = self.resolve(items)
        if not isinstance(delimiter, str) or not isinstance(items, list):
            raise TemplateError(f"Fn::Join takes [delimiter, [items]], got {arg!r}")
        return delimiter.join(_to_str(item, "Fn::Join item") for item in items)

    def _select(self, arg: Any) -> Any:
        index, items = _pair(arg, "Fn::Select")
        position = int(_to_str(self.resolve(index), "Fn::Select index"))
        items = self.resolve(items)
        if not isinstance(items, list) or not 0 <= position < len(items):
            raise TemplateError(f"Fn::Select index {position} is out of range of {items!r}")
        return items[position]

    def _split(self, arg: Any) -> list[str]:
        delimiter, source = _pair(arg, "Fn::Split")
        return _to_str(self.resolve(source), "Fn::Split source").split(_to_str(delimiter, "Fn::Split"))

    def _if(self, arg: Any) -> Any:
        name, when_true, when_false = _pair(arg, "Fn::If", 3)
        return self._resolve(when_true if self.condition(name) else when_false)

    def _base64(self, arg: Any) -> str:
        text = _to_str(self.resolve(arg), "Fn::Base64")
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    def _find_in_map(self, arg: Any) -> Any:
        map_name, top_key, second_key = (self.resolve(item) for item in _pair(arg, "Fn::FindInMap", 3))
        try:
            return self._template["Mappings"][map_name][top_key][second_key]
        except (KeyError, TypeError):
            raise TemplateError(f"Fn::FindInMap: no {map_name}.{top_key}.{second_key} in Mappings") from None

    # -- conditions

    def _evaluate(self, expression: Any) -> bool:
        if isinstance(expression, bool):
            return expression
        intrinsic = _as_intrinsic(expression) if isinstance(expression, dict) else None
        if intrinsic is None:
            raise TemplateError(f"not a condition: {expression!r}")
        function, arg = intrinsic
        if function == "Condition":
            return self.condition(arg)
        if function == "Fn::Equals":
            left, right = (self.resolve(item) for item in _pair(arg, "Fn::Equals"))
            return bool(_comparable(left) == _comparable(right))
        if function == "Fn::Not":
            return not self._evaluate(_pair(arg, "Fn::Not", 1)[0])
        if function in ("Fn::And", "Fn::Or") and isinstance(arg, list) and arg:
            outcomes = (self._evaluate(item) for item in arg)
            return all(outcomes) if function == "Fn::And" else any(outcomes)
        raise TemplateError(f"not a condition: {expression!r}")


def _as_intrinsic(value: dict[Any, Any]) -> tuple[str, Any] | None:
    """A one-key mapping whose key is Ref, Condition or Fn::* is a function call, not data."""
    if len(value) != 1:
        return None
    ((key, arg),) = value.items()
    if isinstance(key, str) and (key in ("Ref", "Condition") or key.startswith("Fn::")):
        return key, arg
    return None


def _comparable(value: Any) -> Any:
    """Fn::Equals compares values as CloudFormation sees them: as strings (`true` equals "true")."""
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    return _to_str(value, "Fn::Equals operand")


def _parameter_values(declared: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """Pick each parameter's override or Default, as `sam deploy --parameter-overrides` would."""
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"parameter overrides for parameters the template lacks: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, declaration in declared.items():
        declaration = declaration or {}
        if name in overrides:
            value = overrides[name]
        elif "Default" in declaration:
            value = _to_str(declaration["Default"], f"parameter {name} Default")
        else:
            raise TemplateError(f"parameter {name} has no Default and no value was given")
        _check_allowed(name, value, declaration)
        values[name] = _typed_parameter(value, str(declaration.get("Type", "String")))
    return values


def _check_allowed(name: str, value: str, declaration: Mapping[str, Any]) -> None:
    """Refuse values outside AllowedValues or AllowedPattern, as CloudFormation refuses to create the stack (its
    pattern must match the whole value)."""
    allowed = declaration.get("AllowedValues")
    if allowed is not None and value not in [_to_str(item, name) for item in allowed]:
        raise TemplateError(f"parameter {name}: {value!r} is not one of {allowed!r}")
    pattern = declaration.get("AllowedPattern")
    if pattern is not None and re.fullmatch(_to_str(pattern, name), value) is None:
        constraint = declaration.get("ConstraintDescription") or f"must match {pattern}"
        raise TemplateError(f"parameter {name}: {value!r}: {constraint}")


def _typed_parameter(value: str, type_name: str) -> Any:
    """List-typed parameters Ref to lists; everything else Refs to a string."""
    if type_name == "CommaDelimitedList" or type_name.startswith("List<"):
        return value.split(",") if value else []
    return value


# ------------------------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class Route:
    """One HttpApi route key (`GET /auth/{provider}/login`); method ANY matches every method."""

    method: str
    path: str

    @property
    def key(self) -> str:
        """The route key API Gateway puts in the event (`$default` for the catch-all route)."""
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class FunctionSpec:
    """What the sandbox needs to run one AWS::Serverless::Function as Lambda would."""

    logical_id: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    routes: tuple[Route, ...]
    timeout: int = 3
    memory_mb: int = 128
    function_name: str = field(default="")

    @property
    def name(self) -> str:
        """The Lambda function name (FunctionName, else the logical id)."""
        return self.function_name or self.logical_id


def functions(template: Mapping[str, Any], resolver: Resolver, base_dir: Path | None = None) -> list[FunctionSpec]:
    """Every (condition-enabled) AWS::Serverless::Function, with Globals applied.

    `base_dir` is the folder CodeUri is relative to; it defaults to the folder of a template returned
    by `load_template`.
    """
    folder = base_dir or _template_folder(template)
    defaults = (template.get("Globals") or {}).get("Function") or {}
    return [
        _function_spec(logical_id, resource.get("Properties") or {}, defaults, resolver, folder)
        for logical_id, resource in _serverless_functions(template, resolver)
    ]


def _template_folder(template: Mapping[str, Any]) -> Path:
    if isinstance(template, LoadedTemplate):
        return template.path.parent
    raise TemplateError("base_dir is required for a template that was not read by load_template()")


def _serverless_functions(template: Mapping[str, Any], resolver: Resolver) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Functions the stack would actually create: a false resource Condition leaves one out."""
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        yield logical_id, resource


def _function_spec(
    logical_id: str,
    props: Mapping[str, Any],
    defaults: Mapping[str, Any],
    resolver: Resolver,
    folder: Path,
) -> FunctionSpec:
    def setting(name: str, fallback: Any = None) -> Any:
        value = resolver.resolve(props[name] if name in props else defaults.get(name))
        return fallback if value is None else value

    if "InlineCode" in props or setting("PackageType") == "Image":
        raise TemplateError(f"{logical_id}: only zip functions with a local CodeUri can run locally")
    code_uri, handler = setting("CodeUri"), setting("Handler")
    if not isinstance(code_uri, str) or not isinstance(handler, str):
        raise TemplateError(f"{logical_id}: needs a local CodeUri path and a Handler")
    return FunctionSpec(
        logical_id=logical_id,
        code_dir=(folder / code_uri).resolve(),
        handler=handler,
        environment={**_variables(defaults, resolver), **_variables(props, resolver)},
        routes=tuple(_routes(logical_id, props.get("Events") or {}, resolver)),
        timeout=int(_to_str(setting("Timeout", 3), f"{logical_id} Timeout")),
        memory_mb=int(_to_str(setting("MemorySize", 128), f"{logical_id} MemorySize")),
        function_name=_to_str(setting("FunctionName", ""), f"{logical_id} FunctionName"),
    )


def _variables(props: Mapping[str, Any], resolver: Resolver) -> dict[str, str]:
    """Environment.Variables, resolved, with every value a string as Lambda stores them."""
    environment = resolver.resolve(props.get("Environment")) or {}
    variables = (environment.get("Variables") or {}) if isinstance(environment, dict) else None
    if not isinstance(variables, dict):
        raise TemplateError(f"Environment must be a mapping with Variables, got {environment!r}")
    return {name: _to_str(value, f"environment variable {name}") for name, value in variables.items()}


def _routes(logical_id: str, events: Mapping[str, Any], resolver: Resolver) -> Iterator[Route]:
    """HttpApi events become routes; only Method and Path are resolved (ApiId may point anywhere)."""
    for event_name, event in events.items():
        if not isinstance(event, dict) or event.get("Type") != "HttpApi":
            continue
        props = event.get("Properties") or {}
        method, path = resolver.resolve(props.get("Method")), resolver.resolve(props.get("Path"))
        if method is None and path is None:
            yield Route("ANY", "$default")
        elif isinstance(method, str) and isinstance(path, str):
            yield Route(method.upper(), path)
        else:
            raise TemplateError(f"{logical_id} event {event_name}: HttpApi needs both Method and Path")


def site_headers(template: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The security headers CloudFront adds to the static site's files (the template's one
    AWS::CloudFront::ResponseHeadersPolicy), as HTTP headers, so that the sandbox serves the demo page under the
    same Content-Security-Policy and the browser tests would see a page that breaks it."""
    policies = [
        resource["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        for resource in (template.get("Resources") or {}).values()
        if isinstance(resource, dict) and resource.get("Type") == "AWS::CloudFront::ResponseHeadersPolicy"
    ]
    if len(policies) != 1:
        raise TemplateError(f"expected one CloudFront ResponseHeadersPolicy for the site, found {len(policies)}")
    [config] = policies
    headers = []
    if "ContentSecurityPolicy" in config:
        headers.append(
            ("Content-Security-Policy", " ".join(config["ContentSecurityPolicy"]["ContentSecurityPolicy"].split()))
        )
    if "StrictTransportSecurity" in config:
        hsts = config["StrictTransportSecurity"]
        directives = [f"max-age={hsts['AccessControlMaxAgeSec']}"]
        directives += ["includeSubDomains"] if hsts.get("IncludeSubdomains") else []
        directives += ["preload"] if hsts.get("Preload") else []
        headers.append(("Strict-Transport-Security", "; ".join(directives)))
    if "ContentTypeOptions" in config:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if "FrameOptions" in config:
        headers.append(("X-Frame-Options", config["FrameOptions"]["FrameOption"]))
    if "ReferrerPolicy" in config:
        headers.append(("Referrer-Policy", config["ReferrerPolicy"]["ReferrerPolicy"]))
    return tuple(headers)
