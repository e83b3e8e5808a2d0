"""MyInfo-shaped person data (MyInfo v3/v4, Singpass Myinfo v5 ``person_info``) as plain values.

Each MyInfo attribute is an object with ``value`` or ``code``/``desc`` plus metadata (``classification``,
``source``, ``lastupdated``, ``unavailable``). The frontend wants the value: a string or number, ``None`` when
unavailable, and nested objects for composites (addresses, phone numbers, lists of records). UIN/FIN and
other identifiers stay opaque strings: no format is assumed (new M-series FINs exist).
"""

from __future__ import annotations

from typing import Any

METADATA = frozenset({"classification", "source", "lastupdated", "unavailable"})
PROVENANCE = ("source", "classification", "lastupdated")
"""Kept per attribute for the frontend: ``source`` 1 government-verified, 2 user-provided, 3 not applicable,
4 Singpass-verified; ``classification`` C (confidential); ``lastupdated`` a date."""
MAX_DEPTH = 8


def normalise(person: object) -> dict[str, Any]:
    """Every attribute of a MyInfo person object as a plain value."""
    if not isinstance(person, dict):
        return {}
    return {str(name): plain(attribute) for name, attribute in person.items()}


def provenance(person: object) -> dict[str, dict[str, str]]:
    """Each top-level attribute's source, classification and last update, where MyInfo gives them."""
    if not isinstance(person, dict):
        return {}
    described: dict[str, dict[str, str]] = {}
    for name, attribute in person.items():
        if isinstance(attribute, dict):
            facts = {key: attribute[key] for key in PROVENANCE if isinstance(attribute.get(key), str)}
            if facts:
                described[str(name)] = facts
    return described


def plain(attribute: object, depth: int = 0) -> Any:
    """One attribute (or a part of one) as a plain value."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(attribute, list):
        return [plain(item, depth + 1) for item in attribute]
    if not isinstance(attribute, dict):
        return None if attribute == "NA" else attribute
    if attribute.get("unavailable") is True:
        return None
    if _is_phone(attribute):
        return _phone(attribute, depth)
    if "value" in attribute:
        return plain(attribute["value"], depth + 1)
    if "desc" in attribute or "code" in attribute:
        return attribute.get("desc") or attribute.get("code") or None
    members = {name: plain(member, depth + 1) for name, member in attribute.items() if name not in METADATA}
    return members or None


def _is_phone(attribute: dict[str, Any]) -> bool:
    return "nbr" in attribute and ("prefix" in attribute or "areacode" in attribute)


def _phone(attribute: dict[str, Any], depth: int) -> str | None:
    """``{prefix: +, areacode: 65, nbr: 97399245}`` → ``+65 97399245``."""
    number = plain(attribute.get("nbr"), depth + 1)
    if not number:
        return None
    prefix = f"{plain(attribute.get('prefix'), depth + 1) or ''}{plain(attribute.get('areacode'), depth + 1) or ''}"
    return f"{prefix} {number}" if prefix else str(number)
