"""What ``make dev`` prints: a line as each service comes up, then where everything is and whom to log in as."""

from __future__ import annotations

import json

from .personas import Persona, featured_personas, mockpass_personas
from .stack import SANDBOX_PERSONA, Sandbox, ServiceStarted

HOW_TO_LOG_IN = {
    "sgid": f'MockPass: press Login, pick a persona such as "{SANDBOX_PERSONA} [MyInfo]"',
    "singpass": f"type a persona's NRIC (e.g. {SANDBOX_PERSONA}) and any password",
    "corppass": (
        f"type the acting user's NRIC @ the entity (e.g. {SANDBOX_PERSONA}@201912345K, ACME PTE. LTD.; "
        f"{SANDBOX_PERSONA}@NUEN00000123X, a NON-UEN entity) and any password"
    ),
    "myinfo-v3": f'pick a persona marked [MyInfo] (e.g. "{SANDBOX_PERSONA} [MyInfo]"), then press Submit',
    "myinfo-v4": 'pick a persona, then press "Log in and allow"',
    "oidc": f"any login name and any password (the data shown is {SANDBOX_PERSONA}'s)",
    "oauth2": (
        "any login name and any password, then Continue on its consent page "
        "(tan-heng-huat has two permissions; any other name one)"
    ),
}
"""How each provider type's sandbox login page is used."""


def progress_line(event: ServiceStarted) -> str:
    return f"  ✓ {event.name:<30} {event.address:<46} ({event.seconds:.1f} s)"


def banner(sandbox: Sandbox, personas: list[Persona] | None = None) -> str:
    """Every address, how to log in with each provider, and a few personas to log in as."""
    personas = mockpass_personas() if personas is None else personas
    services = [
        ("Demo frontend and API", sandbox.url),
        ("MockPass as sgID", sandbox.mockpass_url),
        ("MockPass as MyInfo v3", sandbox.myinfo_v3_url),
        ("MyInfo v4 emulator", sandbox.myinfo_v4_url),
        ("FAPI 2.0 provider (Singpass)", sandbox.fapi_url),
        ("FAPI 2.0 provider (Corppass)", sandbox.corppass_url),
        ("oidc-provider (OIDC)", sandbox.oidc_url),
        ("OAuth 2.0 server", sandbox.oauth2_url),
        ("DynamoDB Local", f"{sandbox.dynamodb_url}  (table {sandbox.table_name})"),
        ("moto (KMS, Secrets Manager)", sandbox.moto_url),
    ]
    lines = ["", "The sandbox is up:", *(f"  {name:<30} {address}" for name, address in services)]
    lines += ["", f"Open {sandbox.url} and log in with", *_login_lines(sandbox)]
    lines += ["", f"Personas (MockPass's MyInfo test people; {len(personas)} in all, every provider serves them):"]
    featured = featured_personas(personas)
    width = max(len(persona.name) for persona in featured)
    lines += [f"  {p.nric}  {p.name:<{width}}  {p.description}" for p in featured]
    not_sgid = ", ".join(persona.nric for persona in personas if not persona.works_with_sgid)
    if not_sgid:
        lines.append(f"  Not with sgID: {not_sgid} (MockPass's sgID cannot format their unformatted addresses)")
    lines.append("  python -m infra.sandbox --personas lists them all.")
    lines.append("")
    if sandbox.log_dir is not None:
        lines.append(f"Services' logs: {sandbox.log_dir}/")
    lines.append("Ctrl-C stops everything.")
    return "\n".join(lines) + "\n"


def persona_table(personas: list[Persona]) -> str:
    """Every persona, one a line (``python -m infra.sandbox --personas``)."""
    width = max(len(persona.name) for persona in personas)
    return "".join(
        f"{p.nric}  {p.name:<{width}}  {p.description}{'' if p.works_with_sgid else '  (not with sgID)'}\n"
        for p in personas
    )


def _login_lines(sandbox: Sandbox) -> list[str]:
    """One line per provider the handlers are configured with (template.yaml's names, as the page's buttons)."""
    configured = next(
        json.loads(spec.environment["GATEWAY_PROVIDERS"])
        for spec in sandbox.functions
        if "GATEWAY_PROVIDERS" in spec.environment
    )
    providers = [provider for provider in configured if provider]
    width = max(len(provider["name"]) for provider in providers)
    return [
        f"  {provider['name']:<{width}}  {HOW_TO_LOG_IN.get(provider['type'], 'its own login page')}"
        for provider in providers
    ]
