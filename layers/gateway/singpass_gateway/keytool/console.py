"""Where the key CLI writes what a person reads, as opposed to the result a script captures."""

from __future__ import annotations

import sys


def note(message: str) -> None:
    """What a person wants to know, on stderr, so stdout stays the one value a script captures."""
    print(message, file=sys.stderr)
