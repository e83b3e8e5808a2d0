"""MyInfo v4: OAuth 2.1 with PKCE, an ES256 client assertion, DPoP-bound tokens, and person data as JWS in JWE.

At the callback, one ephemeral P-256 key (made in the invocation, never stored) signs the DPoP proofs of the
token call and the person call: the access token is bound to it (``cnf.jkt``), and the client assertion names
it too. The assertion is signed by the gateway's key (KMS or PEM) whose public half MyInfo reads from the
client JWKS. The person response is a JWE (``ECDH-ES+A256KW``, ``A256GCM``) to one of the gateway's encryption
keys, picked by ``kid``, around an ES256 JWS verified against MyInfo's JWKS.

Keys rotate without downtime: publish the next key (``additional_signing_key_arns`` / a further entry of
``decryption_key_arns``), wait for MyInfo's JWKS cache, switch, then retire the old key.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from ..errors import InvalidToken
from ..settings import ProviderSettings
from . import Authorization, AuthorizationRequest, Callback, Identity, Options, Toolkit, myinfo, oauth

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

    from ..jose import IdTokenPolicy

ENVIRONMENTS = {
    "production": (
        "https://api.myinfo.gov.sg/com/v4",
        "https://authorise.singpass.gov.sg/.well-known/keys.json",
        "https://myinfo.singpass.gov.sg/.well-known/keys.json",
    ),
    "test": (
        "https://test.api.myinfo.gov.sg/com/v4",
        "https://test.authorise.singpass.gov.sg/.well-known/keys.json",
        "https://test.myinfo.singpass.gov.sg/.well-known/keys.json",
    ),
}
"""API base, the JWKS that verifies access tokens, and the JWKS that verifies person data, per environment."""
SIGNATURE_ALGORITHMS = ("ES256",)
PERSON_JWE_ALGORITHMS = ("ECDH-ES+A256KW", "A256GCM")
ASSERTION_LIFETIME_SECONDS = 300
MAX_SUB_LENGTH = 128

OPTIONS = {
    "environment",
    "api_url",
    "authorise_jwks_url",
    "myinfo_jwks_url",
    "client_id",
    "signing_key_arn",
    "additional_signing_key_arns",
    "decryption_key_arns",
    "scopes",
    "purpose_id",
    "subentity",
}


def create(entry: ProviderSettings, toolkit: Toolkit) -> MyInfoV4Provider:
    options = Options(entry, OPTIONS)
    api_url, authorise_jwks, myinfo_jwks = ENVIRONMENTS[
        options.choice("environment", tuple(ENVIRONMENTS), "production")
    ]
    return MyInfoV4Provider(
        entry,
        toolkit,
        api_url=options.optional_url("api_url") or api_url,
        authorise_jwks_url=options.optional_url("authorise_jwks_url") or authorise_jwks,
        myinfo_jwks_url=options.optional_url("myinfo_jwks_url") or myinfo_jwks,
        client_id=options.string("client_id"),
        signing_key_arn=options.arn("signing_key_arn"),
        additional_signing_key_arns=options.arns(
            "additional_signing_key_arns", required=False, current="signing_key_arn"
        ),
        decryption_key_arns=options.arns("decryption_key_arns", required=True),
        scopes=options.strings("scopes", ("uinfin", "name")),
        purpose_id=options.string("purpose_id"),
        subentity=options.optional_string("subentity"),
    )


class MyInfoV4Provider:
    def __init__(
        self,
        entry: ProviderSettings,
        toolkit: Toolkit,
        *,
        api_url: str,
        authorise_jwks_url: str,
        myinfo_jwks_url: str,
        client_id: str,
        signing_key_arn: str,
        additional_signing_key_arns: Sequence[str],
        decryption_key_arns: Sequence[str],
        scopes: Sequence[str],
        purpose_id: str,
        subentity: str | None,
    ) -> None:
        self.id = entry.id
        self.name = entry.name
        self._toolkit = toolkit
        self._api_url = api_url
        self._authorise_jwks_url = authorise_jwks_url
        self._myinfo_jwks_url = myinfo_jwks_url
        self._client_id = client_id
        self._signing_key = toolkit.key(signing_key_arn)
        self._published_signing_keys = [self._signing_key, *map(toolkit.key, additional_signing_key_arns)]
        self._decryption_keys = [toolkit.key(arn) for arn in decryption_key_arns]
        self._scopes = tuple(scopes)
        self._purpose_id = purpose_id
        self._subentity = subentity

    def authorize(self, request: AuthorizationRequest) -> Authorization:
        query = {
            "client_id": self._client_id,
            "scope": " ".join(self._scopes),
            "purpose_id": self._purpose_id,
            "redirect_uri": request.redirect_uri,
            "response_type": "code",
            "code_challenge": request.code_challenge,
            "code_challenge_method": "S256",
            "state": request.state,
        }
        return Authorization(f"{self._api_url}/authorize?{urlencode(query, quote_via=quote)}")

    def complete(self, callback: Callback) -> Identity:
        from .. import jose

        dpop_key = jose.new_dpop_key()  # lives only in this invocation; the token is bound to it
        access_token = self._exchange_code(callback, dpop_key)
        sub = self._verify_access_token(access_token, jose.jwk_thumbprint(dpop_key), callback.now)
        return myinfo.identity(sub, self._person(access_token, sub, dpop_key, callback.now), ("uuid",))

    def client_jwks(self) -> list[dict[str, Any]]:
        """Every signing key (the active one and those being introduced or retired) and every encryption key."""
        from .. import jose

        published = [(key, "sig", "ES256") for key in self._published_signing_keys]
        published += [(key, "enc", "ECDH-ES+A256KW") for key in self._decryption_keys]
        return [jose.published_jwk(key, use, alg) for key, use, alg in published]

    def _exchange_code(self, callback: Callback, dpop_key: ec.EllipticCurvePrivateKey) -> str:
        from .. import jose

        url = f"{self._api_url}/token"
        assertion = jose.sign_client_assertion(
            self._signing_key,
            {
                "iss": self._client_id,
                "sub": self._client_id,
                "aud": url,
                "jti": secrets.token_urlsafe(32),
                "iat": callback.now,
                "exp": callback.now + ASSERTION_LIFETIME_SECONDS,
                "cnf": {"jkt": jose.jwk_thumbprint(dpop_key)},
            },
        )
        form = {
            "grant_type": "authorization_code",
            "code": callback.code,
            "redirect_uri": callback.redirect_uri,
            "client_id": self._client_id,
            "code_verifier": callback.code_verifier,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        headers = {"DPoP": jose.dpop_proof(dpop_key, "POST", url, callback.now), "Cache-Control": "no-cache"}
        response = self._toolkit.http.post_form(url, form, headers=headers, call="token")
        myinfo.raise_for_status(response, "token")
        body = oauth.token_response(response, require_id_token=False, token_type="DPoP")  # noqa: S106 - a type
        token: str = body["access_token"]
        return token

    def _verify_access_token(self, token: str, thumbprint: str, now: int) -> str:
        """The person's MyInfo ``sub`` (a UUID, not the NRIC), once the token is MyInfo's, unexpired and ours."""
        from .. import jose

        claims = jose.verify_signed_jwt(token, self._policy(self._authorise_jwks_url), self._toolkit.jwks)
        sub = myinfo.access_token_subject(claims, now, MAX_SUB_LENGTH)
        confirmation = claims.get("cnf")
        if not isinstance(confirmation, dict) or confirmation.get("jkt") != thumbprint:
            raise InvalidToken("access token is not bound to this login's DPoP key")
        return sub

    def _person(self, access_token: str, sub: str, dpop_key: ec.EllipticCurvePrivateKey, now: int) -> object:
        from .. import jose

        url = f"{self._api_url}/person/{quote(sub, safe='')}"
        query = {"scope": " ".join(self._scopes)}
        if self._subentity:
            query["subentity"] = self._subentity
        headers = {
            "Authorization": f"DPoP {access_token}",
            "DPoP": jose.dpop_proof(dpop_key, "GET", url, now, access_token=access_token),
            "Cache-Control": "no-cache",
        }
        person_url = f"{url}?{urlencode(query, quote_via=quote)}"
        response = self._toolkit.http.get(person_url, headers, call="person", single_use=True)
        myinfo.raise_for_status(response, "person")
        token = myinfo.compact_jwe(response)
        limit = jose.MAX_DOCUMENT_BYTES
        key = jose.decryption_key_for(token, self._decryption_keys)
        signed = jose.decrypt_nested_jws(token, key, PERSON_JWE_ALGORITHMS, limit)
        return jose.verify_signed_jwt(signed, self._policy(self._myinfo_jwks_url), self._toolkit.jwks, limit)

    def _policy(self, jwks_url: str) -> IdTokenPolicy:
        from .. import jose

        return jose.IdTokenPolicy(
            issuer="", client_id=self._client_id, jwks_url=jwks_url, algorithms=SIGNATURE_ALGORITHMS
        )
