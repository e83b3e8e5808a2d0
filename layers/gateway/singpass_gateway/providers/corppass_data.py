"""Corppass's data shapes as plain values: the entity and its acting user from the ID token, and authorisations
(``auth_info``, ``tp_auth_info``) and Myinfo Business blocks from userinfo.

A Corppass login is made on behalf of an entity: the ID token's ``sub`` is the entity (its UEN, or a Corppass
entity id for an entity without one), and the person at the keyboard is ``act`` (RFC 8693's actor claim), whose
``sub`` is a UUID. The frontend gets them as ``entity``, ``act`` and ``person``, and the e-services the user may act
in as ``authorisations``.

Corppass's staging sends each userinfo block, and some objects inside them, as JSON strings where the docs show
objects: :func:`unwrapped` decodes such strings once more, under the same size and depth limits as any JSON the
gateway reads, and only when they decode to an object or an array (a name such as ``[TEST]`` stays a name).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidToken
from ..person import normalise, plain
from .fapi_apps import MAX_SUB_ATTRIBUTE_LENGTH, sub_attributes

MAX_BLOCK_BYTES = 1024 * 1024
"""A JSON string inside userinfo is read under the gateway's document limit, like the userinfo itself."""
MAX_DEPTH = 32
"""Deeper than any documented block (entity_info's lists of records reach 5 levels)."""
MAX_AUTHORISATIONS = 1000
OPEN_ENDED = "9999-12-31"
"""Corppass's ``EndDate`` for an authorisation that does not end: shown as ``null``."""
MISSING_VALUE = "ERROR_MISSING_VALUE"
"""Corppass's marker for a mandatory value that is not set (e.g. a Sub-UEN): shown as ``null`` and named in
``missing``, so a frontend can tell "not set" from "not asked for"."""
ENTITY_ATTRIBUTES = {
    "entity_type": "type",
    "entity_reg_number": "registration_number",
    "entity_coi": "coi",
    "entity_name": "name",
    "entity_uen_status": "uen_status",
}
AUTHORISATION_BLOCKS = (("auth_info", False), ("tp_auth_info", True))
"""Userinfo blocks of authorisations, and whether they are third-party ones (granted by a client entity)."""


def unwrapped(value: Any, depth: int = 0) -> Any:
    """``value`` with every JSON string that holds an object or an array decoded, at any depth."""
    if depth > MAX_DEPTH:
        raise InvalidToken("userinfo nests deeper than the gateway reads")
    if isinstance(value, str):
        decoded = _decoded(value)
        return value if decoded is None else unwrapped(decoded, depth + 1)
    if isinstance(value, dict):
        return {str(name): unwrapped(member, depth + 1) for name, member in value.items()}
    if isinstance(value, list):
        return [unwrapped(item, depth + 1) for item in value]
    return value


def _decoded(text: str) -> dict[str, Any] | list[Any] | None:
    stripped = text.strip()
    if stripped[:1] not in ("{", "["):
        return None
    if len(stripped.encode("utf-8", errors="surrogatepass")) > MAX_BLOCK_BYTES:
        raise InvalidToken("a userinfo block is larger than the gateway reads")
    try:
        decoded = json.loads(stripped)
    except (ValueError, RecursionError):  # not JSON after all, or nested deeper than the parser's limit
        return None
    return decoded if isinstance(decoded, dict | list) else None


def actor(claims: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The acting user: ``act`` as the frontend gets it (its ``sub``), and the person its ``sub_attributes`` name."""
    act = claims.get("act")
    if not isinstance(act, dict):
        raise InvalidToken("the ID token names no acting user (act)")
    sub = act.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUB_ATTRIBUTE_LENGTH:
        raise InvalidToken("act.sub is not a usable subject")
    if act.get("sub_type", "user") != "user":
        raise InvalidToken("act is not a user")
    return {"sub": sub}, sub_attributes(act.get("sub_attributes"), "act.sub_attributes")


def entity(claims: Mapping[str, Any], entity_info: object) -> dict[str, Any]:
    """The entity logged in for: its id (the ID token's ``sub``), the ID token's ``sub_attributes`` under plain
    names, and Myinfo Business's ``entity_info`` blocks as plain values."""
    if claims.get("sub_type", "entity") != "entity":
        raise InvalidToken("the ID token's subject is not an entity")
    attributes = claims.get("sub_attributes") or {}
    if not isinstance(attributes, dict):
        raise InvalidToken("sub_attributes is not an object")
    described: dict[str, Any] = {"id": claims["sub"]}
    for name, field in ENTITY_ATTRIBUTES.items():
        value = attributes.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > MAX_SUB_ATTRIBUTE_LENGTH:
            raise InvalidToken(f"sub_attributes.{name} is not a short string")
        described[field] = value
    if entity_info is not None:
        if not isinstance(entity_info, dict):
            raise InvalidToken("entity_info is not an object")
        described.update({name: plain(block) for name, block in entity_info.items() if name not in described})
    return described


def corppass_email(corppass_info: object) -> dict[str, Any]:
    """``corppass_info`` (scope ``corppass.email``): the user's Corppass email, beside their Myinfo data."""
    if corppass_info is None:
        return {}
    if not isinstance(corppass_info, dict):
        raise InvalidToken("corppass_info is not an object")
    info = normalise(corppass_info)
    return {f"corppass_{name}": info[name] for name in ("email", "email_verified") if name in info}


def authorisations(userinfo: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every e-service role the user holds for the entity (and, third-party, for client entities)."""
    rows: list[dict[str, Any]] = []
    for block, third_party in AUTHORISATION_BLOCKS:
        if block in userinfo:
            rows.extend(_authorisations(userinfo[block], block, third_party))
    if len(rows) > MAX_AUTHORISATIONS:
        raise InvalidToken("more authorisations than the gateway keeps")
    return rows


def _authorisations(block: object, name: str, third_party: bool) -> list[dict[str, Any]]:
    """``{Result_Set: {ESrvc_Row_Count, ESrvc_Result: [{CPESrvcID, Auth_Result_Set: {Row_Count, Row: [...]}}]}}``;
    a count of 0 may come with an empty, absent or blank result, and a single result may come bare."""
    result_set = block.get("Result_Set") if isinstance(block, dict) else None
    if not isinstance(result_set, dict):
        raise InvalidToken(f"{name} has no Result_Set")
    rows = []
    for service in _records(result_set.get("ESrvc_Result"), f"{name}.ESrvc_Result"):
        eservice = _text(service.get("CPESrvcID"), f"{name}.CPESrvcID")
        auth_set = service.get("Auth_Result_Set") or {}
        if not isinstance(auth_set, dict):
            raise InvalidToken(f"{name}.Auth_Result_Set is not an object")
        for row in _records(auth_set.get("Row"), f"{name}.Row"):
            rows.append({"eservice": eservice, **_authorisation(row, name), "third_party": third_party})
    return rows


def _authorisation(row: dict[str, Any], name: str) -> dict[str, Any]:
    fields = {"entity": "CPEntID_SUB", "role": "CPRole", "start": "StartDate", "end": "EndDate"}
    described: dict[str, Any] = {}
    missing = []
    for field, member in fields.items():
        value = None if row.get(member) is None else _text(row[member], f"{name}.{member}")
        if value == MISSING_VALUE:
            missing.append(field)
        described[field] = None if value in ("", MISSING_VALUE) or (field == "end" and value == OPEN_ENDED) else value
    described["parameters"] = _parameters(row.get("Parameter"), name)
    if missing:
        described["missing"] = missing
    return described


def _parameters(value: object, name: str) -> dict[str, Any]:
    """``Parameter``: ``[{name, value}]`` pairs, as a name → value object."""
    parameters = {}
    for item in _records(value, f"{name}.Parameter"):
        key = _text(item.get("name"), f"{name}.Parameter.name")
        parameters[key] = plain(item.get("value"))
    return parameters


def _records(value: object, where: str) -> list[dict[str, Any]]:
    """A list of objects; absent, blank or empty is none, and one bare object is a list of one."""
    if value in (None, "", []):
        return []
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise InvalidToken(f"{where} is not a list of objects")
    return items


def _text(value: object, where: str) -> str:
    """A short text (Corppass sends some ids as numbers: they are kept as text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or len(value) > MAX_SUB_ATTRIBUTE_LENGTH:
        raise InvalidToken(f"{where} is not a short string")
    return value
