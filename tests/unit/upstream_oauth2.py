"""Plain OAuth 2.0 servers for the hostile-provider harness (tests/unit/upstream.py): no ID token, no nonce.

- ``oauth2``: an RFC 9068 server. RFC 8414 metadata with the RFC 9207 ``iss`` promise, ``client_secret_post``,
  PKCE, a JWT access token (``typ: at+jwt``) carrying the user, their scopes and permissions, rotating refresh
  tokens and RFC 7009 revocation.
- ``oauth2-introspection``: an RFC 7662 server with ``private_key_jwt`` clients and opaque tokens.
- ``oauth2-user``: a GitHub-style API. Configured endpoints, ``client_secret_basic``, no PKCE (it refuses the
  parameters, as the strictest servers do), an opaque access token and a user endpoint naming the user by an
  integer ``id``.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any, ClassVar

from singpass_gateway.http import HttpResponse

from tests.unit.fakes import json_response
from tests.unit.upstream import (
    CLIENT_ID,
    CLIENT_SECRET,
    EC_SIGNING_ARN,
    KEYS,
    PERSON_NAME,
    SECRET_ARN,
    Authorized,
    Signing,
    SigningKey,
    Upstream,
    check_assertion,
    expect,
    overridden,
)

SCOPES = ("profile", "orders:read")
PERMISSIONS = ["orders:read", "orders:refund"]


class OAuth2Upstream(Upstream):
    kind, issuer, subject = "oauth2", "https://as.example", "alice"
    subject_token = person_document = "access_token"
    artifacts = ("access_token",)
    someone_else: ClassVar[Mapping[str, Any]] = {"sub": "mallory"}
    issuer_parameter = True
    discovery_url = "https://as.example/.well-known/oauth-authorization-server"
    jws_headers: ClassVar[Mapping[str, Mapping[str, str]]] = {"access_token": {"typ": "at+jwt"}}

    def options(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "metadata": True, "client_id": CLIENT_ID, "client_secret_arn": SECRET_ARN,
                "client_auth": "client_secret_post", "scopes": list(SCOPES)}  # fmt: skip

    def make_signings(self) -> dict[str, Signing]:
        key = SigningKey("RS256", KEYS.provider_rsa, "as-signing")
        alternate = SigningKey("ES384", KEYS.alternate_ec384, "as-signing-es384")
        return {"access_token": Signing(key, alternate, f"{self.issuer}/jwks")}

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/authorize"

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer, "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
            "revocation_endpoint": f"{self.issuer}/revoke", "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }  # fmt: skip

    def serve_endpoints(self) -> None:
        self.refresh_tokens: set[str] = set()
        self.revoked: list[str] = []
        assert self.discovery_url is not None
        self.serve("discovery", "GET", self.discovery_url,
                   lambda **_: json_response(overridden(self.metadata(), self.discovery_overrides)))  # fmt: skip
        self.serve("token", "POST", f"{self.issuer}/token", self.token)
        self.serve("revocation", "POST", f"{self.issuer}/revoke", self.revoke)
        self.serve_jwks("jwks", f"{self.issuer}/jwks")

    def authorization(self, location: str) -> Authorized:
        authorized = super().authorization(location)
        expect(authorized.nonce is None, "a nonce in a plain OAuth 2.0 request")
        return authorized

    def token(self, form: Mapping[str, str], **_: Any) -> HttpResponse:
        expect((form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET), "client_secret_post")
        if form.get("grant_type") == "refresh_token":
            expect(form.get("refresh_token") in self.refresh_tokens, "unknown or spent refresh token")
            self.refresh_tokens.discard(form["refresh_token"])
        else:
            self.redeem(form)
        refresh_token = secrets.token_urlsafe(24)
        self.refresh_tokens.add(refresh_token)
        access_token = self.signed("access_token", self.access_token_claims())
        return self.token_answer({"access_token": access_token, "token_type": "Bearer", "expires_in": 600,
                                  "refresh_token": refresh_token})  # fmt: skip

    def access_token_claims(self) -> dict[str, Any]:
        return {
            "iss": self.issuer, "sub": self.subject, "aud": CLIENT_ID, "client_id": CLIENT_ID, "iat": self.now,
            "exp": self.now + 600, "jti": secrets.token_urlsafe(8), "scope": " ".join(SCOPES),
            "permissions": PERMISSIONS, "name": PERSON_NAME, "email": "alice@example.com",
        }  # fmt: skip

    def revoke(self, form: Mapping[str, str], **_: Any) -> HttpResponse:
        expect((form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET), "client_secret_post")
        self.revoked.append(form.get("token", ""))
        self.refresh_tokens.discard(form.get("token", ""))
        return HttpResponse(200, {}, b"")


class OAuth2UserUpstream(Upstream):
    kind, issuer, subject = "oauth2-user", "https://git.example", "4242"
    subject_token = person_document = "user"
    subject_claim = "id"
    provider_type = "oauth2"
    artifacts = ("user",)
    someone_else: ClassVar[Mapping[str, Any]] = {"id": 666}
    pkce = False

    def options(self) -> dict[str, Any]:
        return {
            "client_id": CLIENT_ID, "client_secret_arn": SECRET_ARN, "identity": "user_endpoint", "pkce": False,
            "authorization_endpoint": self.authorization_endpoint, "token_endpoint": f"{self.issuer}/login/token",
            "user_endpoint": f"{self.issuer}/api/user", "subject_claim": "id", "scopes": ["read:user"],
        }  # fmt: skip

    def make_signings(self) -> dict[str, Signing]:
        return {}

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/login/authorize"

    def serve_endpoints(self) -> None:
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.serve("token", "POST", f"{self.issuer}/login/token", self.token)
        self.serve("user", "GET", f"{self.issuer}/api/user", self.user)

    def authorization(self, location: str) -> Authorized:
        authorized = super().authorization(location)
        expect(authorized.code_challenge is None, "unknown parameter code_challenge")  # a strict server
        expect(authorized.nonce is None, "unknown parameter nonce")
        return authorized

    def token(self, form: Mapping[str, str], headers: Mapping[str, str], **_: Any) -> HttpResponse:
        basic = base64.b64encode(b"gateway-client:s3cret%3Awith%25chars").decode()
        expect(headers.get("Authorization") == f"Basic {basic}", "client_secret_basic")
        expect("code_verifier" not in form, "unknown parameter code_verifier")
        if form.get("grant_type") == "refresh_token":
            expect(form.get("refresh_token") in self.refresh_tokens, "unknown or spent refresh token")
            self.refresh_tokens.discard(form["refresh_token"])
        else:
            self.redeem(form)
        access_token, refresh_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access_tokens.add(access_token)
        self.refresh_tokens.add(refresh_token)
        return self.token_answer({"access_token": access_token, "token_type": "bearer", "scope": "read:user",
                                  "refresh_token": refresh_token})  # fmt: skip

    def user(self, headers: Mapping[str, str], **_: Any) -> HttpResponse:
        expect(headers.get("Authorization", "").removeprefix("Bearer ") in self.access_tokens, "access token")
        body = {"id": int(self.subject), "login": "alice", "name": PERSON_NAME, "email": "alice@example.com"}
        return json_response(overridden(body, self.claim_overrides("user")))


class OAuth2IntrospectionUpstream(Upstream):
    """An RFC 7662 server: configured endpoints, ``private_key_jwt``, an opaque access token the gateway asks the
    server about, and RFC 7009 revocation."""

    kind, issuer, subject = "oauth2-introspection", "https://sso.example", "u-1001"
    subject_token = person_document = "introspection"
    provider_type = "oauth2"
    artifacts = ("introspection",)
    someone_else: ClassVar[Mapping[str, Any]] = {"sub": "u-666"}

    def options(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer, "client_id": CLIENT_ID, "client_auth": "private_key_jwt",
            "signing_key_arn": EC_SIGNING_ARN, "assertion_audience": "issuer", "identity": "introspection",
            "authorization_endpoint": self.authorization_endpoint, "token_endpoint": f"{self.issuer}/token",
            "introspection_endpoint": f"{self.issuer}/introspect", "revocation_endpoint": f"{self.issuer}/revoke",
            "permissions_claim": "roles",
        }  # fmt: skip

    def make_signings(self) -> dict[str, Signing]:
        return {}

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/authorize"

    def serve_endpoints(self) -> None:
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.revoked: list[str] = []
        self.serve("token", "POST", f"{self.issuer}/token", self.token)
        self.serve("introspection", "POST", f"{self.issuer}/introspect", self.introspect)
        self.serve("revocation", "POST", f"{self.issuer}/revoke", self.revoke)

    def token(self, form: Mapping[str, str], **_: Any) -> HttpResponse:
        check_assertion(form, self.issuer, 120, self.now)
        if form.get("grant_type") == "refresh_token":
            expect(form.get("refresh_token") in self.refresh_tokens, "unknown or spent refresh token")
            self.refresh_tokens.discard(form["refresh_token"])
        else:
            self.redeem(form)
        access_token, refresh_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access_tokens.add(access_token)
        self.refresh_tokens.add(refresh_token)
        return self.token_answer({"access_token": access_token, "token_type": "Bearer", "expires_in": 600,
                                  "refresh_token": refresh_token})  # fmt: skip

    def introspect(self, form: Mapping[str, str], **_: Any) -> HttpResponse:
        check_assertion(form, self.issuer, 120, self.now)
        expect(form.get("token_type_hint") == "access_token", "token_type_hint")
        if form.get("token") not in self.access_tokens:
            return json_response({"active": False})
        body = {
            "active": True, "iss": self.issuer, "sub": self.subject, "client_id": CLIENT_ID, "scope": "profile",
            "exp": self.now + 600, "iat": self.now, "roles": ["staff"], "name": PERSON_NAME,
            "username": "alice",
        }  # fmt: skip
        return json_response(overridden(body, self.claim_overrides("introspection")))

    def revoke(self, form: Mapping[str, str], **_: Any) -> HttpResponse:
        check_assertion(form, self.issuer, 120, None)  # logout signs by the wall clock
        self.revoked.append(form.get("token", ""))
        self.refresh_tokens.discard(form.get("token", ""))
        return HttpResponse(200, {}, b"")
