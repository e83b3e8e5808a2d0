"""Settings parsing: defaults, bounds and clear errors that name the problem."""

import json
from collections.abc import Iterator

import boto3
import pytest
from singpass_gateway.errors import ConfigurationError
from singpass_gateway.settings import load_settings, settings, tracing_enabled, with_site_url
from singpass_gateway.urls import UrlPolicy

SGID = {"id": "sgid", "type": "sgid", "name": "sgID", "client_id": "c"}


def environ(**overrides: str) -> dict[str, str]:
    base = {
        "GATEWAY_TABLE": "t",
        "GATEWAY_FRONTEND_URL": "https://app.example.com/",
        "GATEWAY_PROVIDERS": json.dumps([SGID]),
    }
    return {**base, **overrides}


def test_defaults_and_normalised_urls() -> None:
    settings = load_settings(environ())
    assert settings.frontend_url == "https://app.example.com"
    assert settings.public_url is None
    assert (settings.session_ttl_seconds, settings.login_ttl_seconds) == (3600, 600)
    assert settings.providers[0].id == "sgid"
    assert settings.providers[0].options == {"client_id": "c"}
    assert settings.redirect_uri("sgid", "https://abc.execute-api.example") == (
        "https://abc.execute-api.example/auth/sgid/callback"
    )


def test_public_url_decides_the_redirect_uri() -> None:
    settings = load_settings(environ(GATEWAY_PUBLIC_URL="https://id.example.com"))
    assert settings.redirect_uri("sgid", "https://ignored") == "https://id.example.com/auth/sgid/callback"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"GATEWAY_TABLE": ""}, "GATEWAY_TABLE is required"),
        ({"GATEWAY_LOGIN_TTL_SECONDS": "601"}, "at most 600"),
        ({"GATEWAY_SESSION_TTL_SECONDS": "ten"}, "must be an integer"),
        ({"GATEWAY_FRONTEND_URL": "http://app.example.com"}, "https"),
        ({"GATEWAY_FRONTEND_URL": "https://app.example.com/?x=1"}, "without query"),
        ({"GATEWAY_PROVIDERS": "{"}, "not valid JSON"),
        ({"GATEWAY_PROVIDERS": json.dumps([SGID, SGID])}, "duplicate"),
        ({"GATEWAY_PROVIDERS": json.dumps([{**SGID, "id": "SgID"}])}, "lowercase slug"),
        ({"GATEWAY_PROVIDERS": json.dumps([{**SGID, "name": ""}])}, "'name' is required"),
    ],
)
def test_invalid_settings_are_refused_with_a_clear_message(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_settings(environ(**overrides))


@pytest.mark.parametrize(("value", "enabled"), [(None, False), ("false", False), ("true", True), (" TRUE ", True)])
def test_tracing_is_off_unless_switched_on(monkeypatch: pytest.MonkeyPatch, value: str | None, enabled: bool) -> None:
    tracing_enabled.cache_clear()
    if value is None:
        monkeypatch.delenv("GATEWAY_TRACING", raising=False)
    else:
        monkeypatch.setenv("GATEWAY_TRACING", value)
    try:
        assert tracing_enabled() is enabled
    finally:
        tracing_enabled.cache_clear()


def test_a_tracing_switch_that_is_neither_true_nor_false_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    tracing_enabled.cache_clear()
    monkeypatch.setenv("GATEWAY_TRACING", "yes")
    try:
        with pytest.raises(ConfigurationError, match="GATEWAY_TRACING must be true or false"):
            tracing_enabled()
    finally:
        tracing_enabled.cache_clear()


def test_http_is_allowed_for_localhost_only() -> None:
    assert load_settings(environ(GATEWAY_FRONTEND_URL="http://localhost:3000")).frontend_url == "http://localhost:3000"


@pytest.mark.parametrize(
    ("value", "allowed"), [(None, False), ("", False), ("false", False), ("true", True), (" True ", True)]
)
def test_only_a_deployment_marked_as_a_sandbox_allows_local_providers(value: str | None, allowed: bool) -> None:
    flag = {} if value is None else {"GATEWAY_ALLOW_LOCAL_PROVIDERS": value}
    loaded = load_settings(environ(**flag))
    assert loaded.url_policy == UrlPolicy(allow_local=allowed)
    assert [provider.url_policy for provider in loaded.providers] == [loaded.url_policy]


def test_a_sandbox_switch_that_is_neither_true_nor_false_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="GATEWAY_ALLOW_LOCAL_PROVIDERS must be true or false"):
        load_settings(environ(GATEWAY_ALLOW_LOCAL_PROVIDERS="yes"))


@pytest.mark.parametrize(
    "url",
    ["http://op.example", "https://127.0.0.1", "https://localhost", "https://169.254.169.254", "https://[::1]",
     "https://[fd00:ec2::254]", "https://[::ffff:127.0.0.1]", "https://2130706433", "https://0x7f.1", "https://0",
     "https://foo.localhost."],
)  # fmt: skip
def test_outside_a_sandbox_plain_http_and_local_provider_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^provider x: 'token_endpoint' (must use https|names a local host)"):
        UrlPolicy().provider_url(url, "provider x: 'token_endpoint'")
    assert UrlPolicy(allow_local=True).provider_url(url.replace("http:", "https:"), "token_endpoint")


def test_null_entries_switch_providers_off() -> None:
    settings = load_settings(environ(GATEWAY_PROVIDERS=json.dumps([None, SGID, None])))
    assert [provider.id for provider in settings.providers] == ["sgid"]


SITE_PARAMETER = "/singpass-gateway/stack/site-url"


@pytest.fixture
def site_on_cloudfront(moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A container of a stack that hosts the site on its *.cloudfront.net name, as template.yaml configures it:
    empty URLs in the environment, the site's URL in SSM."""
    for name, value in {
        **environ(GATEWAY_FRONTEND_URL="", GATEWAY_PUBLIC_URL=""),
        "GATEWAY_SITE_URL_PARAMETER": SITE_PARAMETER,
    }.items():
        monkeypatch.setenv(name, value)
    settings.cache_clear()
    yield
    settings.cache_clear()


@pytest.mark.usefixtures("site_on_cloudfront")
def test_the_site_url_parameter_makes_the_site_the_frontend_and_the_public_url() -> None:
    boto3.client("ssm").put_parameter(Name=SITE_PARAMETER, Value="https://d1234.cloudfront.net", Type="String")
    loaded = settings()
    assert loaded.frontend_url == loaded.public_url == "https://d1234.cloudfront.net"
    assert (
        loaded.redirect_uri("sgid", "https://abc.execute-api.example")
        == "https://d1234.cloudfront.net/auth/sgid/callback"
    )
    assert loaded.origin_allowed("https://d1234.cloudfront.net", "https://abc.execute-api.example")
    assert not loaded.origin_allowed("https://abc.execute-api.example", "https://abc.execute-api.example")


@pytest.mark.usefixtures("site_on_cloudfront")
def test_an_unreadable_site_url_parameter_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=f"GATEWAY_SITE_URL_PARAMETER {SITE_PARAMETER} cannot be read"):
        settings()


def test_without_the_parameter_the_environment_is_used_as_it_is() -> None:
    def unreachable(name: str) -> str:
        raise AssertionError(f"read {name}")

    assert with_site_url(environ(), unreachable) == environ()
