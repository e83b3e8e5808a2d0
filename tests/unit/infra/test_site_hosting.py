"""template.yaml's same-site hosting: a private bucket only the distribution reads, the API's paths on the same
origin uncached with cookies and headers passed through, the functions told the site's URL, and no dependency
cycle; with SiteHosting None, none of it."""

from __future__ import annotations

import copy
import fnmatch
import re
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from singpass_gateway import web
from singpass_gateway.settings import MIN_ORIGIN_SECRET_LENGTH, parse_origin_secret

from infra.sandbox.template import Resolver, TemplateError, functions, load_template, site_headers
from tests.unit.fakes import import_in_a_fresh_process

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
STACK, ACCOUNT, REGION = "gw", "111122223333", "ap-southeast-1"
SITE_RESOURCES = {
    "SiteBucket", "SiteBucketPolicy", "SiteOriginAccessControl", "SiteSecurityHeaders", "SiteDistribution",
    "SiteUrlParameter",
}  # fmt: skip
GENERATED = [f"{name}Role" for name, resource in RESOURCES.items() if resource["Type"] == "AWS::Serverless::Function"]
"""The roles SAM makes for the functions, which the KMS key policies name."""
PHYSICAL = {
    name: {
        "Ref": f"ref-{name}",
        "Arn": f"arn:aws:service:{REGION}:{ACCOUNT}:{name}",
        "Id": f"id-{name}",
        "DomainName": f"{name.lower()}.cloudfront.net",
        "RegionalDomainName": f"{name.lower()}.s3.{REGION}.amazonaws.com",
    }
    for name in [*RESOURCES, *GENERATED]
}
API_ORIGIN = f"ref-HttpApi.execute-api.{REGION}.amazonaws.com"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
ON_CLOUDFRONT_DOMAIN = {"SgidClientId": "client"}
ON_CUSTOM_DOMAIN = {
    **ON_CLOUDFRONT_DOMAIN,
    "DomainName": "app.example.com",
    "CertificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/abc",
}
ELSEWHERE = {"SiteHosting": "None", "FrontendUrl": "https://web.example.com", "SgidClientId": "client"}


def resolver(parameters: dict[str, str]) -> Resolver:
    return Resolver(TEMPLATE, parameters, PHYSICAL, region=REGION, account_id=ACCOUNT, stack_name=STACK)


def created(parameters: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The resources CloudFormation would create, with their properties resolved."""
    values = resolver(parameters)
    return {
        name: {**resource, "Properties": values.resolve(resource.get("Properties") or {})}
        for name, resource in RESOURCES.items()
        if "Condition" not in resource or values.condition(resource["Condition"])
    }


def distribution(parameters: dict[str, str]) -> dict[str, Any]:
    config: dict[str, Any] = created(parameters)["SiteDistribution"]["Properties"]["DistributionConfig"]
    return config


def grants(function: str, parameters: dict[str, str]) -> set[tuple[str, str]]:
    """(action, resource) pairs a function's policies allow."""
    allowed = set()
    for policy in created(parameters)[function]["Properties"].get("Policies", []):
        for statement in policy["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            allowed |= {(action, resource) for action in actions for resource in resources}
    return allowed


# ---------------------------------------------------------------------------------------- the bucket


def test_the_site_bucket_is_private_and_only_the_distribution_reads_it() -> None:
    resources = created(ON_CLOUDFRONT_DOMAIN)
    bucket = resources["SiteBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True
    }  # fmt: skip
    assert bucket["Properties"]["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]

    policy = resources["SiteBucketPolicy"]["Properties"]
    assert policy["Bucket"] == "ref-SiteBucket"
    (read,) = [statement for statement in policy["PolicyDocument"]["Statement"] if statement["Effect"] == "Allow"]
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"] == f"{PHYSICAL['SiteBucket']['Arn']}/*"
    assert read["Condition"] == {
        "StringEquals": {"AWS:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/ref-SiteDistribution"}
    }

    (site,) = [origin for origin in distribution(ON_CLOUDFRONT_DOMAIN)["Origins"] if origin["Id"] == "site"]
    assert site["DomainName"] == PHYSICAL["SiteBucket"]["RegionalDomainName"]
    assert site["OriginAccessControlId"] == "id-SiteOriginAccessControl"
    assert site["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC signs; no legacy identity
    access_control = resources["SiteOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (access_control["OriginAccessControlOriginType"], access_control["SigningBehavior"]) == ("s3", "always")


# ----------------------------------------------------------------------------------------- routing


def test_the_api_paths_reach_the_api_uncached_with_cookies_and_every_header_but_host() -> None:
    config = distribution(ON_CLOUDFRONT_DOMAIN)
    (api,) = [origin for origin in config["Origins"] if origin["Id"] == "api"]
    assert api["DomainName"] == API_ORIGIN
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    behaviours = {behaviour["PathPattern"]: behaviour for behaviour in config["CacheBehaviors"]}
    assert set(behaviours) == {"/auth/*", "/api/*", "/.well-known/*"}
    for behaviour in behaviours.values():
        assert behaviour["TargetOriginId"] == "api"
        assert behaviour["CachePolicyId"] == CACHING_DISABLED
        assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
        assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}
        assert behaviour["ViewerProtocolPolicy"] == "https-only"


def test_everything_else_is_the_static_site_over_https_with_security_headers() -> None:
    config = distribution(ON_CLOUDFRONT_DOMAIN)
    default = config["DefaultCacheBehavior"]
    assert default["TargetOriginId"] == "site"
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["Compress"] is True
    assert default["ResponseHeadersPolicyId"] == "ref-SiteSecurityHeaders"
    assert config["DefaultRootObject"] == "index.html"
    headers = created(ON_CLOUDFRONT_DOMAIN)["SiteSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = headers["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 365 * 24 * 3600
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert "ContentTypeOptions" in security


class _PageResources(HTMLParser):
    """What a page loads (script src, stylesheet href) and what it inlines (script bodies, style attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "style" in attributes or tag == "style" or any(name.startswith("on") for name in attributes):
            self.inline.append(f"<{tag}> with inline style or handler")
        if tag == "script":
            self._in_script = "src" not in attributes
            self.loaded.append(attributes.get("src") or "")
        if tag == "link" and attributes.get("href"):
            self.loaded.append(attributes["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("inline <script>")


def test_the_content_security_policy_is_strict_and_lets_the_demo_page_run() -> None:
    headers = created(ON_CLOUDFRONT_DOMAIN)["SiteSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    policy = headers["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["default-src"] == ["'none'"]
    for directive in ("script-src", "style-src", "connect-src"):
        assert directives[directive] == ["'self'"], directive  # no inline code, no other origin
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe" not in policy
    # What 'self' alone allows must be all the page needs: its own files, nothing inline.
    page = _PageResources()
    page.feed((ROOT / "frontend" / "index.html").read_text(encoding="utf-8"))
    assert page.inline == []
    assert page.loaded
    assert not [url for url in page.loaded if not url or re.match(r"^([a-z]+:)?//", url, re.IGNORECASE)]


def test_every_api_route_is_under_a_path_cloudfront_sends_to_the_api() -> None:
    """A route under a new prefix would be answered by the S3 bucket (403) behind CloudFront, although the
    sandbox, which routes by the template's routes, would serve it: this keeps the two origins' split the same."""
    patterns = [behaviour["PathPattern"] for behaviour in distribution(ON_CLOUDFRONT_DOMAIN)["CacheBehaviors"]]
    routes = [route.path for spec in functions(TEMPLATE, resolver(ON_CLOUDFRONT_DOMAIN)) for route in spec.routes]
    assert routes
    assert [path for path in routes if not any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)] == []
    # And no file of the site hides under an API path, where CloudFront would never serve it from the bucket.
    files = ["/" + path.relative_to(ROOT / "frontend").as_posix() for path in (ROOT / "frontend").rglob("*")]
    assert [path for path in files if any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns)] == []


# ------------------------------------------------------------------------------------ the site's URL


def needs_the_site_url(code_dir: Path, environment: dict[str, str]) -> bool:
    """Whether the handler, started as in Lambda with SSM out of reach, stops for want of the site's URL (it loads
    the gateway's settings at cold start); any other failure to start fails the test."""
    unreachable = {**environment, "AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x"}
    done = import_in_a_fresh_process(code_dir, {**unreachable, "AWS_SECRET_ACCESS_KEY": "x"})
    assert done.returncode == 0 or "GATEWAY_SITE_URL_PARAMETER" in done.stderr, done.stderr[-2000:]
    return done.returncode != 0


def test_on_a_custom_domain_the_functions_use_it_and_the_distribution_serves_it() -> None:
    config = distribution(ON_CUSTOM_DOMAIN)
    assert config["Aliases"] == ["app.example.com"]
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": ON_CUSTOM_DOMAIN["CertificateArn"],
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    assert "SiteUrlParameter" not in created(ON_CUSTOM_DOMAIN)
    for spec in functions(TEMPLATE, resolver(ON_CUSTOM_DOMAIN)):
        assert spec.environment["GATEWAY_FRONTEND_URL"] == "https://app.example.com"
        assert spec.environment["GATEWAY_PUBLIC_URL"] == "https://app.example.com"
        assert "GATEWAY_SITE_URL_PARAMETER" not in spec.environment
        assert not [grant for grant in grants(spec.logical_id, ON_CUSTOM_DOMAIN) if grant[0].startswith("ssm:")]


def test_on_the_cloudfront_domain_the_functions_read_it_from_the_parameter_the_stack_writes() -> None:
    config = distribution(ON_CLOUDFRONT_DOMAIN)
    assert "Aliases" not in config
    assert config["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True}
    parameter = created(ON_CLOUDFRONT_DOMAIN)["SiteUrlParameter"]["Properties"]
    assert parameter["Value"] == f"https://{PHYSICAL['SiteDistribution']['DomainName']}"
    every_function = functions(TEMPLATE, resolver(ON_CLOUDFRONT_DOMAIN))
    specs = [spec for spec in every_function if needs_the_site_url(spec.code_dir, spec.environment)]
    assert {spec.logical_id for spec in specs} == {
        "LoginFunction",
        "CallbackFunction",
        "SessionFunction",
        "JwksFunction",
    }
    for spec in every_function:  # the others start without it, and so without the grant
        if spec not in specs:
            assert not [grant for grant in grants(spec.logical_id, ON_CLOUDFRONT_DOMAIN) if grant[0].startswith("ssm:")]
    for spec in specs:
        # Empty here; settings.with_site_url fills both from the parameter at cold start.
        assert (spec.environment["GATEWAY_FRONTEND_URL"], spec.environment["GATEWAY_PUBLIC_URL"]) == ("", "")
        assert spec.environment["GATEWAY_SITE_URL_PARAMETER"] == parameter["Name"]
        parameter_arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{parameter['Name']}"
        assert {grant for grant in grants(spec.logical_id, ON_CLOUDFRONT_DOMAIN) if grant[0].startswith("ssm:")} == {
            ("ssm:GetParameter", parameter_arn)
        }


def test_with_the_site_hosted_elsewhere_there_is_no_bucket_or_distribution() -> None:
    parameters = {**ELSEWHERE, "PublicUrl": "https://id.example.com"}
    assert not SITE_RESOURCES & set(created(parameters))
    for spec in functions(TEMPLATE, resolver(parameters)):
        assert spec.environment["GATEWAY_FRONTEND_URL"] == "https://web.example.com"
        assert spec.environment["GATEWAY_PUBLIC_URL"] == "https://id.example.com"
        assert "GATEWAY_SITE_URL_PARAMETER" not in spec.environment
        assert not [grant for grant in grants(spec.logical_id, parameters) if grant[0].startswith("ssm:")]


@pytest.mark.parametrize(
    ("parameters", "base_url"),
    [
        (ON_CLOUDFRONT_DOMAIN, f"https://{PHYSICAL['SiteDistribution']['DomainName']}"),
        (ON_CUSTOM_DOMAIN, "https://app.example.com"),
        ({**ELSEWHERE, "PublicUrl": "https://id.example.com"}, "https://id.example.com"),
        (ELSEWHERE, f"https://{API_ORIGIN}"),
    ],
)
def test_the_outputs_name_the_urls_to_register_on_the_site(parameters: dict[str, str], base_url: str) -> None:
    values = resolver(parameters)
    outputs = {
        name: values.resolve(output["Value"])
        for name, output in TEMPLATE["Outputs"].items()
        if "Condition" not in output or values.condition(output["Condition"])
    }
    assert outputs["SgidRedirectUri"] == f"{base_url}/auth/sgid/callback"
    assert "JwksUri" not in outputs  # the shared JWKS is not what to register: each provider's own is
    if values.condition("HostsSite"):
        assert outputs["SiteUrl"] == base_url
        assert (outputs["SiteBucketName"], outputs["DistributionId"]) == ("ref-SiteBucket", "ref-SiteDistribution")
    else:
        assert not {"SiteUrl", "SiteBucketName", "DistributionId"} & set(outputs)


@pytest.mark.parametrize("myinfo_app", [False, True])
def test_the_outputs_name_each_singpass_apps_redirect_uri_and_jwks(myinfo_app: bool) -> None:
    parameters = {**ELSEWHERE, "PublicUrl": "https://id.example.com", "SingpassClientId": "sp-login"}
    if myinfo_app:
        parameters["SingpassMyinfoClientId"] = "sp-myinfo"
    values = resolver(parameters)
    outputs = {
        name: values.resolve(output["Value"])
        for name, output in TEMPLATE["Outputs"].items()
        if "Condition" not in output or values.condition(output["Condition"])
    }
    assert outputs["SingpassRedirectUri"] == "https://id.example.com/auth/sp/callback"
    assert outputs["SingpassJwksUri"] == "https://id.example.com/.well-known/jwks/sp"
    if myinfo_app:
        assert outputs["SingpassMyinfoRedirectUri"] == "https://id.example.com/auth/sp-data/callback"
        assert outputs["SingpassMyinfoJwksUri"] == "https://id.example.com/.well-known/jwks/sp-data"
    else:
        assert not {"SingpassMyinfoRedirectUri", "SingpassMyinfoJwksUri"} & set(outputs)


@pytest.mark.parametrize("myinfo_business_app", [False, True])
def test_the_outputs_name_each_corppass_apps_redirect_uri_and_jwks(myinfo_business_app: bool) -> None:
    parameters = {**ELSEWHERE, "PublicUrl": "https://id.example.com", "CorppassClientId": "cp-login"}
    if myinfo_business_app:
        parameters["CorppassMyinfoBusinessClientId"] = "cp-mib"
    values = resolver(parameters)
    outputs = {
        name: values.resolve(output["Value"])
        for name, output in TEMPLATE["Outputs"].items()
        if "Condition" not in output or values.condition(output["Condition"])
    }
    assert outputs["CorppassRedirectUri"] == "https://id.example.com/auth/cp/callback"
    assert outputs["CorppassJwksUri"] == "https://id.example.com/.well-known/jwks/cp"
    assert not {"SingpassRedirectUri", "SingpassJwksUri"} & set(outputs)
    if myinfo_business_app:
        assert outputs["CorppassMyinfoBusinessRedirectUri"] == "https://id.example.com/auth/cp-data/callback"
        assert outputs["CorppassMyinfoBusinessJwksUri"] == "https://id.example.com/.well-known/jwks/cp-data"
    else:
        assert not {"CorppassMyinfoBusinessRedirectUri", "CorppassMyinfoBusinessJwksUri"} & set(outputs)
    assert not [value for value in outputs.values() if "corppass" in str(value).lower()]  # the portal trap


# ------------------------------------------------------------------------------------------- rules


def rule_refuses(rule: str, parameters: dict[str, str]) -> bool:
    """Whether CloudFormation would refuse these parameters by this Rule (its condition holds, an assertion fails)."""
    definition = TEMPLATE["Rules"][rule]
    conditions = {"Applies": definition["RuleCondition"]}
    conditions |= {f"Assertion{index}": item["Assert"] for index, item in enumerate(definition["Assertions"])}
    values = Resolver({**TEMPLATE, "Conditions": conditions}, parameters, PHYSICAL)
    return values.condition("Applies") and not all(values.condition(name) for name in conditions if name != "Applies")


def test_rules_require_a_frontend_url_elsewhere_and_a_certificate_for_a_custom_domain() -> None:
    assert rule_refuses("SiteElsewhereNeedsFrontendUrl", {"SiteHosting": "None"})
    assert not rule_refuses("SiteElsewhereNeedsFrontendUrl", ELSEWHERE)
    assert not rule_refuses("SiteElsewhereNeedsFrontendUrl", {})  # CloudFront needs no FrontendUrl
    assert rule_refuses("CustomDomainNeedsCertificate", {"DomainName": "app.example.com"})
    assert not rule_refuses("CustomDomainNeedsCertificate", ON_CUSTOM_DOMAIN)
    assert not rule_refuses("CustomDomainNeedsCertificate", {"SiteHosting": "None", "DomainName": "app.example.com"})
    myinfo_app = {**ELSEWHERE, "SingpassMyinfoClientId": "sp-myinfo"}
    assert rule_refuses("SingpassMyinfoAppNeedsSingpassApp", myinfo_app)  # a second app needs the first
    assert not rule_refuses("SingpassMyinfoAppNeedsSingpassApp", {**myinfo_app, "SingpassClientId": "sp-login"})
    assert not rule_refuses("SingpassMyinfoAppNeedsSingpassApp", ELSEWHERE)
    same_id = {**myinfo_app, "SingpassClientId": "sp-login", "SingpassMyinfoProviderId": "sp"}
    assert rule_refuses("SingpassMyinfoAppNeedsSingpassApp", same_id)  # one callback path each


def test_rules_keep_the_corppass_apps_apart_and_a_myinfo_business_app_asking_for_data() -> None:
    business = {**ELSEWHERE, "CorppassMyinfoBusinessClientId": "cp-mib"}
    assert rule_refuses("CorppassMyinfoBusinessAppNeedsCorppassApp", business)  # a second app needs the first
    assert not rule_refuses("CorppassMyinfoBusinessAppNeedsCorppassApp", {**business, "CorppassClientId": "cp"})
    assert not rule_refuses("CorppassMyinfoBusinessAppNeedsCorppassApp", ELSEWHERE)
    same_id = {**business, "CorppassClientId": "cp", "CorppassMyinfoBusinessProviderId": "cp"}
    assert rule_refuses("CorppassMyinfoBusinessAppNeedsCorppassApp", same_id)  # one callback path each
    only_openid = {**business, "CorppassClientId": "cp", "CorppassMyinfoBusinessScopes": "openid"}
    assert rule_refuses("CorppassMyinfoBusinessAppNeedsCorppassApp", only_openid)
    first = {**ELSEWHERE, "CorppassClientId": "cp", "CorppassApp": "MyinfoBusiness"}
    assert rule_refuses("CorppassMyinfoBusinessAppAsksForData", {**first, "CorppassScopes": "openid"})
    assert not rule_refuses("CorppassMyinfoBusinessAppAsksForData", first)  # the default asks for more
    assert not rule_refuses("CorppassMyinfoBusinessAppAsksForData", {**first, "CorppassApp": "Login"})


# ------------------------------------------------------------------------------------ no cycle


def references(value: Any) -> set[str]:
    """Logical ids (and pseudo parameters) a resource's value refers to: Ref, GetAtt, Sub variables."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else item.split(".")[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", text)}
                if isinstance(item, list):
                    found -= set(item[1])  # Sub's own variables are not resources
                    found |= references(item[1])
            else:
                found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def cycle(resources: dict[str, Any]) -> list[str]:
    """A dependency cycle among resources (empty if there is none), as CloudFormation would refuse it."""
    edges = {
        name: (references(resource) | set(_as_list(resource.get("DependsOn")))) & set(resources)
        for name, resource in resources.items()
    }
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> list[str]:
        state[name] = "open"
        for target in sorted(edges[name]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target] if target in path else [name, target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[name] = "done"
        return []

    for name in sorted(edges):
        if name not in state and (found := visit(name, [name])):
            return found
    return []


def _as_list(value: Any) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def test_the_deployed_template_has_no_dependency_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    """SAM turns the HttpApi's events into an OpenAPI body naming every function's ARN, so the distribution (whose
    API origin names the HttpApi) depends on the functions: their environment must not name the distribution.
    `cfn-lint template.yaml` does not see through the transform; this checks the template CloudFormation gets."""
    from samtranslator.translator.transform import transform

    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    source = copy.deepcopy(dict(TEMPLATE))
    for resource in source["Resources"].values():  # what `sam package` does to local code paths
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = "s3://bucket/code.zip"

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    deployed = transform(source, {}, NoManagedPolicies())  # type: ignore[arg-type]
    assert "SiteDistribution" in deployed["Resources"]
    assert references(deployed["Resources"]["HttpApi"]) >= {"LoginFunction", "SessionFunction"}  # the reason
    assert cycle(deployed["Resources"]) == []


def test_the_sandbox_serves_the_site_with_the_headers_cloudfront_adds() -> None:
    config = TEMPLATE["Resources"]["SiteSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    policy = config["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]

    headers = dict(site_headers(TEMPLATE))

    assert headers == {
        "Content-Security-Policy": " ".join(policy.split()),
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }
    # The browser tests run the demo under this policy and fail on any violation (tests/e2e/conftest.py).


def test_the_pages_own_policy_is_cloudfronts_for_sites_hosted_without_it() -> None:
    """A site hosted elsewhere (SiteHosting=None) may send no headers; the page's meta policy then applies, and it
    must say what CloudFront's says (but frame-ancestors, which a meta policy cannot carry)."""
    config = TEMPLATE["Resources"]["SiteSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    header = config["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    page = (ROOT / "frontend" / "index.html").read_text(encoding="utf-8")
    [meta] = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)

    def directives(policy: str) -> set[str]:
        return {" ".join(part.split()) for part in policy.split(";") if part.strip()}

    assert directives(meta) == directives(header) - {"frame-ancestors 'none'"}


# ------------------------------------------------------------- per-client limits and the front door (issue 16.2)

WEB_ACL_ARN = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/gateway-limits/a1b2c3"


def in_region(region: str, parameters: dict[str, str]) -> Resolver:
    return Resolver(TEMPLATE, parameters, PHYSICAL, region=region, account_id=ACCOUNT, stack_name=STACK)


def matches(statement: dict[str, Any], path: str) -> bool:
    """Whether a web ACL statement (AndStatement of ByteMatchStatements on the URI path) matches ``path``."""
    if "AndStatement" in statement:
        return all(matches(inner, path) for inner in statement["AndStatement"]["Statements"])
    match = statement["ByteMatchStatement"]
    assert match["FieldToMatch"] == {"UriPath": {}}
    value = path
    for transformation in sorted(match["TextTransformations"], key=lambda item: int(item["Priority"])):
        value = {"URL_DECODE": urllib.parse.unquote, "LOWERCASE": str.lower}[transformation["Type"]](value)
    test = {"STARTS_WITH": str.startswith, "ENDS_WITH": str.endswith, "EXACTLY": str.__eq__}
    return bool(test[match["PositionalConstraint"]](value, match["SearchString"]))


def test_in_us_east_1_the_stack_limits_each_ip_at_cloudfront_and_login_starts_tighter() -> None:
    values = in_region("us-east-1", {**ON_CLOUDFRONT_DOMAIN, "LoginRequestsPerIp": "120", "RequestsPerIp": "1500"})
    assert values.condition(RESOURCES["SiteWebAcl"]["Condition"])
    acl = values.resolve(RESOURCES["SiteWebAcl"]["Properties"])
    config = values.resolve(RESOURCES["SiteDistribution"]["Properties"])["DistributionConfig"]

    assert config["WebACLId"] == PHYSICAL["SiteWebAcl"]["Arn"]
    assert (acl["Scope"], acl["DefaultAction"]) == ("CLOUDFRONT", {"Allow": {}})
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    assert set(rules) == {"LoginStartsPerIp", "RequestsPerIp"}
    login, overall = (rules[name]["Statement"]["RateBasedStatement"] for name in ("LoginStartsPerIp", "RequestsPerIp"))
    assert (login["Limit"], login["AggregateKeyType"], login["EvaluationWindowSec"]) == ("120", "IP", 300)
    assert (overall["Limit"], overall["AggregateKeyType"], overall["EvaluationWindowSec"]) == ("1500", "IP", 300)
    assert "ScopeDownStatement" not in overall  # every request, site and API
    for rule in rules.values():
        assert rule["Action"] == {"Block": {"CustomResponse": {"ResponseCode": 429}}}
    assert int(TEMPLATE["Parameters"]["LoginRequestsPerIp"]["Default"]) < int(
        TEMPLATE["Parameters"]["RequestsPerIp"]["Default"]
    )
    # The tight limit counts the login start, however spelt, and no other route.
    scope = login["ScopeDownStatement"]
    paths = {route.path.replace("{provider}", "sp") for spec in functions(TEMPLATE, values) for route in spec.routes}
    assert {path for path in paths if matches(scope, path)} == {"/auth/sp/login"}
    assert matches(scope, "/AUTH/sp/Login")
    assert matches(scope, "/auth/sp/logi%6E")


def test_elsewhere_the_distribution_takes_a_web_acl_made_in_us_east_1() -> None:
    def web_acl(region: str, parameters: dict[str, str]) -> tuple[bool, Any]:
        values = in_region(region, parameters)
        config = values.resolve(RESOURCES["SiteDistribution"]["Properties"])["DistributionConfig"]
        return values.condition(RESOURCES["SiteWebAcl"]["Condition"]), config.get("WebACLId")

    assert web_acl(REGION, ON_CLOUDFRONT_DOMAIN) == (False, None)  # CloudFront's web ACLs live in us-east-1 only
    assert web_acl(REGION, {**ON_CLOUDFRONT_DOMAIN, "WebAclArn": WEB_ACL_ARN}) == (False, WEB_ACL_ARN)
    assert web_acl("us-east-1", {**ON_CLOUDFRONT_DOMAIN, "WebAclArn": WEB_ACL_ARN}) == (False, WEB_ACL_ARN)
    assert not in_region("us-east-1", ELSEWHERE).condition(RESOURCES["SiteWebAcl"]["Condition"])
    assert rule_refuses(
        "WebAclNeedsCloudFront", {**ELSEWHERE, "WebAclArn": WEB_ACL_ARN}
    )  # WAF cannot guard an HTTP API
    assert not rule_refuses("WebAclNeedsCloudFront", {**ON_CLOUDFRONT_DOMAIN, "WebAclArn": WEB_ACL_ARN})
    regional = f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/gateway-limits/a1b2c3"
    with pytest.raises(TemplateError, match="WebAclArn"):
        in_region(REGION, {**ON_CLOUDFRONT_DOMAIN, "WebAclArn": regional})


def test_cloudfront_proves_itself_to_the_api_with_a_generated_secret_every_function_requires() -> None:
    (api,) = [origin for origin in distribution(ON_CLOUDFRONT_DOMAIN)["Origins"] if origin["Id"] == "api"]
    reference = "{{resolve:secretsmanager:ref-OriginVerifySecret:SecretString}}"
    [header] = api["OriginCustomHeaders"]
    assert (header["HeaderName"].lower(), header["HeaderValue"]) == (web.ORIGIN_HEADER, reference)
    generated = created(ON_CLOUDFRONT_DOMAIN)["OriginVerifySecret"]["Properties"]["GenerateSecretString"]
    assert int(generated["PasswordLength"]) >= MIN_ORIGIN_SECRET_LENGTH
    assert generated["ExcludePunctuation"] is True  # a plain header value
    every_function = functions(TEMPLATE, resolver(ON_CLOUDFRONT_DOMAIN))
    assert {spec.environment["GATEWAY_ORIGIN_SECRET"] for spec in every_function} == {reference}
    # With the site elsewhere (the sandbox too) no distribution sends it, and nothing is checked.
    assert "OriginVerifySecret" not in created(ELSEWHERE)
    for spec in functions(TEMPLATE, resolver(ELSEWHERE)):
        assert parse_origin_secret(spec.environment) is None


def test_the_standalone_web_acl_has_the_stacks_rules() -> None:
    """infra/web-acl.yaml (for a stack outside us-east-1, where CloudFront's web ACLs live) limits what the stack's
    own web ACL does, by the same parameters: the two cannot drift apart."""
    standalone = load_template(ROOT / "infra" / "web-acl.yaml")
    stacks = TEMPLATE["Resources"]["SiteWebAcl"]["Properties"]

    assert standalone["Resources"]["WebAcl"]["Properties"]["Rules"] == stacks["Rules"]
    assert standalone["Resources"]["WebAcl"]["Properties"]["Scope"] == stacks["Scope"] == "CLOUDFRONT"
    for parameter in ("LoginRequestsPerIp", "RequestsPerIp"):
        assert standalone["Parameters"][parameter]["Default"] == TEMPLATE["Parameters"][parameter]["Default"]
