"""The test people a person can log in as in the sandbox: MockPass's MyInfo personas, read from MockPass itself.

sgID and MyInfo v3 are MockPass; the FAPI 2.0 provider and the MyInfo v4 emulator serve the same personas'
data, so one list serves every provider. Read at run time from the installed MockPass, it cannot drift from it.

MockPass's MyInfo v3, the MyInfo v4 emulator and the FAPI server's Myinfo app also serve a few generated people
whose data is far larger than any of MockPass's (about 16 KB each): :data:`LARGE_PROFILES`, made by
:func:`large_person` in MockPass's own shapes, for the gateway's limits on person data
(``tests/integration/test_large_person_data.py``).
"""

from __future__ import annotations

import copy
import json
import random
import string
import uuid
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


# -- large people ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LargeProfile:
    """A generated person: MockPass's ``SANDBOX_PERSONA`` as a base, in MockPass's shapes, with long histories.

    Only attributes MockPass's personas have are used, so the emulator's list of attributes does not change."""

    nric: str
    name: str
    description: str
    years: int
    """Months of CPF history: this many years, up to December 2025."""
    employers: int
    """Employers contributing each month (part-time and platform work: several at once)."""
    children: int = 0
    vehicles: int = 0
    contributions: bool = True
    """``cpfcontributions`` as long as ``cpfemployers`` (else MockPass's own 15 months)."""
    random_employer_length: int = 0
    """Above 0: each month's employers get random names of this length (data that does not compress)."""

    @property
    def uuid(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://sandbox.invalid/myinfo/{self.nric}"))

    @property
    def history_length(self) -> int:
        return self.years * 12 * self.employers


LONG_HISTORY = LargeProfile(
    "S8400001I",
    "LIM LONG HISTORY",
    "10 years of monthly CPF contributions from 6 employers at a time, 4 children, 3 vehicles",
    years=10,
    employers=6,
    children=4,
    vehicles=3,
)
"""Realistic and large: all its attributes come to about 190 KB of JSON; what the sandbox asks MyInfo v4 for
(``cpfemployers`` is the only list in it) to about 70 KB, a JWE of about 120 KB: over joserfc's default cap of
64 KiB of JWE ciphertext, which refused it before the gateway set its own limits."""
NEAR_LIMIT = LargeProfile(
    "S8400002G",
    "TAN NEAR LIMIT",
    "synthetic: a CPF employer history of 35 years, 14 employers a month, just under the 1 MiB person limit",
    years=35,
    employers=14,
    contributions=False,
)
"""What the sandbox asks MyInfo v4 for comes to a JWE of about 0.95 MiB: the largest such answer that logs in."""
OVERSIZED = LargeProfile(
    "S8400003E",
    "NG OVERSIZED",
    "synthetic: a CPF employer history of 45 years, 14 employers a month, over the 1 MiB person limit",
    years=45,
    employers=14,
    contributions=False,
)
"""Its MyInfo v4 answer (the sandbox's attributes) is over 1 MiB: refused."""
INCOMPRESSIBLE = LargeProfile(
    "S8400004C",
    "GOH INCOMPRESSIBLE",
    "synthetic: 5 years of 36 employers a month with random 200-character names, too large to keep in a session",
    years=5,
    employers=36,
    contributions=False,
    random_employer_length=200,
)
"""Within the 1 MiB person limit, but random: compressed, its session is still over DynamoDB's 400 KB item."""
LARGE_PROFILES = (LONG_HISTORY, NEAR_LIMIT, OVERSIZED, INCOMPRESSIBLE)

_EMPLOYERS = (
    "CRYSTAL HORSE INVEST PTE LTD",
    "EASTCOAST FOOD DELIVERY SERVICES PTE. LTD.",
    "BEDOK NORTH NEIGHBOURHOOD CLINIC PTE LTD",
    "SINGAPORE TUITION AND ENRICHMENT CENTRE PTE. LTD.",
    "PASIR RIS LOGISTICS AND WAREHOUSING PTE LTD",
    "TAMPINES HAWKER MANAGEMENT CO-OPERATIVE LIMITED",
    "JURONG WEST PRECISION ENGINEERING PTE. LTD.",
    "MARINA BAY EVENTS AND HOSPITALITY PTE LTD",
    "ANG MO KIO ELDERCARE SERVICES LIMITED",
    "WOODLANDS RETAIL HOLDINGS PTE. LTD.",
    "TOA PAYOH COMMUNITY CHILDCARE PTE LTD",
    "CLEMENTI DIGITAL MARKETING SOLUTIONS PTE. LTD.",
    "SERANGOON PRIVATE HIRE CAR RENTAL PTE LTD",
    "BUKIT MERAH FACILITY MANAGEMENT PTE. LTD.",
)
_CHILD_NAMES = ("TAN YEE TENG", "TAN WEI MING", "TAN HUI LING", "TAN JUN JIE", "TAN XIN YI", "TAN ZHI HAO")
_VEHICLES = (("TOYOTA", "COROLLA ALTIS"), ("HONDA", "VEZEL HYBRID"), ("MITSUBISHI", "CANTER FE71"), ("KIA", "SEDONA"))


def large_person(profile: LargeProfile, source: Path = MOCKPASS_MYINFO) -> dict[str, Any]:
    """``profile``'s MyInfo person, the same at every call (its random parts are seeded with its NRIC)."""
    base: dict[str, Any] = json.loads(source.read_text())["personas"][SANDBOX_PERSONA]
    person = copy.deepcopy(base)
    rng = random.Random(profile.nric)  # noqa: S311 - test data, the same at every run
    person["uinfin"]["value"] = profile.nric
    person["partialuinfin"]["value"] = "*****" + profile.nric[-4:]
    person["uuid"]["value"] = profile.uuid
    for attribute in ("name", "hanyupinyinname"):
        person[attribute]["value"] = profile.name
    months = [f"{year}-{month:02d}" for year in range(2026 - profile.years, 2026) for month in range(1, 13)]
    employers = [[_employer(rng, profile, index) for index in range(profile.employers)] for _ in months]
    person["cpfemployers"]["history"] = [
        {"month": {"value": month}, "employer": {"value": employer}}
        for month, names in zip(months, employers, strict=True)
        for employer in names
    ]
    if profile.contributions:
        person["cpfcontributions"]["history"] = [
            {
                "date": {"value": f"{month}-{rng.randint(1, 28):02d}"},
                "employer": {"value": employer},
                "amount": {"value": rng.randrange(300, 3000, 25)},
                "month": {"value": month},
            }
            for month, names in zip(months, employers, strict=True)
            for employer in names
        ]
    [child] = base["childrenbirthrecords"]
    person["childrenbirthrecords"] = [_child(child, index) for index in range(profile.children)]
    [vehicle] = base["vehicles"]
    person["vehicles"] = [_vehicle(vehicle, index) for index in range(profile.vehicles)]
    return person


def large_personas(source: Path = MOCKPASS_MYINFO) -> dict[str, dict[str, Any]]:
    """Every large profile's person, by NRIC (what the MyInfo servers serve besides MockPass's)."""
    return {profile.nric: large_person(profile, source) for profile in LARGE_PROFILES}


def write_large_personas(directory: Path) -> Path:
    """Write :func:`large_personas` to a JSON file in ``directory`` for a sandbox server to load; its path."""
    path = directory / "large-personas.json"
    path.write_text(json.dumps(large_personas()))
    return path


def _employer(rng: random.Random, profile: LargeProfile, index: int) -> str:
    if profile.random_employer_length:
        return "".join(rng.choices(string.ascii_letters + string.digits, k=profile.random_employer_length))
    name = _EMPLOYERS[index % len(_EMPLOYERS)]
    return name if index < len(_EMPLOYERS) else f"{name} ({index // len(_EMPLOYERS) + 1})"


def _child(record: dict[str, Any], index: int) -> dict[str, Any]:
    child = copy.deepcopy(record)
    name = _CHILD_NAMES[index % len(_CHILD_NAMES)]
    child["name"]["value"] = child["hanyupinyinname"]["value"] = name
    child["birthcertno"]["value"] = f"T{2010 + index:04d}{index:03d}A"[:9]
    child["dob"]["value"] = f"{2010 + 2 * index}-0{1 + index % 9}-1{index % 10}"
    child["sex"] = {"code": "M", "desc": "MALE"} if index % 2 else {"code": "F", "desc": "FEMALE"}
    return child


def _vehicle(record: dict[str, Any], index: int) -> dict[str, Any]:
    vehicle = copy.deepcopy(record)
    make, model = _VEHICLES[index % len(_VEHICLES)]
    vehicle["make"]["value"], vehicle["model"]["value"] = make, model
    vehicle["vehicleno"]["value"] = f"SGX{1234 + index}A"
    vehicle["chassisno"]["value"] = f"ZC11S17358{index:02d}"
    vehicle["engineno"]["value"] = vehicle["motorno"]["value"] = f"M13A18374{index:02d}"
    return vehicle
