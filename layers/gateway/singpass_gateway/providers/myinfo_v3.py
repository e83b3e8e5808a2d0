"""MyInfo v3: OAuth 2.0 with every call signed (``PKI_SIGN``) and the person data a JWS inside a JWE.

Each call to the token and person endpoints carries an ``Authorization: PKI_SIGN ...`` header: an RS256
signature over ``METHOD&URL&sorted-params`` (millisecond timestamp, fresh nonce, values unescaped), made with
the key behind the certificate registered with MyInfo. The access token is an RS256 JWT signed by MyInfo whose
``sub`` is the person's UIN/FIN; the person response is a JWE to that same certificate's key, wrapping an RS256
JWS by MyInfo (a quoted JSON string in production, a bare one in MockPass: both are accepted).

MyInfo's own sandbox environment has neither signatures nor encryption. It is an explicit setting
(``environment: sandbox``), never a fallback: a plain answer from the test or production environment is refused.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from ..errors import ConfigurationError, InvalidToken
from ..observability import logger
from ..settings import ProviderSettings
from . import Authorization, AuthorizationRequest, Callback, Identity, Options, Toolkit, myinfo, oauth

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

    from ..keys import PrivateKey

ENVIRONMENTS = {
    "production": "https://api.myinfo.gov.sg/com/v3",
    "test": "https://test.api.myinfo.gov.sg/com/v3",
    "sandbox": "https://sandbox.api.myinfo.gov.sg/com/v3",
}
"""Commercial API bases; government services set ``api_url`` to the ``/gov/v3`` base and ``sp_esvc_id``."""
SIGNATURE_ALGORITHMS = ("RS256",)
PERSON_JWE_ALGORITHMS = (
    "RSA-OAEP",
    "RSA-OAEP-256",
    "A128GCM",
    "A192GCM",
    "A256GCM",
    "A128CBC-HS256",
    "A192CBC-HS384",
    "A256CBC-HS512",
)
"""MockPass sends RSA-OAEP with A256GCM; production's choice is not published. Never RSA1_5."""
IDENTIFYING_ATTRIBUTES = ("uinfin", "uuid")
"""What v3's ``sub`` can be: the UIN/FIN, or for some apps a UUID."""
MAX_SUB_LENGTH = 64

OPTIONS = {
    "environment",
    "api_url",
    "client_id",
    "client_secret_arn",
    "signing_key_arn",
    "decryption_key_arn",
    "myinfo_certificates",
    "attributes",
    "purpose",
    "authmode",
    "login_type",
    "app_launch_url",
    "sp_esvc_id",
    "subentity",
    "send_txn_no",
}


def create(entry: ProviderSettings, toolkit: Toolkit) -> MyInfoV3Provider:
    options = Options(entry, OPTIONS)
    environment = options.choice("environment", tuple(ENVIRONMENTS), "production")
    signed = environment != "sandbox"
    return MyInfoV3Provider(
        entry,
        toolkit,
        api_url=options.optional_url("api_url") or ENVIRONMENTS[environment],
        client_id=options.string("client_id"),
        client_secret_arn=options.arn("client_secret_arn"),
        signing_key_arn=options.arn("signing_key_arn") if signed else None,
        decryption_key_arn=options.arn("decryption_key_arn") if signed else None,
        certificates=_certificates(entry, options, required=signed),
        attributes=options.strings("attributes", ("name",)),
        purpose=options.string("purpose"),
        authorise_extras={
            name: value
            for name, value in (
                ("authmode", options.optional_string("authmode")),
                ("login_type", options.optional_string("login_type")),
                ("appLaunchURL", options.optional_string("app_launch_url")),
                ("sp_esvcId", options.optional_string("sp_esvc_id")),
            )
            if value is not None
        },
        person_extras={
            name: value
            for name, value in (
                ("sp_esvcId", options.optional_string("sp_esvc_id")),
                ("subentity", options.optional_string("subentity")),
            )
            if value is not None
        },
        send_txn_no=options.boolean("send_txn_no", False),
    )


class MyInfoV3Provider:
    def __init__(
        self,
        entry: ProviderSettings,
        toolkit: Toolkit,
        *,
        api_url: str,
        client_id: str,
        client_secret_arn: str,
        signing_key_arn: str | None,
        decryption_key_arn: str | None,
        certificates: Sequence[PublicKeyTypes],
        attributes: Sequence[str],
        purpose: str,
        authorise_extras: Mapping[str, str],
        person_extras: Mapping[str, str],
        send_txn_no: bool,
    ) -> None:
        self.id = entry.id
        self.name = entry.name
        self._toolkit = toolkit
        self._api_url = api_url
        self._client_id = client_id
        self._client_secret_arn = client_secret_arn
        self._signing_key = toolkit.key(signing_key_arn) if signing_key_arn else None
        self._decryption_key = toolkit.key(decryption_key_arn) if decryption_key_arn else None
        self._certificates = tuple(certificates)
        self._attributes = tuple(attributes)
        self._purpose = purpose
        self._authorise_extras = dict(authorise_extras)
        self._person_extras = dict(person_extras)
        self._send_txn_no = send_txn_no

    def authorize(self, request: AuthorizationRequest) -> Authorization:
        query = {
            "client_id": self._client_id,
            "attributes": ",".join(self._attributes),
            "purpose": self._purpose,
            "state": request.state,
            "redirect_uri": request.redirect_uri,
            "response_type": "code",
            **self._authorise_extras,
        }
        return Authorization(f"{self._api_url}/authorise?{_query(query)}")

    def complete(self, callback: Callback) -> Identity:
        access_token = self._exchange_code(callback)
        sub, consented = self._verify_access_token(access_token, callback.now)
        return myinfo.identity(sub, self._person(access_token, sub, consented), IDENTIFYING_ATTRIBUTES)

    def _exchange_code(self, callback: Callback) -> str:
        url = f"{self._api_url}/token"
        form = {
            "grant_type": "authorization_code",
            "code": callback.code,
            "redirect_uri": callback.redirect_uri,
            "client_id": self._client_id,
            "client_secret": self._toolkit.secrets.get(self._client_secret_arn),
        }
        headers = {"Cache-Control": "no-cache"}
        if self._signing_key is not None:
            headers["Authorization"] = self._pki_sign(self._signing_key, "POST", url, form)
        response = self._toolkit.http.post_form(url, form, headers=headers, call="token")
        myinfo.raise_for_status(response, "token")
        token: str = oauth.token_response(response, require_id_token=False)["access_token"]
        return token

    def _verify_access_token(self, token: str, now: int) -> tuple[str, tuple[str, ...]]:
        """The person's UIN/FIN (``sub``) and the attributes they consented to, from MyInfo's signed token."""
        from .. import jose

        if self._certificates:
            claims = jose.verify_with_public_keys(token, self._certificates, SIGNATURE_ALGORITHMS)
        else:  # MyInfo's sandbox environment, whose signing certificate is not published
            claims = _unverified_claims(token)
        return myinfo.access_token_subject(claims, now, MAX_SUB_LENGTH), self._consented(claims.get("scope"))

    def _consented(self, scope: object) -> tuple[str, ...]:
        """The configured attributes the token grants (MyInfo refuses a person call asking for more)."""
        granted = scope.split() if isinstance(scope, str) else scope
        if not isinstance(granted, list):
            return self._attributes
        consented = tuple(name for name in self._attributes if name in granted)
        if not consented:
            raise InvalidToken("the access token grants none of the configured attributes")
        return consented

    def _person(self, access_token: str, sub: str, attributes: tuple[str, ...]) -> object:
        url = f"{self._api_url}/person/{quote(sub, safe='')}"
        query = {"client_id": self._client_id, "attributes": ",".join(attributes), **self._person_extras}
        if self._send_txn_no:
            query["txnNo"] = secrets.token_hex(10)
            logger.info("MyInfo person requested", extra={"provider": self.id, "txn_no": query["txnNo"]})
        authorization = f"Bearer {access_token}"
        if self._signing_key is not None:
            authorization = f"{self._pki_sign(self._signing_key, 'GET', url, query)},{authorization}"
        headers = {"Authorization": authorization, "Cache-Control": "no-cache"}
        # single use: the request carries its PKI_SIGN nonce
        response = self._toolkit.http.get(f"{url}?{_query(query)}", headers, call="person", single_use=True)
        myinfo.raise_for_status(response, "person")
        if self._decryption_key is None:
            return response.json()
        return self._decrypted_person(myinfo.compact_jwe(response), self._decryption_key)

    def _decrypted_person(self, token: str, key: PrivateKey) -> dict[str, Any]:
        from .. import jose

        limit = jose.MAX_DOCUMENT_BYTES
        plaintext = jose.decrypt_with_private_key(token, key, PERSON_JWE_ALGORITHMS, limit)
        return jose.verify_with_public_keys(_signed_person(plaintext), self._certificates, SIGNATURE_ALGORITHMS, limit)

    def _pki_sign(self, key: PrivateKey, method: str, url: str, params: Mapping[str, str]) -> str:
        return pki_authorization(
            key,
            method=method,
            url=url,
            params=params,
            app_id=self._client_id,
            timestamp_ms=time.time_ns() // 1_000_000,
            nonce=secrets.token_hex(20),
        )


def pki_base_string(method: str, url: str, params: Mapping[str, str]) -> str:
    """``METHOD&URL&k=v&...``: parameters sorted by name and joined unescaped, as MyInfo recomputes it.

    ``url`` is exactly the URL called, without its query (whose parameters are in ``params``).
    """
    joined = "&".join(f"{name}={params[name]}" for name in sorted(params))
    return f"{method.upper()}&{url}&{joined}"


def pki_authorization(
    key: PrivateKey,
    *,
    method: str,
    url: str,
    params: Mapping[str, str],
    app_id: str,
    timestamp_ms: int,
    nonce: str,
) -> str:
    """The ``PKI_SIGN`` Authorization value: RS256 over the base string, standard base64 with padding.

    No spaces after the commas: MockPass (like the official connector's format) splits on them.
    """
    fields = {"app_id": app_id, "nonce": nonce, "signature_method": "RS256", "timestamp": str(timestamp_ms)}
    base_string = pki_base_string(method, url, {**params, **fields})
    signature = base64.b64encode(key.sign(base_string.encode("utf-8"), "RS256")).decode("ascii")
    return (
        f'PKI_SIGN timestamp="{timestamp_ms}",nonce="{nonce}",app_id="{app_id}",'
        f'signature_method="RS256",signature="{signature}"'
    )


def _certificates(entry: ProviderSettings, options: Options, *, required: bool) -> list[PublicKeyTypes]:
    """MyInfo's signing certificates: one, or two while MyInfo rotates; optional only in its sandbox."""
    if not entry.options.get("myinfo_certificates"):
        if required:
            raise ConfigurationError(f"provider {entry.id}: 'myinfo_certificates' is required outside the sandbox")
        return []
    return [load_certificate(text, entry.id) for text in options.strings("myinfo_certificates", ())]


def load_certificate(text: str, provider_id: str) -> PublicKeyTypes:
    """A MyInfo certificate's public key, from PEM or from bare base64 DER (which fits a template parameter)."""
    from cryptography import x509

    try:
        if "-----BEGIN CERTIFICATE-----" in text:
            return x509.load_pem_x509_certificate(text.replace("\\n", "\n").encode()).public_key()
        return x509.load_der_x509_certificate(base64.b64decode("".join(text.split()), validate=True)).public_key()
    except ValueError:
        raise ConfigurationError(f"provider {provider_id}: a MyInfo certificate is not PEM or base64 DER") from None


def _signed_person(plaintext: bytes) -> str:
    """The compact JWS in the decrypted payload: a JSON string literal (production) or bare (MockPass)."""
    text = plaintext.decode("ascii", errors="replace").strip()
    if text.startswith('"'):
        try:
            text = json.loads(text)
        except ValueError:
            raise InvalidToken("person payload is a malformed JSON string") from None
        if not isinstance(text, str):
            raise InvalidToken("person payload is not a JWS")
    if text.count(".") != 2:
        raise InvalidToken("person payload is not a compact JWS")
    return text


def _unverified_claims(token: str) -> dict[str, Any]:
    """The sandbox's access-token claims, unverified (the sandbox environment publishes no certificate)."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidToken("access token is not a JWT") from None
    if not isinstance(claims, dict):
        raise InvalidToken("access token claims are not an object")
    return claims


def _query(params: Mapping[str, str]) -> str:
    """A query string with commas left as they are: MyInfo wants ``name,sex``, not ``name%2Csex``."""
    return urlencode(params, safe=",", quote_via=quote)
