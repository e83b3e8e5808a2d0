"""Where a login returns to on the frontend (``return_to``), and the redirect back to it: a grammar that keeps a
return path a plain path on the frontend in every form a browser or a frontend could read, and a Location header
that API Gateway can always send.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote_to_bytes, urlencode, urlsplit, urlunsplit

from .errors import InvalidReturnTo

MAX_RETURN_TO_LENGTH = 1024
_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
"""RFC 3986's pchar: unreserved, pct-encoded, sub-delims, ':' and '@'."""
RETURN_TO = re.compile(rf"(?P<path>/(?:{_PCHAR}|/)*)(?:\?(?:{_PCHAR}|[/?\[\]])*)?(?:#(?:{_PCHAR}|[/?\[\]])*)?")
"""The characters :func:`safe_return_to` accepts, where it accepts them (the rest of its grammar is checked there)."""
DOT_SEGMENTS = frozenset({b".", b".."})


def safe_return_to(value: str | None) -> str:
    """A path on the frontend to return to (``/`` when absent). Anything a browser or a frontend could read as
    another place, and anything a Location header cannot carry as it is, is refused with InvalidReturnTo.

    The grammar, in RFC 3986's terms, at most :data:`MAX_RETURN_TO_LENGTH` characters::

        return-to = path [ "?" extra ] [ "#" extra ]
        path      = "/" *( pchar / "/" )                  ; not starting with "//"
        extra     = *( pchar / "/" / "?" / "[" / "]" )
        pchar     = unreserved / pct-encoded / sub-delims / ":" / "@"

    That is printable ASCII alone: no space, backslash, stray ``%``, second ``#``, ``"<>^`{|}``, control or
    non-ASCII character (a frontend percent-encodes those, as ``location.pathname`` and ``location.search``
    already are). ``[`` and ``]`` are allowed in the query and fragment, where browsers keep them as typed
    (``?filter[state]=open``), and not in the path.

    And the path, percent-decoded once, has no control character, no backslash and no ``.`` or ``..`` segment:
    browsers resolve dot segments before the frontend sees the path, ``%2e`` (either case, alone or mixed with
    ``.``) as ``.``, and read ``\\`` as ``/``; a frontend that decodes the path and navigates to it would get a
    tab or newline stripped (``/%09/evil.example`` becomes ``//evil.example``) or a backslash read as ``/``; and a
    ``..`` between encoded slashes (``/a%2F..%2Fb``) is one for servers and routers that decode them. A
    percent-encoded ``/`` is otherwise data, unless the decoded path would start with ``//`` (``/%2F%2Fevil.example``,
    another host to a frontend that decodes it); the query and fragment, encoded text included, are the frontend's.

    A parameter sent twice never gets here as one value: the login handler refuses it
    (:meth:`singpass_gateway.web.Request.query_value`).
    """
    if not value:
        return "/"
    if len(value) > MAX_RETURN_TO_LENGTH or not carried(value):
        raise InvalidReturnTo("return_to must be a plain path on the frontend")
    return value


def carried(value: str) -> bool:
    """Whether ``value`` is in the grammar of :func:`safe_return_to`, whatever its length."""
    match = RETURN_TO.fullmatch(value)
    if match is None or value.startswith("//"):
        return False
    decoded = unquote_to_bytes(match["path"])
    if any(byte < 0x20 or byte in (0x5C, 0x7F) for byte in decoded):  # controls, backslash, DEL
        return False
    if decoded.startswith(b"//"):  # /%2F%2Fevil.example: a frontend that decodes the path would leave the site
        return False
    return not DOT_SEGMENTS.intersection(decoded.split(b"/"))


def with_error(path: str, code: str) -> str:
    """``path`` with ``error=<code>`` in its query (replacing any error already there). A path outside the
    grammar of :func:`safe_return_to` (a login stored by an older gateway, say) becomes ``/``: the result is
    always printable ASCII, a Location API Gateway can send."""
    parts = urlsplit(path if carried(path) else "/")
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "error"]
    query.append(("error", code))
    return urlunsplit(("", "", parts.path, urlencode(query), parts.fragment))
