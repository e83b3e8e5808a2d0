"""A scripted browser for the sandbox: drives logins through the local API the way a browser would.

Used by the integration tests and the benchmarks. It keeps cookies as a browser on localhost does (``requests``
will not send Secure cookies over http) and follows no redirect by itself, so every hop can be inspected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from .stack import Sandbox


@dataclass
class Browser:
    """A minimal browser: it keeps cookies as a browser on localhost would (Secure ones included, which
    ``requests`` refuses to send over http) and follows nothing by itself, so every hop can be inspected."""

    base_url: str
    cookies: dict[str, str] = field(default_factory=dict)

    def get(self, url: str, headers: dict[str, str] | None = None) -> requests.Response:
        return self._send("GET", url, headers)

    def post(self, url: str, headers: dict[str, str] | None = None) -> requests.Response:
        return self._send("POST", url, headers)

    def _send(self, method: str, url: str, headers: dict[str, str] | None) -> requests.Response:
        url = url if url.startswith("http") else self.base_url + url
        own = urlsplit(url).netloc == urlsplit(self.base_url).netloc
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        all_headers = {**({"Cookie": cookie} if own and cookie else {}), **(headers or {})}
        response = requests.request(method, url, headers=all_headers, allow_redirects=False, timeout=30)
        if own:
            for line in set_cookie_lines(response):
                name, _, rest = line.partition("=")
                value = rest.split(";", 1)[0]
                if "Max-Age=0" in line:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
        return response

    def api(self, path: str, method: str = "GET") -> requests.Response:
        return self._send(method, path, {"X-CSRF": "1"})

    def start_login(self, return_to: str = "/", provider: str = "sgid") -> requests.Response:
        """GET the login route; the response redirects to the provider."""
        return self.get(f"/auth/{provider}/login?return_to={return_to}")

    def login(self, return_to: str = "/", provider: str = "sgid") -> requests.Response:
        """A whole login; returns the callback's response."""
        authorize = self.start_login(return_to, provider).headers["Location"]
        return self.get(provider_redirect(authorize))


def provider_redirect(authorize_url: str, decision: str = "allow") -> str:
    """Follow the provider's own redirects (no login pages in this sandbox) until it sends the browser back.

    A consent form on the way (MockPass's MyInfo) is submitted with ``decision`` as a person would.
    """
    provider = requests.Session()  # the provider's cookies, e.g. oidc-provider's interaction session
    url = authorize_url
    for _ in range(10):
        response = provider.get(url, allow_redirects=False, timeout=30)
        if response.status_code == 200 and "<form" in response.text:
            form = _Form.parse(response.text)
            response = provider.post(
                urljoin(url, form.action), data={**form.fields, "decision": decision}, allow_redirects=False, timeout=30
            )
        if response.status_code not in (302, 303):
            raise RuntimeError(f"the provider answered {response.status_code} instead of redirecting")
        location = urljoin(url, response.headers["Location"])
        if urlsplit(location).netloc != urlsplit(authorize_url).netloc:
            return location
        url = location
    raise RuntimeError("the provider never redirected back")


def persona_redirect(authorize_url: str, nric: str) -> str:
    """Log in as the MockPass persona ``nric``, as a person picks one, and return where MockPass sends the browser."""
    return mockpass_personas(authorize_url)[nric]


def mockpass_personas(authorize_url: str) -> dict[str, str]:
    """The personas MockPass's sgID login page offers for this login: NRIC → the URL that logs them in. The
    sandbox's MockPass shows that page only when asked (``X-Show-Login-Page``)."""
    page = requests.get(authorize_url, headers={"X-Show-Login-Page": "true"}, timeout=30)
    page.raise_for_status()
    personas: dict[str, str] = {}

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            attributes = {name: value or "" for name, value in attrs}
            if tag == "option" and attributes.get("data-asserturl"):
                personas[attributes["value"].split()[0]] = attributes["data-asserturl"]

    Parser().feed(page.text)
    return personas


@dataclass
class _Form:
    """The first form of a page: where it posts, and its fields as a browser would submit them."""

    action: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, page: str) -> _Form:
        form = cls()

        class Parser(HTMLParser):
            def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
                attributes = {name: value or "" for name, value in attrs}
                if tag == "form" and not form.action:
                    form.action = attributes.get("action", "")
                elif tag == "input" and attributes.get("name") and _submitted(attributes):
                    form.fields[attributes["name"]] = attributes.get("value", "")

        Parser().feed(page)
        return form


def _submitted(attributes: dict[str, str]) -> bool:
    """Whether a browser submits this input: every one but the radio buttons not chosen."""
    return attributes.get("type") != "radio" or "checked" in attributes


def set_cookie_lines(response: requests.Response) -> list[str]:
    return list(response.raw.headers.getlist("Set-Cookie"))


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def items(sandbox: Sandbox, prefix: str) -> list[dict[str, Any]]:
    """Every stored item whose key starts with ``prefix`` (``txn#`` or ``session#``), from every page of the scan
    (one page holds at most 1 MB: a few hundred sessions)."""
    pages = (
        sandbox.aws_client("dynamodb").get_paginator("scan").paginate(TableName=sandbox.table_name, ConsistentRead=True)
    )
    return [item for page in pages for item in page["Items"] if item["pk"]["S"].startswith(prefix)]


def cookie_attributes(line: str) -> set[str]:
    return {re.sub(r"\s+", "", part) for part in line.split(";")[1:]}
