"""The test people a person can log in as in the sandbox: MockPass's MyInfo personas, read from MockPass itself.

sgID and MyInfo v3 are MockPass; the FAPI 2.0 provider and the MyInfo v4 emulator serve the same personas'
data, so one list serves every provider. Read at run time from the installed MockPass, it cannot drift from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .stack import ROOT, SANDBOX_PERSONA

MOCKPASS_MYINFO = ROOT / "node_modules" / "@opengovsg" / "mockpass" / "static" / "myinfo" / "v3.json"
FEATURED = (SANDBOX_PERSONA, "S9812379B", "G1612352N", "S9912366D")
"""A few personas that differ (a citizen with a family, a PR, a foreigner, a one-word name); all work with sgID."""


@dataclass(frozen=True)
class Persona:
    nric: str
    name: str
    description: str
    """What logging in as them shows, in short: "female, Singapore citizen, born 1998, married, ..."."""
    works_with_sgid: bool
    """False where MockPass 4.3.4's sgID crashes on them: it formats the registered address from its parts
    (block, street, ...), which an "Unformatted" address does not have."""


def mockpass_personas(source: Path = MOCKPASS_MYINFO) -> list[Persona]:
    """Every persona with MyInfo data, in MockPass's order."""
    people: dict[str, dict[str, Any]] = json.loads(source.read_text())["personas"]
    return [
        Persona(
            nric=nric,
            name=_value(person, "name"),
            description=_describe(person),
            works_with_sgid=person.get("regadd", {}).get("type") == "SG",
        )
        for nric, person in people.items()
    ]


def featured_personas(personas: list[Persona]) -> list[Persona]:
    by_nric = {persona.nric: persona for persona in personas}
    return [by_nric[nric] for nric in FEATURED]


def _describe(person: dict[str, Any]) -> str:
    status = _desc(person, "residentialstatus")
    nationality = _desc(person, "nationality").title()
    residence = {"CITIZEN": "Singapore citizen", "PR": f"{nationality}, PR"}.get(status, f"{nationality}, foreigner")
    children = len(person.get("childrenbirthrecords") or [])
    vehicles = len(person.get("vehicles") or [])
    parts = [
        _desc(person, "sex").lower(),
        residence,
        f"born {_value(person, 'dob')[:4]}",
        _desc(person, "marital").lower(),
        _count(children, "child", "children"),
        _count(vehicles, "vehicle", "vehicles"),
        _desc(person, "hdbtype").lower().replace("(hdb)", "(HDB)"),
    ]
    return ", ".join(part for part in parts if part and part != "born ")


def _value(person: dict[str, Any], attribute: str) -> str:
    return str((person.get(attribute) or {}).get("value") or "")


def _desc(person: dict[str, Any], attribute: str) -> str:
    return str((person.get(attribute) or {}).get("desc") or "")


def _count(number: int, one: str, many: str) -> str:
    return "" if number == 0 else f"1 {one}" if number == 1 else f"{number} {many}"
