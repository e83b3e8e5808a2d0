"""The one way the jose package refuses a token, shared by every module in it."""

from __future__ import annotations

from typing import NoReturn

from ..errors import InvalidToken


def reject(reason: str) -> NoReturn:
    """Refuse the token being parsed: InvalidToken, with a short reason saying which check failed."""
    raise InvalidToken(reason)
