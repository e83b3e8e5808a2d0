"""The gateway's stable error codes and the frontend kit's messages for them, for the tests that hold the two
together (a new code must not reach browsers without a message)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import shutil
import subprocess
from pathlib import Path

import singpass_gateway
from singpass_gateway.errors import GatewayError

KIT = Path(__file__).resolve().parents[1] / "frontend" / "gateway.js"
KIT_FALLBACK_CODES = frozenset({"network_error", "unknown_error"})
"""The kit's own codes: no answer at all, or an answer it cannot read."""


def gateway_error_codes() -> set[str]:
    """Every ``code`` of GatewayError and its subclasses, wherever in the package they are defined."""
    for module in pkgutil.walk_packages(singpass_gateway.__path__, singpass_gateway.__name__ + "."):
        importlib.import_module(module.name)
    codes, pending = set(), [GatewayError]
    while pending:
        error = pending.pop()
        codes.add(error.code)
        pending.extend(error.__subclasses__())
    return codes


def kit_messages() -> dict[str, str]:
    """The kit's ERROR_MESSAGES, read by importing the module in Node (a project prerequisite)."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Node.js is missing (a prerequisite of `make install`)")
    script = (
        "const source = require('fs').readFileSync(process.argv[1], 'utf8');"
        "import('data:text/javascript,' + encodeURIComponent(source))"
        ".then((kit) => console.log(JSON.stringify(kit.ERROR_MESSAGES)));"
    )
    result = subprocess.run([node, "-e", script, str(KIT)], capture_output=True, text=True, check=True, timeout=30)
    messages: dict[str, str] = json.loads(result.stdout)
    return messages
