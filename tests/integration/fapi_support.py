"""A bare FAPI 2.0 client for the sandbox's Singpass-like and Corppass-like servers: it signs client assertions with
the stack's own Singpass or Corppass signing key (in the sandbox's KMS, as the gateway does) and DPoP proofs with a key
of its own, so tests can send the servers requests the gateway never would."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from infra.sandbox.browser import provider_redirect, query
from infra.sandbox.stack import Sandbox
from tests.integration.myinfo_v4_support import b64url, public_jwk, sign

LOGIN_CLIENT, MYINFO_CLIENT = "sandbox-singpass-client", "sandbox-singpass-myinfo-client"
CORPPASS_LOGIN_CLIENT, CORPPASS_MIB_CLIENT = "sandbox-corppass-client", "sandbox-corppass-mib-client"
REDIRECT = {LOGIN_CLIENT: "sp", MYINFO_CLIENT: "sp-data", CORPPASS_LOGIN_CLIENT: "cp", CORPPASS_MIB_CLIENT: "cp-data"}


@dataclass(frozen=True)
class FapiServer:
    """Where one of the sandbox's FAPI servers is and which stack key its clients sign with."""

    url_attribute: str
    signing_key: str
    par: str
    authorize: str
    token: str
    userinfo: str = "/userinfo"
    base_url: str | None = None
    """The server's URL when it is not the sandbox's own (``url_attribute``)."""

    def url(self, sandbox: Sandbox) -> str:
        url: str = self.base_url or getattr(sandbox, self.url_attribute)
        return url


SINGPASS = FapiServer("fapi_url", "SingpassSigningKey", "/par", "/auth", "/token")
CORPPASS = FapiServer(
    "corppass_url",
    "CorppassSigningKey",
    "/request",
    "/mga/sps/oauth/oauth20/authorize",
    "/mga/sps/oauth/oauth20/token",
)
"""Corppass's paths (the gateway reads them from discovery; this bare client knows them)."""


@dataclass
class FapiClient:
    sandbox: Sandbox
    client_id: str
    server: FapiServer = SINGPASS
    dpop_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    nonce: str | None = None
    assertion_claims: dict[str, Any] = field(default_factory=dict)
    """Claims that replace the well-formed assertion's (e.g. another ``aud``), for tests of refusals."""

    @property
    def issuer(self) -> str:
        return self.server.url(self.sandbox)

    @property
    def redirect_uri(self) -> str:
        return f"{self.sandbox.url}/auth/{REDIRECT[self.client_id]}/callback"

    def assertion(self) -> str:
        """A private_key_jwt client assertion signed by the server's signing key in KMS (ES256, aud = issuer)."""
        key_id = self.sandbox.resources[self.server.signing_key]["KeyId"]
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self.issuer, "iat": now}
        claims |= {"exp": now + 60, "jti": secrets.token_urlsafe(16), **self.assertion_claims}
        header = {"alg": "ES256", "typ": "JWT", "kid": key_id}
        signing_input = f"{b64url(_json(header))}.{b64url(_json(claims))}"
        der = self.sandbox.aws_client("kms").sign(
            KeyId=key_id, Message=signing_input.encode(), MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"
        )["Signature"]
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def dpop(self, method: str, url: str, access_token: str | None = None) -> str:
        claims: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": int(time.time())}
        if self.nonce:
            claims["nonce"] = self.nonce
        if access_token:
            claims["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
        return sign({"alg": "ES256", "typ": "dpop+jwt", "jwk": public_jwk(self.dpop_key)}, claims, self.dpop_key)

    def send(self, method: str, path: str, data: dict[str, str] | None = None, token: str | None = None) -> Any:
        """A DPoP-proven request, retried once with the server's nonce when it asks for one (with a fresh client
        assertion: Singpass, and the server, take each assertion's jti once)."""
        url = self.issuer + path
        for _ in range(2):
            if data and "client_assertion" in data:
                data = {**data, "client_assertion": self.assertion()}
            headers = {"DPoP": self.dpop(method, url, token)}
            if token:
                headers["Authorization"] = f"DPoP {token}"
            response = requests.request(method, url, data=data, headers=headers, allow_redirects=False, timeout=30)
            self.nonce = response.headers.get("DPoP-Nonce", self.nonce)
            if "use_dpop_nonce" not in response.text and 'error="use_dpop_nonce"' not in str(response.headers):
                return response
        return response

    def par(self, scope: str, **extra: str) -> requests.Response:
        """A pushed authorization request with ``extra`` parameters (e.g. authentication_context_type)."""
        self.verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        data = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope,
            "state": secrets.token_urlsafe(32),
            "nonce": secrets.token_urlsafe(32),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self.assertion(),
            **extra,
        }
        response: requests.Response = self.send("POST", self.server.par, data)
        return response

    def access_token(self, scope: str, **extra: str) -> str:
        """A whole login up to the token call (the server logs the sandbox persona in by itself)."""
        access_token: str = self.tokens(scope, **extra)["access_token"]
        return access_token

    def tokens(self, scope: str, **extra: str) -> dict[str, Any]:
        """A whole login up to the token call; the token response."""
        token = self.exchange(self.authorization_code(scope, **extra))
        assert token.status_code == 200, token.text
        answer: dict[str, Any] = token.json()
        return answer

    def authorization_code(self, scope: str, **extra: str) -> str:
        """A pushed request and the authorization that follows (the server logs someone in by itself): the code."""
        pushed = self.par(scope, **extra)
        assert pushed.status_code == 201, pushed.text
        request_uri = pushed.json()["request_uri"]
        callback = provider_redirect(
            f"{self.issuer}{self.server.authorize}?client_id={self.client_id}&request_uri={request_uri}"
        )
        return query(callback)["code"]

    def exchange(self, code: str, redirect_uri: str | None = None) -> requests.Response:
        """The token request for ``code`` (with the PAR's verifier and this client's current DPoP key)."""
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or self.redirect_uri,
            "code_verifier": self.verifier,
            "client_id": self.client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self.assertion(),
        }
        response: requests.Response = self.send("POST", self.server.token, data)
        return response


def _json(value: dict[str, Any]) -> bytes:
    import json

    return json.dumps(value, separators=(",", ":")).encode()


@dataclass(frozen=True)
class SandboxKmsKey:
    """One of the stack's KMS keys in the sandbox's moto, as the gateway's key interface (for decrypting in tests)."""

    sandbox: Sandbox
    key_id: str

    @property
    def reference(self) -> str:
        return self.key_id

    def ecdh(self, peer: ec.EllipticCurvePublicKey) -> bytes:
        der = peer.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        secret: bytes = self.sandbox.aws_client("kms").derive_shared_secret(
            KeyId=self.key_id, KeyAgreementAlgorithm="ECDH", PublicKey=der
        )["SharedSecret"]
        return secret

    def public_key(self) -> Any:
        der = self.sandbox.aws_client("kms").get_public_key(KeyId=self.key_id)["PublicKey"]
        return serialization.load_der_public_key(der)

    def sign(self, message: bytes, alg: str) -> bytes:
        raise NotImplementedError

    def rsa_decrypt(self, ciphertext: bytes, oaep_hash: Any) -> bytes:
        raise NotImplementedError


def decrypted_claims(sandbox: Sandbox, token: str, decryption_key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A JWE(JWS) a FAPI server encrypted to one of the stack's KMS keys (by logical id): the JWE's protected
    header, and the JWS's claims (its signature is not checked here: the gateway's tests do that)."""
    import json

    from singpass_gateway.jose.jwe import decrypt_nested_jws

    key = SandboxKmsKey(sandbox, sandbox.resources[decryption_key]["KeyId"])
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    jws = decrypt_nested_jws(token, key, ["ECDH-ES+A256KW", "A256GCM", "A256CBC-HS512"])  # type: ignore[arg-type]
    assert json.loads(base64.urlsafe_b64decode(jws.split(".")[0] + "=="))["alg"] == "ES256"
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(jws.split(".")[1] + "=="))
    return header, claims
