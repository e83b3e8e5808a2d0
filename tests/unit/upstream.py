"""A hostile-provider harness: one programmable fake upstream per provider type, honest until told otherwise.

Each upstream plays a correct provider on FakeHttp with real keys: discovery, PAR, token, userinfo or person,
and JWKS. It checks what a correct provider checks (PKCE, redirect_uri, client authentication, DPoP proofs), so
an honest login passes and any refusal is the gateway's own. ``misbehave`` then bends one answer:

    upstream = build("singpass")
    upstream.misbehave(id_token={"nonce": "wrong"})           # claims of an artifact (DROP removes one)
    upstream.misbehave(userinfo=Twist(signer="foreign-key"))  # how an artifact is signed, encrypted or packed
    upstream.misbehave(callback={"iss": DROP}, answer={"token": server_error})
    outcome = upstream.login()                                # a whole login through flows.Gateway
    assert outcome.error == "invalid_token" and outcome.sessions == 0

Artifacts are what a provider signs or encrypts: ``id_token``, ``access_token`` (MyInfo's, a JWT), ``userinfo``,
``person``, and sgID's ``userinfo_key`` and ``userinfo_data`` JWEs. Each upstream class names its own.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import hmac
import json
import re
import secrets
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlsplit

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from joserfc import jwe
from joserfc.jwk import ECKey, OctKey, RSAKey
from singpass_gateway.errors import GatewayError
from singpass_gateway.flows import CompletedLogin, Gateway, LoginFailed, LoginRedirect
from singpass_gateway.http import HttpResponse
from singpass_gateway.jose import MAX_JWKS_KEYS, REPLICATED_CLAIMS
from singpass_gateway.keys.pem import thumbprint
from singpass_gateway.providers import build_providers
from singpass_gateway.providers.myinfo_v3 import pki_base_string
from singpass_gateway.sealing import SealingUnavailable
from singpass_gateway.settings import load_settings

from tests.unit.fakes import FakeHttp, FakeToolkit, MemoryStore, json_response, pem

PEM, DER = serialization.Encoding.PEM, serialization.Encoding.DER

NOW = 1_800_000_000
"""The gateway's and every upstream's clock (the JWKS cache's too), fixed so time claims are exact."""
FRONTEND = "https://app.example"
PUBLIC_URL = "https://gw.example"
CLIENT_ID = "gateway-client"
CLIENT_SECRET = "s3cret:with%chars"
ATTACKER = "https://attacker.example"
"""Where header-borne keys (``jku``, ``x5u``) point; the gateway must never fetch from it."""
PERSON_NAME = "TAN HENG HUAT"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
Signer = Literal[
    "honest", "foreign-key", "none", "hs256-public-key", "alternate-alg", "tampered",
    "jwk-header", "jku-header", "x5u-header", "x5c-header",
]  # fmt: skip
"""How an artifact is signed. ``foreign-key``: a valid-looking key that is not in the JWKS, under the honest
``kid``. ``alternate-alg``: an algorithm the gateway does not expect, with a key the provider does publish.
``tampered``: the honest signature over other claims. ``*-header``: a foreign key offered in the header."""
Packaging = Literal["honest", "unencrypted", "unsigned", "clear"]
"""How a signed and encrypted artifact is packed: as it should be, its JWS without the JWE (``unencrypted``), a
JWE around the bare claims (``unsigned``), or the bare claims as ``application/json`` (``clear``)."""


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()
"""As an override's value: remove that member."""


@dataclass(frozen=True)
class Twist:
    """One way an artifact departs from the honest one."""

    claims: Mapping[str, Any] = field(default_factory=dict)
    header: Mapping[str, Any] = field(default_factory=dict)
    """JWS header members, e.g. ``{"kid": DROP}`` or a padding member to make it oversized."""
    signer: Signer = "honest"
    unpublished: bool = False
    """The JWKS lists another key instead of the one that signs (a JWKS without the signing key)."""
    jwe: Mapping[str, Any] = field(default_factory=dict)
    """JWE header members (``alg``, ``enc``, ``zip``); the JWE is made with them, to the gateway's key."""
    packaging: Packaging = "honest"


HONEST = Twist()
Breakage = Callable[[HttpResponse], HttpResponse]


@dataclass
class Outage:
    """An endpoint that fails ``times`` times with ``answer`` before it handles anything (so that nothing is spent,
    as when a server's dependency is down), then answers honestly again."""

    times: int
    answer: HttpResponse
    seen: int = 0

    def __call__(self, honest: HttpResponse) -> HttpResponse:
        return honest

    def failing(self) -> bool:
        self.seen += 1
        return self.seen <= self.times


server_error = Outage(times=2**62, answer=json_response({"error": "server_error"}, 502))
"""An endpoint that is down for good: every call answers a 502 without being handled (nothing spent)."""


def not_json(answer: HttpResponse) -> HttpResponse:
    return HttpResponse(200, answer.headers, b"<html><body>Down for maintenance</body></html>")


def truncated(answer: HttpResponse) -> HttpResponse:
    return HttpResponse(answer.status, answer.headers, answer.body[: len(answer.body) // 2])


def junk_key_first(answer: HttpResponse) -> HttpResponse:
    """A JWKS that also holds an entry no parser can use (the gateway must skip it, not fail)."""
    keys = json.loads(answer.body)["keys"]
    return json_response({"keys": [{"kty": "RSA", "kid": "junk", "n": "!!", "e": "AQAB"}, *keys]})


def flooded(answer: HttpResponse) -> HttpResponse:
    """A JWKS whose real keys come after as many decoys as the gateway reads: they must go unread."""
    keys = json.loads(answer.body)["keys"]
    decoys = [public_jwk(KEYS.decoy_ec, f"decoy-{index}") for index in range(MAX_JWKS_KEYS)]
    return json_response({"keys": [*decoys, *keys]})


class _Keys:
    """Every key the harness uses, made once per test session on first use."""

    @functools.cached_property
    def provider_rsa(self) -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @functools.cached_property
    def foreign_rsa(self) -> rsa.RSAPrivateKey:
        """A valid-looking RSA key that no provider publishes."""
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @functools.cached_property
    def alternate_rsa(self) -> rsa.RSAPrivateKey:
        """An RSA key an EC provider publishes too (the FAPI ``invalid-alternate-alg`` probe)."""
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @functools.cached_property
    def alternate_ec384(self) -> ec.EllipticCurvePrivateKey:
        """A P-384 key an OpenID Provider publishes too (an algorithm outside the gateway's allow-list)."""
        return ec.generate_private_key(ec.SECP384R1())

    @functools.cached_property
    def client_rsa(self) -> rsa.RSAPrivateKey:
        """The gateway's RSA key (sgID and MyInfo v3 encrypt to it; MyInfo v3 checks PKI_SIGN with it)."""
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @functools.cached_property
    def foreign_ec(self) -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    @functools.cached_property
    def decoy_ec(self) -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    @functools.cached_property
    def client_ec_signing(self) -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    @functools.cached_property
    def client_ec_decryption(self) -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    @functools.cached_property
    def client_ec_next_signing(self) -> ec.EllipticCurvePrivateKey:
        """The gateway's next signing key while one rotates: published, never used to sign."""
        return ec.generate_private_key(ec.SECP256R1())

    @functools.cached_property
    def client_ec_next_decryption(self) -> ec.EllipticCurvePrivateKey:
        """The gateway's next decryption key while one rotates: published, and accepted."""
        return ec.generate_private_key(ec.SECP256R1())


KEYS = _Keys()
SECRET_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:client-secret"
RSA_KEY_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:client-rsa"
EC_SIGNING_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:client-ec-signing"
EC_DECRYPTION_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:client-ec-decryption"
EC_NEXT_SIGNING_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:client-ec-next-signing"
EC_NEXT_DECRYPTION_ARN = "arn:aws:secretsmanager:ap-southeast-1:1:secret:client-ec-next-decryption"


# -- JOSE building blocks ----------------------------------------------------------------------------------------


def public_jwk(key: PrivateKey, kid: str | None = "k1", **extra: str) -> dict[str, Any]:
    """The public half of an RSA or EC key as a JWK, with a ``kid`` unless it is None."""
    public = key.public_key()
    parsed = RSAKey.import_key(public) if isinstance(public, rsa.RSAPublicKey) else ECKey.import_key(public)
    jwk: dict[str, Any] = dict(parsed.as_dict(private=False))
    if kid:
        jwk["kid"] = kid
    return {**jwk, **extra}


def certificate(key: PrivateKey, common_name: str = "myinfo.test") -> str:
    """A self-signed PEM certificate for ``key``, as MyInfo publishes its own."""
    return _self_signed(key, common_name).public_bytes(serialization.Encoding.PEM).decode()


def _self_signed(key: PrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def at_hash(token: str) -> str:
    """OIDC's ``at_hash`` for SHA-256 algorithms: base64url of the left half of the token's hash."""
    return b64url(hashlib.sha256(token.encode()).digest()[:16])


def encrypt(plaintext: str, recipient: RSAKey | ECKey | OctKey, header: Mapping[str, Any]) -> str:
    """A compact JWE with exactly ``header``'s algorithms; PBES2 needs a password, so it gets a random one
    unless the recipient is itself a symmetric key (sgID's block key, where PBES2 would really decrypt)."""
    key = recipient
    if str(header["alg"]).startswith("PBES2") and not isinstance(recipient, OctKey):
        key = OctKey.generate_key(256)
    algorithms = [header["alg"], header["enc"], *([header["zip"]] if "zip" in header else [])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns about RSA1_5, which the probe sends on purpose
        registry = jwe.JWERegistry(header_registry=REPLICATED_CLAIMS, algorithms=algorithms)  # Corppass adds iss, aud
        return jwe.encrypt_compact(dict(header), plaintext, key, registry=registry)


def overridden(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**base, **overrides}
    return {name: value for name, value in merged.items() if value is not DROP}


@dataclass
class SigningKey:
    """A key an upstream signs one artifact with, published under ``kid``."""

    alg: str
    key: PrivateKey
    kid: str

    def jwk(self) -> dict[str, Any]:
        return public_jwk(self.key, self.kid, use="sig")


def _foreign(key: SigningKey) -> PrivateKey:
    return KEYS.foreign_rsa if isinstance(key.key, rsa.RSAPrivateKey) else KEYS.foreign_ec


def _forge(signer: Signer, claims: dict[str, Any], header: dict[str, Any], signing: Signing) -> str:
    """``claims`` signed as ``signer`` says."""
    key = signing.key
    if signer == "honest":
        return jwt.encode(claims, key.key, algorithm=key.alg, headers=header)
    if signer == "alternate-alg":
        alternate = signing.alternate
        return jwt.encode(claims, alternate.key, algorithm=alternate.alg, headers={**header, "kid": alternate.kid})
    if signer == "none":
        return jwt.encode(claims, None, algorithm="none", headers=header)
    if signer == "hs256-public-key":
        public_pem = key.key.public_key().public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        return _hs256_keyed_with(public_pem, claims, header)
    if signer == "tampered":
        signing_header, _, signature = jwt.encode(claims, key.key, algorithm=key.alg, headers=header).split(".")
        forged = b64url(json.dumps({**claims, "sub": "someone-else"}).encode())
        return f"{signing_header}.{forged}.{signature}"
    foreign = _foreign(key)
    offered = {
        "foreign-key": {},
        "jwk-header": {"jwk": public_jwk(foreign, None)},
        "jku-header": {"jku": f"{ATTACKER}/jwks.json"},
        "x5u-header": {"x5u": f"{ATTACKER}/cert.pem"},
        "x5c-header": {"x5c": [base64.b64encode(_self_signed(foreign, "attacker.example").public_bytes(DER)).decode()]},
    }[signer]
    return jwt.encode(claims, foreign, algorithm=key.alg, headers={**header, **offered})


def _hs256_keyed_with(secret: bytes, claims: dict[str, Any], header: dict[str, Any]) -> str:
    """The algorithm-confusion probe: HMAC keyed with the provider's public key (PyJWT refuses to make it)."""
    signing_input = ".".join(
        b64url(json.dumps(part).encode()) for part in ({**header, "alg": "HS256", "typ": "JWT"}, claims)
    )
    return f"{signing_input}.{b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


@dataclass
class Signing:
    """How an upstream signs one artifact, and where the gateway finds the key (None: pinned, MyInfo v3)."""

    key: SigningKey
    alternate: SigningKey
    jwks_url: str | None


@dataclass(frozen=True)
class Encryption:
    """How an upstream encrypts one artifact to the gateway."""

    recipient: RSAKey | ECKey | OctKey | None
    """None: a key made per answer (sgID's block key)."""
    header: Mapping[str, Any]
    quoted: bool = False
    """MyInfo v3 sends its JWS as a JSON string."""


@dataclass(frozen=True)
class Authorized:
    """What a code is bound to: the person's authorization of one request."""

    state: str
    nonce: str | None
    code_challenge: str | None
    redirect_uri: str
    dpop_jkt: str | None = None


@dataclass(frozen=True)
class Outcome:
    """How a login (or refresh) through the gateway ended, and what the upstream saw."""

    error: str | None
    """The stable code the browser is sent back with; None when a session was created."""
    reason: str
    """The error's detail: the log line's text, never shown to the browser."""
    location: str
    sessions: int
    calls: Counter[str]
    """Requests per upstream endpoint name (``token``, ``userinfo``, ``jwks``...)."""
    complaints: tuple[str, ...]
    """What the honest upstream refused in the gateway's requests; empty when the gateway spoke correctly."""
    session_id: str | None = None


class Complaint(Exception):
    """The upstream refuses a request, as a correct provider would (the gateway spoke the protocol wrongly)."""


class Upstream:
    """A provider of one type, honest until ``misbehave`` says otherwise, behind a Gateway of its own."""

    kind: ClassVar[str]
    issuer: ClassVar[str]
    subject: ClassVar[str]
    artifacts: ClassVar[tuple[str, ...]]
    subject_token: ClassVar[str]
    """The artifact that names the person: the ID token, or MyInfo's access token (MyInfo has no ID token)."""
    person_document: ClassVar[str]
    someone_else: ClassVar[Mapping[str, Any]]
    """Claims that make the person document describe another person than the subject token names."""
    token_type: ClassVar[str] = "Bearer"
    jose_endpoints: ClassVar[tuple[str, ...]] = ()
    """Endpoints that answer a JWE or JWS rather than JSON."""
    pkce: ClassVar[bool] = True
    issuer_parameter: ClassVar[bool] = False
    """The provider sends RFC 9207's ``iss`` with the code."""
    discovery_url: ClassVar[str | None] = None
    provider_type: ClassVar[str | None] = None
    """The gateway's provider type, where it is not ``kind`` (a Singpass Login app is a ``singpass`` provider)."""
    subject_claim: ClassVar[str] = "sub"
    """The member of the subject token that names the person (a GitHub-style user endpoint's is ``id``)."""
    jws_headers: ClassVar[Mapping[str, Mapping[str, str]]] = {}
    """JWS header members an artifact carries beside its ``kid`` (an RFC 9068 access token's ``typ``)."""

    def __init__(self) -> None:
        self.now = NOW
        self.http = FakeHttp()
        self.store = MemoryStore()
        self.twists: dict[str, Twist] = {}
        self.callback_overrides: dict[str, Any] = {}
        self.discovery_overrides: dict[str, Any] = {}
        self.token_overrides: dict[str, Any] = {}
        self.breakages: dict[str, Breakage] = {}
        self.endpoint_names: dict[str, str] = {}
        self.complaints: list[str] = []
        self.codes: dict[str, Authorized] = {}
        self.authorizations: list[Authorized] = []
        self.retired: list[tuple[str | None, SigningKey]] = []
        self.signings = self.make_signings()
        self.encryptions = self.make_encryptions()
        self.serve_attacker()
        self.serve_endpoints()
        self.toolkit = toolkit = FakeToolkit(self.http, self.secrets(), clock=lambda: self.now)
        entry = {"id": self.kind, "type": self.provider_type or self.kind, "name": self.kind, **self.options()}
        settings = load_settings(
            {
                "GATEWAY_TABLE": "table",
                "GATEWAY_FRONTEND_URL": FRONTEND,
                "GATEWAY_PUBLIC_URL": PUBLIC_URL,
                "GATEWAY_PROVIDERS": json.dumps([entry]),
            }
        )
        providers = build_providers(settings, toolkit)  # type: ignore[arg-type]
        self.gateway = Gateway(settings, self.store, providers, PlainSealer(), clock=lambda: self.now)  # type: ignore[arg-type]

    # -- what a test uses ------------------------------------------------------------------------------------------

    def misbehave(
        self,
        *,
        callback: Mapping[str, Any] | None = None,
        discovery: Mapping[str, Any] | None = None,
        token_response: Mapping[str, Any] | None = None,
        answer: Mapping[str, Breakage] | None = None,
        **artifacts: Twist | Mapping[str, Any],
    ) -> Upstream:
        """Depart from the honest protocol: artifacts' claims (a mapping) or a Twist, the callback's parameters,
        the discovery document, the token response's members, or a whole answer of a named endpoint."""
        for name, twist in artifacts.items():
            self._check_artifact(name, twist)
            self.twists[name] = twist if isinstance(twist, Twist) else Twist(claims=twist)
        if discovery is not None and self.discovery_url is None:
            raise ValueError(f"{self.kind} has no discovery")
        unknown = set(answer or {}) - set(self.endpoint_names.values())
        if unknown:
            raise ValueError(f"{self.kind} has no endpoint {', '.join(sorted(unknown))}")
        self.callback_overrides.update(callback or {})
        self.discovery_overrides.update(discovery or {})
        self.token_overrides.update(token_response or {})
        self.breakages.update(answer or {})
        return self

    def login(self, return_to: str = "/after") -> Outcome:
        """A whole login: the gateway starts it, the person authorizes at the upstream, the callback ends it."""
        try:
            started = self.start(return_to)
        except LoginFailed as failure:
            return self.outcome(failure)
        return self.finish(self.authorize(started.location), started.binding)

    def start(self, return_to: str = "/after") -> LoginRedirect:
        """The login route: the browser's redirect to the upstream and its login-cookie binding."""
        return self.gateway.begin_login(self.kind, return_to, PUBLIC_URL)

    def authorize(self, location: str) -> dict[str, str]:
        """Play the authorization endpoint and the person consenting: the callback's query parameters."""
        try:
            authorized = self.authorization(location)
        except Complaint as complaint:
            self.complaints.append(str(complaint))
            return {"error": "invalid_request", "state": dict(parse_qsl(urlsplit(location).query)).get("state", "")}
        code = secrets.token_urlsafe(16)
        self.codes[code] = authorized
        self.authorizations.append(authorized)
        params = {"code": code, "state": authorized.state, **({"iss": self.issuer} if self.issuer_parameter else {})}
        return overridden(params, self.callback_overrides)

    def finish(self, params: Mapping[str, str], binding: str | None) -> Outcome:
        try:
            done = self.gateway.complete_login(self.kind, params, binding)
        except LoginFailed as failure:
            return self.outcome(failure)
        return self.outcome(done)

    def refresh(self, session_id: str) -> Outcome:
        """The session's data refreshed from the upstream, as ``/api/me?refresh=true`` does."""
        try:
            self.gateway.current_session(session_id, refresh=True)
        except GatewayError as error:
            return self.outcome(error)
        return self.outcome(None, session_id)

    def rotate(self, artifact: str) -> None:
        """Sign ``artifact`` with a new key under a new ``kid`` from now on, still publishing the old one."""
        signing = self.signings[artifact]
        old = signing.key
        if isinstance(old.key, ec.EllipticCurvePrivateKey):
            new_key: PrivateKey = ec.generate_private_key(old.key.curve)
        else:
            new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.retired.append((signing.jwks_url, old))
        signing.key = SigningKey(old.alg, new_key, old.kid + "-next")

    def requests_to(self, endpoint: str) -> list[dict[str, Any]]:
        """What the gateway sent to a named endpoint, in order."""
        return [r for r in self.http.requests if self.endpoint_names.get(r["url"].split("?")[0]) == endpoint]

    def jwks_endpoint(self, artifact: str) -> str:
        """The name of the JWKS endpoint that publishes ``artifact``'s signing key."""
        url = self.signings[artifact].jwks_url
        assert url is not None, f"{self.kind}'s {artifact} is verified with a pinned key"
        return self.endpoint_names[url]

    def outcome(
        self, result: LoginFailed | CompletedLogin | GatewayError | None, session_id: str | None = None
    ) -> Outcome:
        urls = (request["url"].split("?")[0] for request in self.http.requests)
        calls = Counter(self.endpoint_names.get(url, url) for url in urls)
        if isinstance(result, LoginFailed):
            error, reason, location = result.error.code, result.error.detail, result.location
        elif isinstance(result, GatewayError):
            error, reason, location = result.code, result.detail, ""
        else:
            error, reason, location = None, "", result.location if result else ""
            session_id = result.session_id if result else session_id
        return Outcome(error, reason, location, len(self.store.sessions), calls, tuple(self.complaints), session_id)

    # -- what each provider type defines ---------------------------------------------------------------------------

    def options(self) -> dict[str, Any]:
        raise NotImplementedError

    def secrets(self) -> dict[str, str]:
        return {
            SECRET_ARN: CLIENT_SECRET,
            RSA_KEY_ARN: pem(KEYS.client_rsa),
            EC_SIGNING_ARN: pem(KEYS.client_ec_signing),
            EC_DECRYPTION_ARN: pem(KEYS.client_ec_decryption),
            EC_NEXT_SIGNING_ARN: pem(KEYS.client_ec_next_signing),
            EC_NEXT_DECRYPTION_ARN: pem(KEYS.client_ec_next_decryption),
        }

    def make_signings(self) -> dict[str, Signing]:
        raise NotImplementedError

    def make_encryptions(self) -> dict[str, Encryption]:
        return {}

    def serve_endpoints(self) -> None:
        raise NotImplementedError

    def authorization(self, location: str) -> Authorized:
        """The authorization request behind the browser's ``location``, checked as the provider checks it."""
        url, query = location.split("?", 1)
        params = dict(parse_qsl(query))
        expect(url == self.authorization_endpoint, f"authorization request to {url}")
        expect(params.get("client_id") == CLIENT_ID, "unknown client_id")
        expect(params.get("redirect_uri") == self.redirect_uri, "unregistered redirect_uri")
        if self.pkce:
            expect(params.get("code_challenge_method") == "S256", "PKCE without S256")
        return Authorized(params["state"], params.get("nonce"), params.get("code_challenge"), params["redirect_uri"])

    @property
    def authorization_endpoint(self) -> str:
        raise NotImplementedError

    @property
    def redirect_uri(self) -> str:
        return f"{PUBLIC_URL}/auth/{self.kind}/callback"

    # -- the honest protocol ---------------------------------------------------------------------------------------

    def serve(self, name: str, method: str, url: str, handler: Callable[..., HttpResponse]) -> None:
        """Answer ``method url`` with ``handler`` (a complaint becomes a 400), then any breakage of ``name``."""
        self.endpoint_names[url.split("?")[0]] = name

        def answer(**request: Any) -> HttpResponse:
            outage = self.breakages.get(name)
            if isinstance(outage, Outage) and outage.failing():
                return outage.answer
            try:
                response = handler(**request)
            except Complaint as complaint:
                self.complaints.append(f"{name}: {complaint}")
                response = json_response({"error": "invalid_request"}, 400)
            breakage = self.breakages.get(name)
            return breakage(response) if breakage else response

        self.http.on(method, url, answer)

    def serve_jwks(self, name: str, url: str) -> None:
        self.serve(name, "GET", url, lambda **_: json_response({"keys": self.published(url)}))

    def serve_attacker(self) -> None:
        jwks = {"keys": [public_jwk(KEYS.foreign_rsa, "attacker"), public_jwk(KEYS.foreign_ec, "attacker-ec")]}
        self.serve("attacker-jwks", "GET", f"{ATTACKER}/jwks.json", lambda **_: json_response(jwks))
        self.serve("attacker-cert", "GET", f"{ATTACKER}/cert.pem", lambda **_: HttpResponse(200, {}, b""))

    def published(self, url: str) -> list[dict[str, Any]]:
        """The JWKS at ``url``: the signing keys of the artifacts it serves, as their twists say."""
        keys = [key.jwk() for jwks_url, key in self.retired if jwks_url == url]
        for artifact, signing in self.signings.items():
            if signing.jwks_url != url:
                continue
            twist = self.twists.get(artifact, HONEST)
            keys.append(public_jwk(KEYS.decoy_ec, "decoy", use="sig") if twist.unpublished else signing.key.jwk())
            if twist.signer == "alternate-alg" and signing.alternate.kid != signing.key.kid:
                keys.append(signing.alternate.jwk())
        return keys

    def signed(self, artifact: str, claims: Mapping[str, Any]) -> str:
        """``artifact`` as a JWS, twisted as told."""
        twist = self.twists.get(artifact, HONEST)
        signing = self.signings[artifact]
        header = overridden({"kid": signing.key.kid, **self.jws_headers.get(artifact, {})}, twist.header)
        return _forge(twist.signer, overridden(claims, twist.claims), header, signing)

    def sealed(self, artifact: str, plaintext: str, recipient: OctKey | None = None) -> str:
        """``plaintext`` encrypted to the gateway as ``artifact``, twisted as told."""
        twist = self.twists.get(artifact, HONEST)
        encryption = self.encryptions[artifact]
        if twist.packaging == "unencrypted":
            return plaintext
        target = recipient or encryption.recipient
        assert target is not None
        return encrypt(plaintext, target, overridden(encryption.header, twist.jwe))

    def signed_and_sealed(self, artifact: str, claims: Mapping[str, Any]) -> str:
        """A JWE around a JWS (Singpass, MyInfo); ``unsigned`` packs the bare claims instead of the JWS."""
        twist = self.twists.get(artifact, HONEST)
        if twist.packaging == "unsigned":
            return self.sealed(artifact, json.dumps(overridden(claims, twist.claims)))
        inner = self.signed(artifact, claims)
        quoted = self.encryptions[artifact].quoted and twist.packaging == "honest"
        return self.sealed(artifact, json.dumps(inner) if quoted else inner)

    def jose_answer(self, artifact: str, claims: Mapping[str, Any], content_type: str) -> HttpResponse:
        """The answer carrying a signed and encrypted ``artifact`` (or, ``clear``, its bare claims as JSON)."""
        twist = self.twists.get(artifact, HONEST)
        if twist.packaging == "clear":
            return json_response(overridden(claims, twist.claims))
        return HttpResponse(200, {"Content-Type": content_type}, self.signed_and_sealed(artifact, claims).encode())

    def claim_overrides(self, artifact: str) -> Mapping[str, Any]:
        return self.twists.get(artifact, HONEST).claims

    def redeem(self, form: Mapping[str, str]) -> Authorized:
        """The authorization a code stands for, once: with its redirect_uri and (PKCE) verifier."""
        expect(form.get("grant_type") == "authorization_code", "grant_type")
        authorized = self.codes.pop(form.get("code", ""), None)
        expect(authorized is not None, "unknown or spent code")
        assert authorized is not None
        expect(form.get("redirect_uri") == authorized.redirect_uri, "redirect_uri differs from the authorization's")
        if self.pkce:
            verifier = form.get("code_verifier", "")
            expect(43 <= len(verifier) <= 128, "code_verifier length")
            expect(b64url(hashlib.sha256(verifier.encode()).digest()) == authorized.code_challenge, "PKCE")
        return authorized

    def token_answer(self, body: Mapping[str, Any]) -> HttpResponse:
        return json_response(overridden(body, self.token_overrides))

    def id_token_claims(self, authorized: Authorized | None, access_token: str) -> dict[str, Any]:
        claims = {
            "iss": self.issuer, "aud": CLIENT_ID, "sub": self.subject, "iat": self.now, "exp": self.now + 600,
            "at_hash": at_hash(access_token),
        }  # fmt: skip
        if authorized is not None and authorized.nonce is not None:
            claims["nonce"] = authorized.nonce
        return claims

    def _check_artifact(self, name: str, twist: Twist | Mapping[str, Any]) -> None:
        """A twist this upstream cannot apply would make a test that cannot fail: refuse it."""
        if name not in self.artifacts:
            raise ValueError(f"{self.kind} has no artifact {name!r} (it has {', '.join(self.artifacts)})")
        if not isinstance(twist, Twist):
            return
        if (twist.signer != "honest" or twist.header or twist.unpublished) and name not in self.signings:
            raise ValueError(f"{self.kind}'s {name} is not signed")
        if twist.unpublished and self.signings[name].jwks_url is None:
            raise ValueError(f"{self.kind}'s {name} is verified with a pinned key, not a JWKS")
        if (twist.jwe or twist.packaging != "honest") and name not in self.encryptions:
            raise ValueError(f"{self.kind}'s {name} is not encrypted")
        if twist.packaging == "clear" and name not in self.jose_endpoints:
            raise ValueError(f"{self.kind}'s {name} is not an endpoint's whole answer")


def expect(condition: bool, complaint: str) -> None:
    if not condition:
        raise Complaint(complaint)


class PlainSealer:
    """KMS's Encrypt and Decrypt without KMS: the plaintext as it is, bound to its session's digest as KMS binds it
    to the encryption context (another digest does not open it, as KMS refuses it)."""

    def seal(self, plaintext: bytes, session_digest: str) -> bytes:
        return json.dumps({"session": session_digest, "plaintext": base64.b64encode(plaintext).decode()}).encode()

    def unseal(self, sealed: bytes, session_digest: str) -> bytes:
        document = json.loads(sealed)
        if document["session"] != session_digest:
            raise SealingUnavailable("KMS Decrypt failed: InvalidCiphertextException")
        return base64.b64decode(document["plaintext"])


# -- OAuth 2.0 client authentication and DPoP, as a correct server checks them -----------------------------------


def check_assertion(form: Mapping[str, str], audience: str, max_lifetime: int, now: int | None) -> dict[str, Any]:
    """A ``private_key_jwt`` assertion by the gateway's signing key: its claims, once every rule holds. ``now``
    None: any issue time (a call the gateway makes by the wall clock, such as logout's revocation)."""
    expect(form.get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "type")
    assertion = form.get("client_assertion", "")
    try:
        header = jwt.get_unverified_header(assertion)
        claims: dict[str, Any] = jwt.decode(
            assertion, KEYS.client_ec_signing.public_key(), algorithms=["ES256"], audience=audience,
            options={"verify_exp": False, "verify_iat": False},
        )  # fmt: skip
    except jwt.PyJWTError as error:
        raise Complaint(f"client assertion: {type(error).__name__}") from None
    expect(header.get("kid") == thumbprint(KEYS.client_ec_signing.public_key()), "assertion kid")
    expect(claims.get("iss") == claims.get("sub") == CLIENT_ID == form.get("client_id"), "assertion iss/sub")
    expect(now is None or claims["iat"] == now, "assertion iat")
    expect(0 < claims["exp"] - claims["iat"] <= max_lifetime, "assertion lifetime")
    expect(len(claims.get("jti", "")) >= 16, "assertion jti")
    return claims


class DpopVerifier:
    """RFC 9449 §4.3 as a server checks proofs: one key per login, fresh ``jti``s, ``htm``/``htu``, ``ath``, and
    server nonces when it demands them (a new one per endpoint, as Singpass may)."""

    def __init__(self, now: Callable[[], int]) -> None:
        self.now = now
        self.seen: set[str] = set()
        self.nonces: dict[str, str] = {}
        self.demand_nonces = False

    def check(self, headers: Mapping[str, str], method: str, url: str, access_token: str | None = None) -> str:
        """The proof key's thumbprint, or a Complaint."""
        proof = headers.get("DPoP", "")
        try:
            header = jwt.get_unverified_header(proof)
            jwk = header.get("jwk", {})
            expect(header.get("typ") == "dpop+jwt" and header.get("alg") == "ES256", "proof typ/alg")
            expect(isinstance(jwk, dict) and "d" not in jwk, "proof jwk")
            key = jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(jwk))
            claims = jwt.decode(proof, key, algorithms=["ES256"], options={"verify_exp": False, "verify_iat": False})
        except jwt.PyJWTError as error:
            raise Complaint(f"DPoP proof: {type(error).__name__}") from None
        expect((claims.get("htm"), claims.get("htu")) == (method, url), "proof htm/htu")
        expect(claims.get("iat") == self.now() and claims.get("jti") not in self.seen, "proof iat/jti")
        self.seen.add(claims["jti"])
        ath = None if access_token is None else b64url(hashlib.sha256(access_token.encode()).digest())
        expect(claims.get("ath") == ath, "proof ath")
        return str(ECKey.import_key(jwk).thumbprint())

    def nonce_demand(self, headers: Mapping[str, str], endpoint: str, resource: bool) -> HttpResponse | None:
        """Nothing when the proof carries this endpoint's nonce (or none is demanded); else the demand."""
        if not self.demand_nonces:
            return None
        nonce = self.nonces.setdefault(endpoint, f"nonce-{endpoint}-{secrets.token_hex(4)}")
        if jwt.decode(headers.get("DPoP", ""), options={"verify_signature": False}).get("nonce") == nonce:
            return None
        if resource:
            demand = {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": nonce}
            return json_response({}, 401, demand)
        return json_response({"error": "use_dpop_nonce"}, 400, {"DPoP-Nonce": nonce})


# -- the provider types ------------------------------------------------------------------------------------------


class SgidUpstream(Upstream):
    """sgID v2: client_secret_post, an RS256 ID token, and userinfo whose fields are JWEs under a block key that
    is itself a JWE to the gateway's RSA key."""

    kind, issuer, subject = "sgid", "https://sgid.example/v2", "u=a9865837"
    subject_token, person_document = "id_token", "userinfo"
    artifacts = ("id_token", "userinfo", "userinfo_key", "userinfo_data")
    someone_else: ClassVar[Mapping[str, Any]] = {"sub": "u=someone-else"}

    def options(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "client_id": CLIENT_ID, "client_secret_arn": SECRET_ARN,
                "decryption_key_arn": RSA_KEY_ARN, "scopes": ["openid", "myinfo.name"]}  # fmt: skip

    def make_signings(self) -> dict[str, Signing]:
        key = SigningKey("RS256", KEYS.provider_rsa, "sgid-signing")
        alternate = SigningKey("PS256", KEYS.provider_rsa, key.kid)
        return {"id_token": Signing(key, alternate, f"{self.issuer}/.well-known/jwks.json")}

    def make_encryptions(self) -> dict[str, Encryption]:
        client_key = RSAKey.import_key(KEYS.client_rsa.public_key())
        return {
            "userinfo_key": Encryption(client_key, {"alg": "RSA-OAEP-256", "enc": "A256GCM"}),
            "userinfo_data": Encryption(None, {"alg": "dir", "enc": "A256GCM"}),
        }

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/oauth/authorize"

    def serve_endpoints(self) -> None:
        self.access_tokens: dict[str, Authorized] = {}
        self.serve("token", "POST", f"{self.issuer}/oauth/token", self.token)
        self.serve("userinfo", "GET", f"{self.issuer}/oauth/userinfo", self.userinfo)
        self.serve_jwks("jwks", f"{self.issuer}/.well-known/jwks.json")

    def token(self, form: Mapping[str, str], **_: Any) -> HttpResponse:
        authorized = self.redeem(form)
        expect((form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET), "client auth")
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = authorized
        id_token = self.signed("id_token", self.id_token_claims(authorized, access_token))
        return self.token_answer({"access_token": access_token, "id_token": id_token, "token_type": "Bearer",
                                  "expires_in": 86400})  # fmt: skip

    def userinfo(self, headers: Mapping[str, str], **_: Any) -> HttpResponse:
        expect(headers.get("Authorization", "").removeprefix("Bearer ") in self.access_tokens, "access token")
        block = OctKey.generate_key(256)
        body = {
            "sub": self.subject,
            "key": self.sealed("userinfo_key", json.dumps(block.as_dict(private=True))),
            "data": {"myinfo.name": self.sealed("userinfo_data", PERSON_NAME, block)},
        }
        return json_response(overridden(body, self.claim_overrides("userinfo")))


class OidcUpstream(Upstream):
    """A standard OpenID Provider: discovery, client_secret_basic, an RS256 ID token with ``at_hash``, JSON
    userinfo, RFC 9207 ``iss``, and rotating refresh tokens."""

    kind, issuer, subject = "oidc", "https://op.example", "alice"
    subject_token, person_document = "id_token", "userinfo"
    artifacts = ("id_token", "userinfo")
    someone_else: ClassVar[Mapping[str, Any]] = {"sub": "mallory"}
    issuer_parameter = True
    discovery_url = "https://op.example/.well-known/openid-configuration"

    def options(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "client_id": CLIENT_ID, "client_secret_arn": SECRET_ARN,
                "scopes": ["openid", "profile"]}  # fmt: skip

    def make_signings(self) -> dict[str, Signing]:
        key = SigningKey("RS256", KEYS.provider_rsa, "op-signing")
        alternate = SigningKey("ES384", KEYS.alternate_ec384, "op-signing-es384")
        return {"id_token": Signing(key, alternate, f"{self.issuer}/jwks")}

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/authorize"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer, "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": f"{self.issuer}/token", "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks", "authorization_response_iss_parameter_supported": True,
        }  # fmt: skip

    def serve_endpoints(self) -> None:
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        assert self.discovery_url is not None
        self.serve("discovery", "GET", self.discovery_url,
                   lambda **_: json_response(overridden(self.discovery(), self.discovery_overrides)))  # fmt: skip
        self.serve("token", "POST", f"{self.issuer}/token", self.token)
        self.serve("userinfo", "GET", f"{self.issuer}/userinfo", self.userinfo)
        self.serve_jwks("jwks", f"{self.issuer}/jwks")

    def token(self, form: Mapping[str, str], headers: Mapping[str, str], **_: Any) -> HttpResponse:
        basic = base64.b64encode(b"gateway-client:s3cret%3Awith%25chars").decode()
        expect(headers.get("Authorization") == f"Basic {basic}", "client_secret_basic")
        if form.get("grant_type") == "refresh_token":
            expect(form.get("refresh_token") in self.refresh_tokens, "unknown or spent refresh token")
            self.refresh_tokens.discard(form["refresh_token"])
            authorized = None
        else:
            authorized = self.redeem(form)
        access_token, refresh_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access_tokens.add(access_token)
        self.refresh_tokens.add(refresh_token)
        id_token = self.signed("id_token", self.id_token_claims(authorized, access_token))
        return self.token_answer({"access_token": access_token, "id_token": id_token, "token_type": "Bearer",
                                  "expires_in": 3600, "refresh_token": refresh_token})  # fmt: skip

    def userinfo(self, headers: Mapping[str, str], **_: Any) -> HttpResponse:
        expect(headers.get("Authorization", "").removeprefix("Bearer ") in self.access_tokens, "access token")
        return json_response(overridden({"sub": self.subject, "name": PERSON_NAME}, self.claim_overrides("userinfo")))


class SingpassUpstream(Upstream):
    """Singpass FAPI 2.0: discovery, PAR, DPoP from PAR to userinfo, an ES256 ``private_key_jwt`` for the issuer,
    and ES256 ID token and userinfo, each encrypted (ECDH-ES+A256KW) to the gateway."""

    kind, issuer, subject = "singpass", "https://singpass.example/fapi", "u-7a3e"
    subject_token, person_document = "id_token", "userinfo"
    artifacts = ("id_token", "userinfo")
    someone_else: ClassVar[Mapping[str, Any]] = {"sub": "u-someone-else"}
    token_type, jose_endpoints = "DPoP", ("userinfo",)
    issuer_parameter = True
    discovery_url = "https://singpass.example/fapi/.well-known/openid-configuration"
    paths: ClassVar[Mapping[str, str]] = {
        "authorize": "/auth", "par": "/par", "token": "/token", "userinfo": "/userinfo", "jwks": "/jwks"
    }  # fmt: skip
    """Where each endpoint is, under the issuer (Corppass's differ)."""

    def url(self, endpoint: str) -> str:
        return f"{self.issuer}{self.paths[endpoint]}"

    def options(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "client_id": CLIENT_ID, "signing_key_arn": EC_SIGNING_ARN,
                "decryption_key_arn": EC_DECRYPTION_ARN, "app": "myinfo", "scopes": ["openid", "name"]}  # fmt: skip

    def make_signings(self) -> dict[str, Signing]:
        jwks = self.url("jwks")
        return {
            artifact: Signing(
                SigningKey("ES256", ec.generate_private_key(ec.SECP256R1()), f"singpass-{artifact}"),
                SigningKey("RS256", KEYS.alternate_rsa, f"singpass-{artifact}-rsa"),
                jwks,
            )
            for artifact in ("id_token", "userinfo")
        }

    def make_encryptions(self) -> dict[str, Encryption]:
        return self.encryptions_to(KEYS.client_ec_decryption)

    def encrypt_to(self, key: ec.EllipticCurvePrivateKey) -> None:
        """Encrypt the ID token and userinfo to ``key`` from now on, named by its kid (the RFC 7638 thumbprint
        the gateway publishes for a PEM key), as Singpass does once its copy of the client JWKS lists it."""
        self.encryptions = self.encryptions_to(key)

    def encryptions_to(self, key: ec.EllipticCurvePrivateKey) -> dict[str, Encryption]:
        recipient = ECKey.import_key(key.public_key())
        header = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "kid": thumbprint(key.public_key())}
        return {artifact: Encryption(recipient, header) for artifact in ("id_token", "userinfo")}

    @property
    def authorization_endpoint(self) -> str:
        return self.url("authorize")

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer, "authorization_endpoint": self.authorization_endpoint,
            "pushed_authorization_request_endpoint": self.url("par"), "token_endpoint": self.url("token"),
            "userinfo_endpoint": self.url("userinfo"), "jwks_uri": self.url("jwks"),
            "require_pushed_authorization_requests": True, "authorization_response_iss_parameter_supported": True,
            "dpop_signing_alg_values_supported": ["ES256"],
        }  # fmt: skip

    def serve_endpoints(self) -> None:
        self.dpop = DpopVerifier(lambda: self.now)
        self.pushed: dict[str, Authorized] = {}
        self.access_tokens: dict[str, str] = {}
        assert self.discovery_url is not None
        self.serve("discovery", "GET", self.discovery_url,
                   lambda **_: json_response(overridden(self.discovery(), self.discovery_overrides)))  # fmt: skip
        self.serve("par", "POST", self.url("par"), self.par)
        self.serve("token", "POST", self.url("token"), self.token)
        if "userinfo" in self.artifacts:  # a Login app's discovery names it too, but the app may not call it
            self.serve("userinfo", "GET", self.url("userinfo"), self.userinfo)
        self.serve_jwks("jwks", self.url("jwks"))

    def require_dpop_nonces(self) -> None:
        """Demand a server nonce in DPoP proofs, a different one at each endpoint (FAPI ``happy-path``)."""
        self.dpop.demand_nonces = True

    def par(self, form: Mapping[str, str], headers: Mapping[str, str], **_: Any) -> HttpResponse:
        demand = self.dpop.nonce_demand(headers, "par", resource=False)
        if demand:
            return demand
        check_assertion(form, self.issuer, 120, self.now)
        jkt = self.dpop.check(headers, "POST", self.url("par"))
        expect(form.get("response_type") == "code" and "openid" in form.get("scope", "").split(), "PAR parameters")
        self.check_app_kind(form)
        expect(form.get("redirect_uri") == self.redirect_uri and form.get("code_challenge_method") == "S256", "PAR")
        request_uri = f"urn:ietf:params:oauth:request_uri:{secrets.token_urlsafe(16)}"
        self.pushed[request_uri] = Authorized(
            form["state"], form["nonce"], form["code_challenge"], form["redirect_uri"], jkt
        )
        return json_response({"request_uri": request_uri, "expires_in": 60}, 201)

    def check_app_kind(self, form: Mapping[str, str]) -> None:
        """A Myinfo app: Singpass refuses an authentication context type ("only allowed for Login apps")."""
        expect("authentication_context_type" not in form, "authentication_context_type from a Myinfo app")
        expect("authentication_context_message" not in form, "authentication_context_message from a Myinfo app")

    def authorization(self, location: str) -> Authorized:
        url, query = location.split("?", 1)
        params = dict(parse_qsl(query))
        expect(url == self.authorization_endpoint, f"authorization request to {url}")
        expect(set(params) == {"client_id", "request_uri"} and params["client_id"] == CLIENT_ID, "not only PAR's")
        pushed = self.pushed.pop(params["request_uri"], None)
        expect(pushed is not None, "unknown or spent request_uri")
        assert pushed is not None
        return pushed

    def token(self, form: Mapping[str, str], headers: Mapping[str, str], **_: Any) -> HttpResponse:
        demand = self.dpop.nonce_demand(headers, "token", resource=False)
        if demand:
            return demand
        check_assertion(form, self.issuer, 120, self.now)
        jkt = self.dpop.check(headers, "POST", self.url("token"))
        authorized = self.redeem(form)
        expect(jkt == authorized.dpop_jkt, "token proof by another key than PAR's")
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = jkt
        id_token = self.signed_and_sealed("id_token", self.id_token_claims(authorized, access_token))
        return self.token_answer({"access_token": access_token, "id_token": id_token, "token_type": "DPoP",
                                  "expires_in": 600})  # fmt: skip

    def userinfo(self, headers: Mapping[str, str], **_: Any) -> HttpResponse:
        demand = self.dpop.nonce_demand(headers, "userinfo", resource=True)
        if demand:
            return demand
        scheme, _, access_token = headers.get("Authorization", "").partition(" ")
        expect(scheme == "DPoP" and access_token in self.access_tokens, "DPoP access token")
        jkt = self.dpop.check(headers, "GET", self.url("userinfo"), access_token)
        expect(jkt == self.access_tokens[access_token], "userinfo proof by another key")
        return self.jose_answer("userinfo", self.userinfo_claims(), "application/jwt")

    def userinfo_claims(self) -> dict[str, Any]:
        person = {"name": {"value": PERSON_NAME, "source": "1", "classification": "C", "lastupdated": "2026-01-01"}}
        return {"iss": self.issuer, "aud": CLIENT_ID, "sub": self.subject, "iat": self.now, "person_info": person}


class SingpassLoginUpstream(SingpassUpstream):
    """A Singpass Login app, as Singpass documents it and MockPass 4.6 behaves: the PAR must carry an
    ``authentication_context_type`` enabled for the app and only Login scopes; the person is the ID token's
    ``sub_attributes``; its ``iat`` is fractional; ``A256CBC-HS512``; no RFC 9207 ``iss`` on the callback; and
    userinfo is for Myinfo apps only (not served here: a call to it fails the test)."""

    kind, provider_type = "singpass-login", "singpass"
    subject_token, person_document = "id_token", "id_token"
    artifacts = ("id_token",)
    jose_endpoints = ()
    issuer_parameter = False
    allowed_context_types: ClassVar[tuple[str, ...]] = ("APP_AUTHENTICATION_DEFAULT", "APP_PAYMENT_DEFAULT")
    login_scopes = frozenset({"openid", "user.identity", "name", "email", "mobileno", "sub_account"})

    def options(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "client_id": CLIENT_ID, "signing_key_arn": EC_SIGNING_ARN,
                "decryption_key_arn": EC_DECRYPTION_ARN, "app": "login",
                "scopes": ["openid", "user.identity", "name"]}  # fmt: skip

    def discovery(self) -> dict[str, Any]:
        return {**super().discovery(), "authorization_response_iss_parameter_supported": False}

    def make_signings(self) -> dict[str, Signing]:
        return {"id_token": super().make_signings()["id_token"]}

    def encryptions_to(self, key: ec.EllipticCurvePrivateKey) -> dict[str, Encryption]:
        recipient = ECKey.import_key(key.public_key())
        header = {"alg": "ECDH-ES+A256KW", "enc": "A256CBC-HS512", "kid": thumbprint(key.public_key())}
        return {"id_token": Encryption(recipient, header)}

    def check_app_kind(self, form: Mapping[str, str]) -> None:
        context_type = form.get("authentication_context_type")
        expect(context_type is not None, "a Login app's request lacks authentication_context_type")
        expect(context_type in self.allowed_context_types, "Requested authentication context type is not registered")
        message = form.get("authentication_context_message")
        expect(message is None or re.fullmatch(r"[A-Za-z0-9 ]{1,100}", message) is not None, "context message")
        scopes = set(form.get("scope", "").split())
        expect(scopes <= self.login_scopes, f"scopes {sorted(scopes - self.login_scopes)} are not for Login apps")

    def id_token_claims(self, authorized: Authorized | None, access_token: str) -> dict[str, Any]:
        return {
            **super().id_token_claims(authorized, access_token),
            "iat": self.now - 0.351,  # MockPass 4.6: Date.now() / 1000
            "acr": "urn:singpass:authentication:loa:2",
            "amr": ["pwd", "otp-sms"],
            "sub_attributes": {"identity_number": "S9812381D", "identity_coi": "SG", "account_type": "standard",
                               "name": PERSON_NAME},
        }  # fmt: skip


ENTITY_UEN = "201912345K"
ACTING_USER = "f3b1a8e2-9c4d-4e5f-8a6b-7c8d9e0f1a2b"
AUTH_INFO = {
    "Result_Set": {
        "ESrvc_Row_Count": 2,
        "ESrvc_Result": [
            {"CPESrvcID": "GATEWAY-ESVC-1", "Auth_Result_Set": {"Row_Count": 2, "Row": [
                {"CPEntID_SUB": "", "CPRole": "Approver", "StartDate": "2026-01-01", "EndDate": "9999-12-31",
                 "Parameter": [{"name": "limit", "value": "5000"}]},
                {"CPEntID_SUB": "ERROR_MISSING_VALUE", "CPRole": "Viewer", "StartDate": "2026-02-01",
                 "EndDate": "2027-01-31", "Parameter": []},
            ]}},
            {"CPESrvcID": "GATEWAY-ESVC-2", "Auth_Result_Set": {"Row_Count": 1, "Row": {
                "CPEntID_SUB": "201912345K-01", "CPRole": "Submitter", "StartDate": "2026-03-01",
                "EndDate": "9999-12-31"}}},
        ],
    }
}  # fmt: skip
"""Corppass's documented Result_Set: several rows, an open-ended end, a missing-value marker, a bare single row."""


class CorppassUpstream(SingpassUpstream):
    """A Corppass Login app, as Corppass documents it and staging behaves: issuer without ``/fapi``, its own
    paths, a context type required and checked; the ID token's ``sub`` the entity's UEN with entity
    ``sub_attributes`` and the user as ``act``, encrypted A256CBC-HS512 with ``iss``/``aud``/``cty`` in the JWE
    header; ``scope`` echoed by the token endpoint; userinfo (JWE A256GCM, ``typ: JWE``) with ``auth_info`` sent
    as a JSON string, and ``sub`` the entity."""

    kind, provider_type = "corppass", "corppass"
    issuer, subject = "https://corppass.example", ENTITY_UEN
    someone_else: ClassVar[Mapping[str, Any]] = {"sub": "T09LL0001B"}
    issuer_parameter = False
    discovery_url = "https://corppass.example/.well-known/openid-configuration"
    paths: ClassVar[Mapping[str, str]] = {
        "authorize": "/mga/sps/oauth/oauth20/authorize", "par": "/request", "token": "/mga/sps/oauth/oauth20/token",
        "userinfo": "/userinfo", "jwks": "/.well-known/keys",
    }  # fmt: skip
    allowed_context_types: ClassVar[tuple[str, ...]] = ("APP_AUTHENTICATION_DEFAULT",)
    login_scopes = frozenset(
        {"openid", "entity.identity", "entity.basic_profile.name", "entity.basic_profile.uen_status",
         "user.identity", "user.name", "authinfo", "tpauthinfo"}
    )  # fmt: skip

    def options(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "client_id": CLIENT_ID, "signing_key_arn": EC_SIGNING_ARN,
                "decryption_key_arn": EC_DECRYPTION_ARN, "app": "login",
                "scopes": ["openid", "entity.identity", "entity.basic_profile.name", "user.identity", "user.name",
                           "authinfo"]}  # fmt: skip

    def discovery(self) -> dict[str, Any]:
        return {**super().discovery(), "authorization_response_iss_parameter_supported": False}

    def encryptions_to(self, key: ec.EllipticCurvePrivateKey) -> dict[str, Encryption]:
        recipient = ECKey.import_key(key.public_key())
        kid = thumbprint(key.public_key())
        id_token = {"alg": "ECDH-ES+A256KW", "enc": "A256CBC-HS512", "kid": kid, "cty": "JWT",
                    "iss": self.issuer, "aud": CLIENT_ID}  # fmt: skip
        userinfo = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "kid": kid, "typ": "JWE"}
        return {"id_token": Encryption(recipient, id_token), "userinfo": Encryption(recipient, userinfo)}

    def check_app_kind(self, form: Mapping[str, str]) -> None:
        context_type = form.get("authentication_context_type")
        expect(context_type in self.allowed_context_types, "authentication_context_type missing or not allowed")
        scopes = set(form.get("scope", "").split())
        expect(scopes <= self.login_scopes, f"invalid_scope {sorted(scopes - self.login_scopes)}")

    def token_answer(self, body: Mapping[str, Any]) -> HttpResponse:
        return super().token_answer({**body, "scope": " ".join(self.options()["scopes"])})  # echoed, as staging

    def id_token_claims(self, authorized: Authorized | None, access_token: str) -> dict[str, Any]:
        return {
            **super().id_token_claims(authorized, access_token),
            "sub_type": "entity",
            "sub_attributes": {"entity_type": "UEN", "entity_reg_number": ENTITY_UEN, "entity_coi": "SG",
                               "entity_name": "ACME PTE. LTD."},
            "act": {"sub": ACTING_USER, "sub_type": "user",
                    "sub_attributes": {"account_type": "standard", "identity_number": "S9812381D",
                                       "identity_coi": "SG", "name": PERSON_NAME}},
        }  # fmt: skip

    def userinfo_claims(self) -> dict[str, Any]:
        return {"iss": self.issuer, "aud": CLIENT_ID, "sub": self.subject, "iat": self.now, "exp": self.now + 600,
                "auth_info": json.dumps(AUTH_INFO)}  # fmt: skip


class CorppassBusinessUpstream(CorppassUpstream):
    """A Myinfo Business app: no context type (refused), and userinfo with the entity's ``entity_info``, the acting
    user's ``person_info`` and ``corppass_info``, each block a JSON string (and one nested object too)."""

    kind = "corppass-business"

    def options(self) -> dict[str, Any]:
        return {**super().options(), "app": "myinfo-business",
                "scopes": ["openid", "entity.identity", "entity.basic_profile.name", "entity.address", "user.uinfin",
                           "user.name", "corppass.email"]}  # fmt: skip

    def check_app_kind(self, form: Mapping[str, str]) -> None:
        expect("authentication_context_type" not in form, "authentication_context_type from a Myinfo Business app")

    def userinfo_claims(self) -> dict[str, Any]:
        entity_info = {
            "basic_profile": {"entity_name": {"value": "ACME PTE. LTD."}, "uen": {"value": ENTITY_UEN}},
            "address": json.dumps({"postal": {"value": "460102"}, "country": {"code": "SG", "desc": "SINGAPORE"}}),
        }
        person_info = {"uinfin": {"value": "S9812381D", "source": "1", "classification": "C",
                                  "lastupdated": "2026-01-01"},
                       "name": {"value": PERSON_NAME, "source": "1", "classification": "C",
                                "lastupdated": "2026-01-01"}}  # fmt: skip
        return {"iss": self.issuer, "aud": CLIENT_ID, "sub": self.subject, "iat": self.now, "exp": self.now + 600,
                "entity_info": json.dumps(entity_info), "person_info": json.dumps(person_info),
                "corppass_info": json.dumps({"email": "tan@acme.example", "email_verified": True})}  # fmt: skip


class MyInfoV3Upstream(Upstream):
    """MyInfo v3: PKI_SIGN on every call, an RS256 access token naming the UIN/FIN, and the person as a JWE
    (RSA-OAEP) around a quoted RS256 JWS, both verified with MyInfo's pinned certificate."""

    kind, subject = "myinfo-v3", "S9812381D"
    issuer = "https://myinfo.example/com/v3"
    subject_token, person_document = "access_token", "person"
    artifacts = ("access_token", "person")
    someone_else: ClassVar[Mapping[str, Any]] = {"uinfin": {"value": "S1234567A"}}
    jose_endpoints = ("person",)
    pkce = False

    def options(self) -> dict[str, Any]:
        return {
            "environment": "test", "api_url": self.issuer, "client_id": CLIENT_ID, "client_secret_arn": SECRET_ARN,
            "signing_key_arn": RSA_KEY_ARN, "decryption_key_arn": RSA_KEY_ARN,
            "myinfo_certificates": [certificate(KEYS.provider_rsa)], "attributes": ["uinfin", "name"],
            "purpose": "Testing",
        }  # fmt: skip

    def make_signings(self) -> dict[str, Signing]:
        key = SigningKey("RS256", KEYS.provider_rsa, "myinfo")
        alternate = SigningKey("PS256", KEYS.provider_rsa, "myinfo")
        return {artifact: Signing(key, alternate, None) for artifact in ("access_token", "person")}

    def make_encryptions(self) -> dict[str, Encryption]:
        recipient = RSAKey.import_key(KEYS.client_rsa.public_key())
        return {"person": Encryption(recipient, {"alg": "RSA-OAEP", "enc": "A256GCM"}, quoted=True)}

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/authorise"

    @property
    def person_url(self) -> str:
        return f"{self.issuer}/person/{self.subject}"

    def serve_endpoints(self) -> None:
        self.access_tokens: set[str] = set()
        self.serve("token", "POST", f"{self.issuer}/token", self.token)
        self.serve("person", "GET", f"{self.person_url}?client_id={CLIENT_ID}&attributes=uinfin,name", self.person)

    def token(self, form: Mapping[str, str], headers: Mapping[str, str], **_: Any) -> HttpResponse:
        check_pki_sign(headers.get("Authorization", ""), "POST", f"{self.issuer}/token", form)
        expect((form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET), "client secret")
        self.redeem(form)
        claims = {"sub": self.subject, "scope": ["uinfin", "name"], "iat": self.now, "exp": self.now + 1800}
        access_token = self.signed("access_token", claims)
        self.access_tokens.add(access_token)
        return self.token_answer({"access_token": access_token, "token_type": "Bearer", "expires_in": 1800})

    def person(self, headers: Mapping[str, str], **_: Any) -> HttpResponse:
        signature, _, bearer = headers.get("Authorization", "").partition(",Bearer ")
        expect(bearer in self.access_tokens, "access token")
        check_pki_sign(signature, "GET", self.person_url, {"client_id": CLIENT_ID, "attributes": "uinfin,name"})
        person = {"uinfin": {"value": self.subject, "source": "1"}, "name": {"value": PERSON_NAME, "source": "1"}}
        return self.jose_answer("person", person, "application/jose")


def check_pki_sign(header: str, method: str, url: str, params: Mapping[str, str]) -> None:
    """MyInfo's check of a ``PKI_SIGN`` header: RS256 by the gateway's key over the recomputed base string."""
    expect(header.startswith("PKI_SIGN "), "PKI_SIGN scheme")
    fields = dict(re.findall(r'(\w+)="([^"]*)"', header))
    signed = {**params, **{name: value for name, value in fields.items() if name != "signature"}}
    try:
        KEYS.client_rsa.public_key().verify(
            base64.b64decode(fields.get("signature", "")), pki_base_string(method, url, signed).encode(),
            padding.PKCS1v15(), hashes.SHA256(),
        )  # fmt: skip
    except InvalidSignature:
        raise Complaint("PKI_SIGN signature") from None


class MyInfoV4Upstream(Upstream):
    """MyInfo v4: PKCE, an ES256 client assertion naming the DPoP key, a DPoP-bound ES256 access token (the
    authorise JWKS), and the person as a JWE (ECDH-ES+A256KW) around an ES256 JWS (the MyInfo JWKS)."""

    kind, subject = "myinfo-v4", "6e6f7a2b-1b6d-4f59-9e42-0c6f0d1f3b0a"
    issuer = "https://myinfo.example/com/v4"
    subject_token, person_document = "access_token", "person"
    artifacts = ("access_token", "person")
    someone_else: ClassVar[Mapping[str, Any]] = {"uuid": {"value": "another-person"}}
    token_type, jose_endpoints = "DPoP", ("person",)
    authorise_jwks = "https://authorise.example/.well-known/keys.json"
    myinfo_jwks = "https://myinfo-keys.example/.well-known/keys.json"

    def options(self) -> dict[str, Any]:
        return {
            "environment": "test", "api_url": self.issuer, "authorise_jwks_url": self.authorise_jwks,
            "myinfo_jwks_url": self.myinfo_jwks, "client_id": CLIENT_ID, "signing_key_arn": EC_SIGNING_ARN,
            "decryption_key_arns": [EC_DECRYPTION_ARN], "scopes": ["uinfin", "uuid", "name"],
            "purpose_id": "demonstration",
        }  # fmt: skip

    def make_signings(self) -> dict[str, Signing]:
        return {
            artifact: Signing(
                SigningKey("ES256", ec.generate_private_key(ec.SECP256R1()), f"myinfo-{artifact}"),
                SigningKey("RS256", KEYS.alternate_rsa, f"myinfo-{artifact}-rsa"),
                jwks,
            )
            for artifact, jwks in (("access_token", self.authorise_jwks), ("person", self.myinfo_jwks))
        }

    def make_encryptions(self) -> dict[str, Encryption]:
        public = KEYS.client_ec_decryption.public_key()
        header = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "kid": thumbprint(public)}
        return {"person": Encryption(ECKey.import_key(public), header)}

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/authorize"

    @property
    def person_url(self) -> str:
        return f"{self.issuer}/person/{self.subject}"

    def serve_endpoints(self) -> None:
        self.dpop = DpopVerifier(lambda: self.now)
        self.access_tokens: dict[str, str] = {}
        self.serve("token", "POST", f"{self.issuer}/token", self.token)
        self.serve("person", "GET", f"{self.person_url}?scope=uinfin%20uuid%20name", self.person)
        self.serve_jwks("authorise-jwks", self.authorise_jwks)
        self.serve_jwks("myinfo-jwks", self.myinfo_jwks)

    def token(self, form: Mapping[str, str], headers: Mapping[str, str], **_: Any) -> HttpResponse:
        url = f"{self.issuer}/token"
        jkt = self.dpop.check(headers, "POST", url)
        assertion = check_assertion(form, url, 300, self.now)
        expect(assertion.get("cnf") == {"jkt": jkt}, "assertion cnf.jkt is not the DPoP key")
        self.redeem(form)
        claims = {"sub": self.subject, "iat": self.now, "exp": self.now + 1800, "cnf": {"jkt": jkt},
                  "scope": "uinfin uuid name"}  # fmt: skip
        access_token = self.signed("access_token", claims)
        self.access_tokens[access_token] = jkt
        return self.token_answer({"access_token": access_token, "token_type": "DPoP", "expires_in": 1800})

    def person(self, headers: Mapping[str, str], **_: Any) -> HttpResponse:
        scheme, _, access_token = headers.get("Authorization", "").partition(" ")
        expect(scheme == "DPoP" and access_token in self.access_tokens, "DPoP access token")
        expect(self.dpop.check(headers, "GET", self.person_url, access_token) == self.access_tokens[access_token],
               "person proof by another key")  # fmt: skip
        person = {
            "uinfin": {"value": "S9812381D", "source": "1"}, "uuid": {"value": self.subject},
            "name": {"value": PERSON_NAME, "source": "1"},
        }  # fmt: skip
        return self.jose_answer("person", person, "application/jose")


class RotatingSingpassUpstream(SingpassUpstream):
    """Singpass while the gateway's keys rotate: a next signing key and a next decryption key are configured as
    additional keys (published; the decryption key also accepted) next to the current ones."""

    def options(self) -> dict[str, Any]:
        return {**super().options(), "additional_signing_key_arns": [EC_NEXT_SIGNING_ARN],
                "additional_decryption_key_arns": [EC_NEXT_DECRYPTION_ARN]}  # fmt: skip


# The plain OAuth 2.0 servers build on the classes above, so they come in here, not at the top.
from tests.unit.upstream_oauth2 import OAuth2IntrospectionUpstream, OAuth2Upstream, OAuth2UserUpstream  # noqa: E402

UPSTREAMS: dict[str, type[Upstream]] = {
    upstream.kind: upstream
    for upstream in (
        SgidUpstream,
        OidcUpstream,
        SingpassUpstream,
        SingpassLoginUpstream,
        CorppassUpstream,
        CorppassBusinessUpstream,
        MyInfoV3Upstream,
        MyInfoV4Upstream,
        OAuth2Upstream,
        OAuth2IntrospectionUpstream,
        OAuth2UserUpstream,
    )
}


def build(kind: str) -> Upstream:
    """A fresh upstream of ``kind`` with a gateway of its own (empty store, cold caches)."""
    return UPSTREAMS[kind]()
