"""Production URLs (issue 16, item 8): outside a sandbox, the gateway calls providers over https only, never at a
local host (the Lambda runtime API on 127.0.0.1:9001, instance metadata on 169.254.169.254 or [fd00:ec2::254]),
whether the URL is configured (refused at start-up), learned at run time (refused before it is called) or a name
that resolves to such an address (refused at connect time, before a byte is sent). A sandbox, marked by
GATEWAY_ALLOW_LOCAL_PROVIDERS=true, calls its providers on http://127.0.0.1.

Discovery and metadata documents naming such URLs: tests/unit/test_hostile_upstream.py.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from singpass_gateway.errors import ConfigurationError, ProviderUnavailable
from singpass_gateway.http import HttpClient
from singpass_gateway.providers import Options, Toolkit, build_providers
from singpass_gateway.settings import ALLOW_LOCAL_PROVIDERS, ProviderSettings, Settings, load_settings
from singpass_gateway.urls import UrlPolicy

ROOT = Path(__file__).resolve().parents[2]
SECRET = "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:s"
KEY = "arn:aws:kms:ap-southeast-1:123456789012:key/k"

LOCAL_URLS = [
    "https://127.0.0.1:9001/2018-06-01/runtime",  # the Lambda runtime API
    "https://127.8.9.10",
    "https://localhost",
    "https://LOCALHOST.",
    "https://foo.localhost.",
    "https://169.254.169.254/latest/meta-data",  # instance metadata
    "https://169.254.170.2/v2/credentials",  # ECS task metadata
    "https://[::1]",
    "https://[fd00:ec2::254]/latest/meta-data",  # instance metadata over IPv6
    "https://[fe80::1%25eth0]",
    "https://[::ffff:127.0.0.1]",
    "https://[::ffff:a9fe:a9fe]",  # 169.254.169.254, IPv4-mapped
    "https://[64:ff9b::a9fe:a9fe]",  # 169.254.169.254 through NAT64
    "https://[::]",
    "https://2130706433",  # 127.0.0.1 as one decimal number
    "https://0x7f.1",
    "https://0177.0.0.1",
    "https://127.1",
    "https://0",
    "https://0.0.0.0",
    "https://224.0.0.1",
    "https://255.255.255.255",
]
"""Local hosts in every form a resolver accepts; each is refused outside a sandbox."""
REFUSED = [("http://op.example", "must use https"), *((url, "names a local host") for url in LOCAL_URLS)]
ALLOWED_EVERYWHERE = [
    "https://op.example/fapi",
    "https://op.example./fapi",  # a fully qualified name
    "https://xn--bcher-kva.example",
    "https://10.0.0.5/sso",  # a VPC-private company SSO (RFC 1918 is not refused: see UrlPolicy)
    "https://192.168.1.10",
    "https://[fd12:3456::1]",
    "https://93.184.216.34",
    "https://127.0.0.1.nip.io",  # a name: what it resolves to is checked when connecting
]


def environ(**overrides: str) -> dict[str, str]:
    return {
        "GATEWAY_TABLE": "t",
        "GATEWAY_FRONTEND_URL": "https://app.example",
        "GATEWAY_PROVIDERS": json.dumps([{"id": "sso", "type": "oidc", "name": "SSO"}]),
        **overrides,
    }


def entry(*, sandbox: bool, **options: Any) -> ProviderSettings:
    """A provider entry as the settings parse it, outside a sandbox or (``sandbox``) in one."""
    flag = {ALLOW_LOCAL_PROVIDERS: "true"} if sandbox else {}
    provider = {"id": "sso", "type": "oidc", "name": "SSO", **options}
    [parsed] = load_settings(environ(GATEWAY_PROVIDERS=json.dumps([provider]), **flag)).providers
    return parsed


# -- configured URLs: refused at start-up, naming the option --------------------------------------------------------


@pytest.mark.parametrize(("url", "complaint"), REFUSED)
def test_outside_a_sandbox_a_plain_http_or_local_provider_url_is_refused_at_start_up(url: str, complaint: str) -> None:
    options = Options(entry(sandbox=False, token_endpoint=url), {"token_endpoint"})

    with pytest.raises(ConfigurationError, match=complaint) as refused:
        options.url("token_endpoint")

    assert str(refused.value).startswith("provider sso: 'token_endpoint' ")


@pytest.mark.parametrize("url", [*LOCAL_URLS, "http://127.0.0.1:4000", "http://localhost:4000/v2"])
def test_in_a_sandbox_local_provider_urls_are_accepted(url: str) -> None:
    options = Options(entry(sandbox=True, token_endpoint=url), {"token_endpoint"})

    assert options.url("token_endpoint") == url.rstrip("/")


@pytest.mark.parametrize("url", ALLOWED_EVERYWHERE)
def test_outside_a_sandbox_public_and_private_https_urls_are_accepted(url: str) -> None:
    options = Options(entry(sandbox=False, token_endpoint=url), {"token_endpoint"})

    assert options.url("token_endpoint") == url


def test_a_provider_entry_made_without_settings_is_checked_as_outside_a_sandbox() -> None:
    made = ProviderSettings(id="sso", type="oidc", name="SSO", options={"token_endpoint": "https://127.0.0.1"})

    with pytest.raises(ConfigurationError, match="local host"):
        Options(made, {"token_endpoint"}).url("token_endpoint")


@pytest.mark.parametrize(
    ("provider", "option"),
    [
        ({"type": "sgid", "client_id": "c"}, "issuer"),
        ({"type": "oidc", "client_id": "c", "client_secret_arn": SECRET}, "issuer"),
        (
            {"type": "oidc", "issuer": "https://op.example", "client_id": "c", "client_secret_arn": SECRET,
             "discovery": False, "authorization_endpoint": "https://op.example/a", "token_endpoint": "https://op.example/t"},
            "jwks_uri",
        ),
        ({"type": "oauth2", "client_id": "c", "client_secret_arn": SECRET}, "issuer"),
        ({"type": "singpass", "client_id": "c", "signing_key_arn": KEY, "decryption_key_arn": KEY}, "issuer"),
        ({"type": "corppass", "client_id": "c", "signing_key_arn": KEY, "decryption_key_arn": KEY}, "issuer"),
        ({"type": "myinfo-v3", "environment": "test"}, "api_url"),
        ({"type": "myinfo-v4", "environment": "test"}, "myinfo_jwks_url"),
    ],
)  # fmt: skip
def test_every_provider_type_refuses_a_local_url_at_start_up(provider: dict[str, Any], option: str) -> None:
    configured = {"id": "sso", "name": "SSO", **provider, option: "https://169.254.169.254/latest"}
    settings = load_settings(environ(GATEWAY_PROVIDERS=json.dumps([configured])))

    with pytest.raises(ConfigurationError, match=f"provider sso: '{option}' names a local host"):
        build_providers(settings, None)  # type: ignore[arg-type]  # refused before the toolkit is used


# -- the policy's addresses: what a connection may reach ------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "127.8.9.10", "0.0.0.0",  # noqa: S104  # a value, not a bind
     "169.254.169.254", "169.254.169.253", "169.254.170.2", "224.0.0.251",
     "255.255.255.255", "::1", "::", "fe80::1%eth0", "ff02::1", "fd00:ec2::254", "fd00:ec2::253", "::ffff:127.0.0.1",
     "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "::7f00:1"],
)  # fmt: skip
def test_outside_a_sandbox_local_addresses_may_not_be_connected_to(address: str) -> None:
    assert not UrlPolicy().address_allowed(address)
    assert UrlPolicy(allow_local=True).address_allowed(address)


@pytest.mark.parametrize(
    "address",
    ["10.0.0.5", "172.16.4.2", "192.168.1.10", "93.184.216.34", "2600:1f18::1", "fd12::1", "64:ff9b::5db8:d822"],
)
def test_public_and_private_addresses_may_be_connected_to(address: str) -> None:
    assert UrlPolicy().address_allowed(address)


# -- the HTTP client: URLs learned at run time, and names that resolve to a local address ---------------------------


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection and the bytes sent on it (none are answered)."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)
        self._socket.settimeout(0.2)
        self.port: int = self._socket.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    self.received.append(connection.recv(4096))
                except OSError:
                    self.received.append(b"")

    def close(self) -> list[bytes]:
        """Stop listening; what each connection carried."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()
        return self.received


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def resolve_evil_example_to(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    """DNS rebinding: ``evil.example`` resolves to ``address`` (the resolver is patched; there is no network here)."""
    resolve = socket.getaddrinfo
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    endpoint: Any = (address, 0, 0, 0) if family == socket.AF_INET6 else (address, 0)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "evil.example":
            return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (endpoint[0], int(port), *endpoint[2:]))]
        return resolve(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("address", ["127.0.0.1", "::ffff:127.0.0.1"])  # the same listener, reached over IPv6 too
def test_a_name_resolving_to_a_local_address_is_not_sent_anything(
    monkeypatch: pytest.MonkeyPatch, listener: Listener, address: str
) -> None:
    resolve_evil_example_to(monkeypatch, address)
    client = HttpClient(timeout_seconds=5, url_policy=UrlPolicy())

    with pytest.raises(ProviderUnavailable, match=f"evil.example resolved to {address}, a local address"):
        client.get(f"https://evil.example:{listener.port}/jwks", call="jwks")

    assert listener.close() == [b""]  # connected once (not retried), and not even a TLS handshake was sent


def test_in_a_sandbox_a_name_resolving_to_a_local_address_is_connected_to(
    monkeypatch: pytest.MonkeyPatch, listener: Listener
) -> None:
    resolve_evil_example_to(monkeypatch, "127.0.0.1")
    client = HttpClient(timeout_seconds=2, url_policy=UrlPolicy(allow_local=True))

    with pytest.raises(ProviderUnavailable):  # the listener never answers the handshake
        client.post_form(f"https://evil.example:{listener.port}/token", {"code": "c"}, call="token")

    [hello] = listener.close()
    assert hello[:1] == b"\x16"  # a TLS handshake record: the same request, allowed, is sent


@pytest.mark.parametrize(
    "url", ["http://op.example/token", "https://127.0.0.1:{port}/token", "https://localhost:{port}/token"]
)
def test_a_url_learned_at_run_time_that_is_plain_http_or_local_is_not_called(listener: Listener, url: str) -> None:
    client = HttpClient(timeout_seconds=5, url_policy=UrlPolicy())

    with pytest.raises(ProviderUnavailable, match=r"not sent: the URL (must use https|names a local host)"):
        client.post_form(url.format(port=listener.port), {"code": "c"}, call="token")

    assert listener.close() == []


def settings_of(**overrides: str) -> Settings:
    return load_settings(environ(**overrides))


def test_the_gateways_client_keeps_to_the_deployments_policy(listener: Listener) -> None:
    url = f"http://127.0.0.1:{listener.port}/token"

    with pytest.raises(ProviderUnavailable, match="not sent"):
        Toolkit(settings_of()).http.post_form(url, {"code": "c"}, call="token")
    assert listener.received == []

    with pytest.raises(ProviderUnavailable, match="failed"):  # sent, and the listener never answers
        Toolkit(settings_of(**{ALLOW_LOCAL_PROVIDERS: "true", "GATEWAY_HTTP_TIMEOUT_SECONDS": "1"})).http.post_form(
            url, {"code": "c"}, call="token"
        )
    assert listener.close()[0].startswith(b"POST /token HTTP/1.1")


# -- the switch: only the sandbox sets it ---------------------------------------------------------------------------


def test_the_sandbox_marks_its_handlers_environment_and_template_yaml_never_does() -> None:
    from infra.sandbox.stack import _aws_environment

    assert _aws_environment("http://127.0.0.1:1", "http://127.0.0.1:2")[ALLOW_LOCAL_PROVIDERS] == "true"
    assert ALLOW_LOCAL_PROVIDERS not in (ROOT / "template.yaml").read_text()
