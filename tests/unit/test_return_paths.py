"""return_to stays a plain path on the frontend in every form a browser or a frontend reads it, and the redirect
back to the frontend (with or without ``?error=<code>``) is always a Location header API Gateway can send."""

from __future__ import annotations

import pytest
from singpass_gateway.errors import InvalidReturnTo
from singpass_gateway.return_paths import MAX_RETURN_TO_LENGTH, safe_return_to, with_error

SENDABLE = frozenset(chr(code) for code in range(0x21, 0x7F))
"""Printable ASCII: what a Location header may hold whatever the runtime, API Gateway or the browser."""


@pytest.mark.parametrize(
    "value",
    [
        "/a/b;v=1,2/c:d@e/f!$&'()*+=",  # RFC 3986 sub-delims, ':' and '@' in the path
        "/~user/a-b_c.d/...",  # '...' and '.hidden' are names, not dot segments
        "/.well-known/a.b",
        "/caf%C3%A9/%E6%97%A5",  # non-ASCII, percent-encoded as browsers send it
        "/%FF",  # an octet that is no UTF-8 stays opaque
        "/a?q=x/y?z&list[]=1&filter[state]=open",  # '/', '?', '[' and ']' in the query, as browsers keep them
        "/a#/route?x=[1]",  # a client-side route in the fragment
        "/a?next=%2F%2Fevil.example#%2e%2e",  # encoded text in the query and fragment is the frontend's data
        "/" + "a" * (MAX_RETURN_TO_LENGTH - 1),
    ],
)
def test_a_plain_path_with_query_and_fragment_is_carried_as_sent(value: str) -> None:
    assert safe_return_to(value) == value


@pytest.mark.parametrize(
    "value",
    [
        # dot segments, which browsers resolve (also percent-encoded: the URL standard reads %2e as '.')
        "/..",
        "/a/../b",
        "/a/./b",
        "/a/.",
        "/%2e%2e/admin",
        "/%2E%2E/admin",
        "/a/%2e/b",
        "/a/.%2e/b",
        "/a/%2E./b",
        "/a/%2e",
        "/a%2f..%2fb",  # '..' between encoded slashes, for servers and routers that decode them
        # backslashes, which browsers read as '/' (also percent-encoded, for servers that decode them)
        "/a\\b",
        "/a%5Cb",
        "/%5C%5Cevil.example",
        "/a?x=\\",
        # control characters (also percent-encoded in the path: a frontend that decodes it and navigates gets
        # them stripped, and `/%09/evil.example` becomes `//evil.example`)
        "/%09/evil.example",
        "/%0a/evil.example",
        "/a%0D%0Ab",
        "/a%00",
        "/a%7F",
        "/\x00",
        "/a?x=\x0b",
        "/a#\x7f",
        # non-ASCII, which no Location header can carry as it is
        "/caf\u00e9",
        "/\u65e5\u672c",
        "/a\u2028b",
        "/a\u0085b",
        "/a?q=\u00e9",
        "/a#\u00e9",
        pytest.param("/\ud800", id="/<lone surrogate>"),
        "/\ufeff",
        # whatever else RFC 3986 does not allow in a URL
        "/a b",
        "/a?x=<script>",
        '/a"b',
        "/a`b",
        "/a{b}",
        "/a|b",
        "/a^b",
        "/a[0]",  # '[' and ']' only in the query and fragment
        "/a%",
        "/a%zz",
        "/a%4",
        "/a#b#c",
        # anything that could leave the site
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "evil.example",
        "?x=1",
        "#x",
    ],
)
def test_a_return_to_a_browser_or_frontend_could_read_otherwise_is_refused(value: str) -> None:
    with pytest.raises(InvalidReturnTo):
        safe_return_to(value)


@pytest.mark.parametrize(
    "path",
    [
        "/caf\u00e9",
        "/\u65e5\u672c?x=1",
        "/a\r\nSet-Cookie: x=1",
        "/a?x=1\r\n#frag",
        "/a#\u2028",
        pytest.param("/\ud800", id="/<lone surrogate>"),
        "//evil.example",
        "/a/../b",
        "",
    ],
)
def test_the_error_redirect_is_always_a_header_api_gateway_can_send(path: str) -> None:
    """A path outside the grammar (a login stored by an older gateway, say) goes back as '/'."""
    location = with_error(path, "access_denied")

    assert location.isascii()  # first: a failed comparison would print a lone surrogate xdist cannot carry
    assert location == "/?error=access_denied"


@pytest.mark.parametrize(
    "path",
    ["/a?x=%FF&error=old#f", "/a?x=1+2&y=%E6%97%A5&z#top", "/a?q=[1]&empty=", "/" + "%E6" * 340 + "?x=" + "%E6" * 1],
)
def test_the_error_redirect_of_a_carried_path_is_printable_ascii(path: str) -> None:
    location = with_error(path, "login_expired")

    assert set(location) <= SENDABLE
    assert location.startswith("/")
    assert not location.startswith("//")
    assert location.split("#")[0].endswith("error=login_expired")
