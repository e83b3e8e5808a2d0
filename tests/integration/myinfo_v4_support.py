"""What the MyInfo v4 emulator tests share: client keys, a local JWKS server, compact JWS signing, personas."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from infra.sandbox.stack import ROOT

PERSONAS: dict[str, dict[str, Any]] = json.loads(
    (ROOT / "node_modules" / "@opengovsg" / "mockpass" / "static" / "myinfo" / "v3.json").read_text()
)["personas"]
PERSONA = "S9812381D"


def persona_uuid(nric: str) -> str:
    uuid: str = PERSONAS[nric]["uuid"]["value"]
    return uuid


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jose_header(compact: str) -> dict[str, Any]:
    """The protected header of a compact JWS or JWE, unverified."""
    first = compact.split(".")[0]
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))
    return header


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    size = (key.curve.key_size + 7) // 8
    crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[key.curve.name]
    return {
        "kty": "EC",
        "crv": crv,
        "x": b64url(numbers.x.to_bytes(size, "big")),
        "y": b64url(numbers.y.to_bytes(size, "big")),
    }


def private_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    size = (key.curve.key_size + 7) // 8
    return {**public_jwk(key), "d": b64url(key.private_numbers().private_value.to_bytes(size, "big"))}


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 SHA-256 thumbprint of an EC key."""
    members = json.dumps({name: jwk[name] for name in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    return b64url(hashlib.sha256(members.encode()).digest())


def sign(header: dict[str, Any], claims: dict[str, Any], key: ec.EllipticCurvePrivateKey | bytes) -> str:
    """A compact JWS exactly as given: ES256/ES384 with an EC key, HS256 with bytes (for wrong-alg tests)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}".encode()
    if isinstance(key, bytes):
        mac = hmac.HMAC(key, hashes.SHA256())
        mac.update(signing_input)
        signature = mac.finalize()
    else:
        size = (key.curve.key_size + 7) // 8
        digest = hashes.SHA256() if size == 32 else hashes.SHA384()
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(digest)))
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return f"{signing_input.decode()}.{b64url(signature)}"


def new_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The private key as SEC1 PEM ("BEGIN EC PRIVATE KEY"), as the official demo app keeps its keys."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


@dataclass
class ClientKeys:
    """A MyInfo v4 client's ES256 signing key and ECDH-ES encryption key, published with kid = thumbprint."""

    sig: ec.EllipticCurvePrivateKey = field(default_factory=new_key)
    enc: ec.EllipticCurvePrivateKey = field(default_factory=new_key)

    @property
    def sig_kid(self) -> str:
        return thumbprint(public_jwk(self.sig))

    @property
    def enc_kid(self) -> str:
        return thumbprint(public_jwk(self.enc))

    def jwks(self) -> list[dict[str, str]]:
        return [
            {**public_jwk(self.sig), "kid": self.sig_kid, "use": "sig", "alg": "ES256"},
            {**public_jwk(self.enc), "kid": self.enc_kid, "use": "enc", "alg": "ECDH-ES+A256KW"},
        ]


class JwksServer:
    """Serves a client's JWKS at <origin>/jwks (and without enc keys at /jwks-sig-only); counts fetches.

    `keys` may be changed while it runs (a key rotation)."""

    def __init__(self, keys: list[dict[str, str]]) -> None:
        self.keys = keys
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                keys = {
                    "/jwks": server.keys,
                    "/jwks-sig-only": [key for key in server.keys if key.get("use") != "enc"],
                }.get(self.path)
                body = json.dumps({"keys": keys}).encode()
                self.send_response(404 if keys is None else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._http.server_address[1]}"
        self.url = f"{self.origin}/jwks"

    @contextlib.contextmanager
    def running(self) -> Iterator[JwksServer]:
        thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._http.shutdown()
            self._http.server_close()
            thread.join()
