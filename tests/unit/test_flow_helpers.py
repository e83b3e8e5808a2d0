"""return_to (open-redirect defence), the error redirect, and PKCE."""

import pytest
from singpass_gateway.errors import InvalidReturnTo
from singpass_gateway.flows import pkce_challenge
from singpass_gateway.return_paths import safe_return_to, with_error


@pytest.mark.parametrize("value", ["/", "/account", "/a/b?tab=1#top", "/a%2Fb", "/caf%C3%A9"])
def test_relative_paths_are_kept(value: str) -> None:
    assert safe_return_to(value) == value


@pytest.mark.parametrize("value", [None, ""])
def test_missing_return_to_means_the_home_page(value: str | None) -> None:
    assert safe_return_to(value) == "/"


@pytest.mark.parametrize(
    "value",
    [
        "//evil.example",
        "/%2F%2Fevil.example",  # another host to a frontend that decodes the path
        "/%2f/evil.example",
        "https:evil.example",
        "https://evil.example/",
        "\\\\evil.example",
        "/\\evil.example",
        "evil.example",
        "javascript:alert(1)",
        "/ok\r\nSet-Cookie: x=1",
        "/\tfoo",
        "/" + "a" * 1024,
    ],
)
def test_anything_that_could_leave_the_site_is_refused(value: str) -> None:
    with pytest.raises(InvalidReturnTo):
        safe_return_to(value)


def test_error_is_added_to_the_query_and_replaces_an_old_one() -> None:
    assert with_error("/", "access_denied") == "/?error=access_denied"
    assert with_error("/a?tab=1&error=old#x", "login_expired") == "/a?tab=1&error=login_expired#x"


def test_pkce_s256_matches_rfc_7636_appendix_b() -> None:
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
