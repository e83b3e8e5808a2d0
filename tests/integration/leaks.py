"""What must never appear in a login's logs or traces: its secrets and the person's data, collected once for the
log-capture test (test_logs.py) and the trace-capture test (test_traces.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.sandbox.browser import query
from infra.sandbox.stack import SANDBOX_SECRETS

MARKERS = ("eyJ", "Bearer ", "DPoP ", "PKI_SIGN", "BEGIN PRIVATE KEY", "/private", '"d":')
"""Tokens, authorization headers, signed MyInfo headers, private keys, the return path and private JWK members."""


def login_secrets(
    authorize: str, callback_url: str, refused_url: str, cookies: Mapping[str, str], me: Mapping[str, Any]
) -> dict[str, str]:
    """A login's secrets by name: the session id and login cookies (``cookies``: the session id, the login's and
    the refused login's cookie), states, codes, nonce and request_uri, the client secrets, and the subject."""
    secrets = {
        **cookies,
        "state": query(callback_url)["state"],
        "code": query(callback_url)["code"],
        "refused state": query(refused_url)["state"],
        "refused code": query(refused_url)["code"],
        **{f"secret {name}": value for name, value in SANDBOX_SECRETS.items()},
        "sub": me["sub"],
        "sub uuid": me["sub"].removeprefix("u="),
    }
    for parameter in ("nonce", "request_uri"):
        if parameter in query(authorize):
            secrets[parameter] = query(authorize)[parameter]
    return secrets


def personal_data(me: Mapping[str, Any]) -> dict[str, str]:
    """The person's data by name, as ``/api/me`` shows it: the person, and a Corppass login's entity, acting user
    and e-service roles, and what a plain OAuth 2.0 token grants them (their permissions), all as personal."""
    personal = {name: value for name, value in me["person"].items() if isinstance(value, str) and len(value) > 3}
    for member in ("entity", "act", "authorisations", "access"):
        personal |= {f"{member} {name}": value for name, value in strings(me.get(member))}
    return personal


def assert_none_in(text: str, named: Mapping[str, str], where: str) -> None:
    """No value of ``named`` (nor any line of one), and no :data:`MARKERS`, appears in ``text``."""
    for name, value in named.items():
        for fragment in [value, *value.splitlines()]:
            assert fragment not in text, f"{name} appears in the {where}"
    for marker in MARKERS:
        assert marker not in text, f"{marker!r} appears in the {where}"


def strings(value: object, path: str = "") -> list[tuple[str, str]]:
    """Every string longer than three characters in a nested value, with where it is; digits alone only from six
    on, since a shorter number (an authorisation's limit, "5000") turns up by chance in the logs' timestamps."""
    if isinstance(value, dict):
        return [found for name, nested in value.items() for found in strings(nested, f"{path} {name}".strip())]
    if isinstance(value, list):
        return [found for index, nested in enumerate(value) for found in strings(nested, f"{path} {index}".strip())]
    if not isinstance(value, str) or len(value) <= 3 or (value.isdigit() and len(value) < 6):
        return []
    return [(path, value)]
