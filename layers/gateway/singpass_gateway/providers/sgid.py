"""sgID v2: OIDC authorization code with PKCE and ``client_secret_post``; userinfo fields JWE-encrypted.

The person data arrives as ``{sub, key, data}``: ``key`` is a JWE of a symmetric JWK encrypted to the client's
RSA key, and each ``data`` field is a JWE under that symmetric key. ID-token checks cover at least those of the
official SDKs: RS256 only, iss, aud, exp, iat, nonce and sub, signature against the cached JWKS (refetched once
on an unknown key), ``at_hash`` when present (as the TS SDK's openid-client checks it), plus the userinfo
``sub`` equal to the ID token's. A callback whose RFC 9207 ``iss`` names another issuer is refused before the
code is spent.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from ..errors import ConfigurationError, InvalidToken
from ..settings import ProviderSettings
from . import Authorization, AuthorizationRequest, Callback, Identity, Options, Toolkit, oauth

DEFAULT_ISSUER = "https://api.id.gov.sg/v2"
ID_TOKEN_ALGORITHMS = ("RS256",)
CONTENT_ENCRYPTIONS = ("A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512")
KEY_JWE_ALGORITHMS = ("RSA-OAEP", "RSA-OAEP-256", *CONTENT_ENCRYPTIONS)
"""The production algorithms are not published: accept both OAEP variants (never RSA1_5)."""
DATA_JWE_ALGORITHMS = ("dir", "A128KW", "A256KW", "A128GCMKW", "A256GCMKW", *CONTENT_ENCRYPTIONS)
MAX_DATA_FIELDS = 64


def create(entry: ProviderSettings, toolkit: Toolkit) -> SgidProvider:
    options = Options(entry, {"issuer", "client_id", "client_secret_arn", "decryption_key_arn", "scopes"})
    scopes = options.strings("scopes", ("openid", "myinfo.name"))
    if "openid" not in scopes:
        raise ConfigurationError(f"provider {entry.id}: sgID scopes must include 'openid'")
    return SgidProvider(
        entry,
        toolkit,
        issuer=options.url("issuer", DEFAULT_ISSUER),
        client_id=options.string("client_id"),
        client_secret_arn=options.arn("client_secret_arn"),
        decryption_key_arn=options.arn("decryption_key_arn"),
        scopes=scopes,
    )


class SgidProvider:
    def __init__(
        self,
        entry: ProviderSettings,
        toolkit: Toolkit,
        *,
        issuer: str,
        client_id: str,
        client_secret_arn: str,
        decryption_key_arn: str,
        scopes: tuple[str, ...],
    ) -> None:
        self.id = entry.id
        self.name = entry.name
        self._toolkit = toolkit
        self._issuer = issuer
        self._client_id = client_id
        self._client_secret_arn = client_secret_arn
        self._decryption_key = toolkit.key(decryption_key_arn)
        self._scopes = scopes

    def authorize(self, request: AuthorizationRequest) -> Authorization:
        query = {
            "response_type": "code",
            "client_id": self._client_id,
            "redirect_uri": request.redirect_uri,
            "scope": " ".join(self._scopes),
            "state": request.state,
            "nonce": request.nonce,
            "code_challenge": request.code_challenge,
            "code_challenge_method": "S256",
        }
        return Authorization(f"{self._issuer}/oauth/authorize?{urlencode(query)}")

    def complete(self, callback: Callback) -> Identity:
        from .. import jose

        oauth.check_issuer_parameter(callback.params, self._issuer, required=False)  # sgID does not promise it
        tokens = self._exchange_code(callback)
        policy = jose.IdTokenPolicy(
            issuer=self._issuer,
            client_id=self._client_id,
            jwks_url=f"{self._issuer}/.well-known/jwks.json",
            algorithms=ID_TOKEN_ALGORITHMS,
        )
        claims = jose.verify_id_token(
            tokens["id_token"], policy, self._toolkit.jwks, callback.nonce, callback.now, tokens["access_token"]
        )
        userinfo = self._userinfo(tokens["access_token"])
        if userinfo.get("sub") != claims["sub"]:
            raise InvalidToken("userinfo sub differs from the ID token's sub")
        return Identity(sub=claims["sub"], person=self._decrypt_person(userinfo))

    def _exchange_code(self, callback: Callback) -> dict[str, str]:
        response = self._toolkit.http.post_form(
            f"{self._issuer}/oauth/token",
            {
                "grant_type": "authorization_code",
                "client_id": self._client_id,
                "client_secret": self._toolkit.secrets.get(self._client_secret_arn),
                "redirect_uri": callback.redirect_uri,
                "code": callback.code,
                "code_verifier": callback.code_verifier,
            },
            call="token",
        )
        body = oauth.token_response(response, require_id_token=True)
        return {"access_token": body["access_token"], "id_token": body["id_token"]}

    def _userinfo(self, access_token: str) -> dict[str, Any]:
        response = self._toolkit.http.get(
            f"{self._issuer}/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"}, call="userinfo"
        )
        return oauth.json_object(response, "userinfo")

    def _decrypt_person(self, userinfo: dict[str, Any]) -> dict[str, Any]:
        from .. import jose

        encrypted_key, data = userinfo.get("key"), userinfo.get("data")
        if encrypted_key is None and not data:
            return {}  # only "openid" was requested
        if not isinstance(encrypted_key, str) or not isinstance(data, dict) or len(data) > MAX_DATA_FIELDS:
            raise InvalidToken("userinfo key/data malformed")
        block_key = _block_key(jose.decrypt_with_private_key(encrypted_key, self._decryption_key, KEY_JWE_ALGORITHMS))
        person: dict[str, Any] = {}
        for name, token in data.items():
            if not isinstance(token, str):
                raise InvalidToken("userinfo data field is not a JWE")
            plaintext = jose.decrypt_with_symmetric_jwk(token, block_key, DATA_JWE_ALGORITHMS)
            try:
                person[name] = parse_value(plaintext.decode("utf-8", errors="strict"))
            except UnicodeDecodeError:
                raise InvalidToken("userinfo data field is not UTF-8") from None
        return person


def parse_value(raw: str) -> Any:
    """sgID field values are strings: ``NA`` means not available; lists and objects arrive JSON-encoded."""
    if raw == "NA":
        return None
    if raw[:1] in ("[", "{"):
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser's limit
            return raw
    return raw


def _block_key(plaintext: bytes) -> dict[str, Any]:
    """The symmetric JWK. The official Python SDK also accepts it with single quotes, so this does too."""
    from .. import jose

    text = plaintext.decode("utf-8", errors="replace")
    try:
        return jose.parse_json_object(text, "userinfo key")
    except InvalidToken:
        return jose.parse_json_object(text.replace("'", '"'), "userinfo key")
