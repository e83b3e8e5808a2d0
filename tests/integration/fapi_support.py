"""A bare FAPI 2.0 client for the sandbox's Singpass-like server: it signs client assertions with the stack's own
Singpass signing key (in the sandbox's KMS, as the gateway does) and DPoP proofs with a key of its own, so tests can
send the server requests the gateway never would."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from infra.sandbox.browser import provider_redirect, query
from infra.sandbox.stack import Sandbox
from tests.integration.myinfo_v4_support import b64url, public_jwk, sign

LOGIN_CLIENT, MYINFO_CLIENT = "sandbox-singpass-client", "sandbox-singpass-myinfo-client"
REDIRECT = {LOGIN_CLIENT: "sp", MYINFO_CLIENT: "sp-data"}


@dataclass
class FapiClient:
    sandbox: Sandbox
    client_id: str
    dpop_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    nonce: str | None = None

    @property
    def redirect_uri(self) -> str:
        return f"{self.sandbox.url}/auth/{REDIRECT[self.client_id]}/callback"

    def assertion(self) -> str:
        """A private_key_jwt client assertion signed by the Singpass signing key in KMS (ES256, aud = issuer)."""
        key_id = self.sandbox.resources["SingpassSigningKey"]["KeyId"]
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self.sandbox.fapi_url, "iat": now}
        claims |= {"exp": now + 60, "jti": secrets.token_urlsafe(16)}
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
        url = self.sandbox.fapi_url + path
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
        response: requests.Response = self.send("POST", "/par", data)
        return response

    def access_token(self, scope: str, **extra: str) -> str:
        """A whole login up to the token call (the server logs the sandbox persona in by itself)."""
        pushed = self.par(scope, **extra)
        assert pushed.status_code == 201, pushed.text
        request_uri = pushed.json()["request_uri"]
        callback = provider_redirect(
            f"{self.sandbox.fapi_url}/auth?client_id={self.client_id}&request_uri={request_uri}"
        )
        data = {
            "grant_type": "authorization_code",
            "code": query(callback)["code"],
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.verifier,
            "client_id": self.client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self.assertion(),
        }
        token = self.send("POST", "/token", data)
        assert token.status_code == 200, token.text
        access_token: str = token.json()["access_token"]
        return access_token


def _json(value: dict[str, Any]) -> bytes:
    import json

    return json.dumps(value, separators=(",", ":")).encode()
