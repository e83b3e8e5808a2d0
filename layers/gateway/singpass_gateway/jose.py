"""The only module that parses tokens: JWS/JWT through PyJWT, JWE through joserfc.

Every entry point takes an exact algorithm allow-list from its caller (the provider) and caps the input size
before parsing. Verification keys come only from the provider's JWKS, never from token headers (``jwk``,
``jku``, ``x5u``, ``x5c`` are ignored). Heavy imports (PyJWT, joserfc) happen here, and this module is only
imported by the callback path, so the login and session handlers do not pay for them at cold start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15 as _PKCS1v15
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey, RSAKey
from joserfc.registry import HeaderParameter

from .errors import InvalidToken, ProviderUnavailable
from .http import HttpClient
from .keys import DecryptionFailed, KeyUnavailable, OaepHash, PrivateKey, SigningAlgorithm

CLOCK_SKEW_SECONDS = 60
"""The one tolerance for clocks that disagree, used for every time claim the gateway checks."""
MAX_ID_TOKEN_AGE_SECONDS = 600
"""An ID token issued longer ago than a whole login transaction may live is stale."""
MAX_TOKEN_BYTES = 16 * 1024
MAX_DOCUMENT_BYTES = 1024 * 1024
"""Person data (userinfo, MyInfo person) can be far larger than a token: a full MyInfo profile with CPF
contributions runs to tens of kilobytes. Bounded by what the HTTP client reads anyway."""
MAX_JWKS_KEYS = 32


@dataclass(frozen=True)
class JwksKey:
    """One usable JWKS entry: the parsed key and the parameters that decide whether it may verify."""

    kid: str | None
    kty: str
    use: str
    alg: str | None
    key: jwt.PyJWK


@dataclass(frozen=True)
class IdTokenPolicy:
    """What a provider's ID tokens must satisfy."""

    issuer: str
    client_id: str
    jwks_url: str
    algorithms: tuple[str, ...]


class JwksCache:
    """Provider signing keys by JWKS URL: cached for ``max_age``, refetched early at most once a cooldown.

    An unknown ``kid`` (or a failed signature on a kid-less token) triggers a refetch when the cached set is
    older than the cooldown, so a key rotation at the provider is picked up within seconds, while a flood of
    forged tokens costs the provider at most one fetch per cooldown.
    Entries that cannot be parsed are skipped, not fatal.
    """

    def __init__(
        self,
        http: HttpClient,
        max_age_seconds: float = 3600,
        refetch_cooldown_seconds: float = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._max_age = max_age_seconds
        self._cooldown = refetch_cooldown_seconds
        self._clock = clock
        self._sets: dict[str, tuple[list[JwksKey], float]] = {}
        self._lock = threading.Lock()

    def keys(self, url: str, *, refresh: bool = False) -> list[JwksKey]:
        """The keys at ``url``; ``refresh`` asks for a refetch, granted once per cooldown."""
        with self._lock:
            cached = self._sets.get(url)
        age = self._clock() - cached[1] if cached else None
        if cached and age is not None and age < self._max_age and not (refresh and age >= self._cooldown):
            return cached[0]
        keys = self._fetch(url)
        with self._lock:
            self._sets[url] = (keys, self._clock())
        return keys

    def _fetch(self, url: str) -> list[JwksKey]:
        response = self._http.get(url, call="jwks")
        if response.status != 200:
            raise ProviderUnavailable(f"JWKS answered HTTP {response.status}")
        document = response.json()
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ProviderUnavailable("JWKS document has no 'keys' array")
        return [key for key in map(_jwks_key, entries[:MAX_JWKS_KEYS]) if key is not None]


def verify_id_token(
    token: str, policy: IdTokenPolicy, jwks: JwksCache, nonce: str, now: int, access_token: str | None = None
) -> dict[str, Any]:
    """Verify an ID token's signature and claims (and ``at_hash`` when present); the claims, or InvalidToken."""
    header = _jws_header(token, policy.algorithms)
    claims = _verified_payload(token, header, policy, jwks)
    check_id_token_claims(claims, policy, nonce, now)
    if access_token is not None and "at_hash" in claims:
        _check_at_hash(claims["at_hash"], access_token, header["alg"])
    return claims


def _check_at_hash(at_hash: object, access_token: str, alg: str) -> None:
    """OIDC Core 3.1.3.6: the left half of the access token's hash, with the hash size of the ID token's alg."""
    digest = hashlib.new("sha" + alg[-3:], access_token.encode()).digest()
    expected = base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
    if (
        not isinstance(at_hash, str)
        or not at_hash.isascii()  # a lone surrogate would not even encode
        or not hmac.compare_digest(at_hash.encode(), expected.encode())
    ):
        _reject("at_hash does not match the access token")


def verify_signed_jwt(
    token: str, policy: IdTokenPolicy, jwks: JwksCache, max_bytes: int = MAX_TOKEN_BYTES
) -> dict[str, Any]:
    """A JWS's payload once its signature verifies with the provider's keys (claims are the caller's job)."""
    return _verified_payload(token, _jws_header(token, policy.algorithms, max_bytes), policy, jwks)


def verify_with_public_keys(
    token: str, keys: Collection[PublicKeyTypes], algorithms: Collection[str], max_bytes: int = MAX_TOKEN_BYTES
) -> dict[str, Any]:
    """A JWS's payload once it verifies with one of ``keys``: pinned keys (MyInfo v3's certificates), of which
    there are two while the provider rotates, and no kid to choose between them."""
    header = _jws_header(token, algorithms, max_bytes)
    key_type = rsa.RSAPublicKey if _KEY_TYPES.get(header["alg"]) == "RSA" else ec.EllipticCurvePublicKey
    for key in keys:
        if not isinstance(key, key_type):
            continue
        try:
            payload: dict[str, Any] = jwt.decode(token, key, algorithms=[header["alg"]], options=_SIGNATURE_ONLY)
            return payload
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as error:
            _reject(f"JWS rejected: {type(error).__name__}")
    _reject("signature does not verify with the pinned certificates")


def check_id_token_claims(claims: Mapping[str, Any], policy: IdTokenPolicy, nonce: str | None, now: int) -> None:
    """OIDC Core 3.1.3.7 checks, with the clock passed in so tests can fix it.

    ``nonce`` is None only for ID tokens from a refresh (OIDC Core 12.2), which carry no new nonce.
    """
    if claims.get("iss") != policy.issuer:
        _reject("iss does not match the provider's issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if audiences != [policy.client_id]:
        _reject("aud is not exactly this client")
    if "azp" in claims and claims["azp"] != policy.client_id:
        _reject("azp is not this client")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int) or isinstance(exp, bool) or isinstance(iat, bool):
        _reject("exp and iat must be integers")
    if now >= exp + CLOCK_SKEW_SECONDS:
        _reject("ID token expired")
    if iat > now + CLOCK_SKEW_SECONDS or iat < now - MAX_ID_TOKEN_AGE_SECONDS - CLOCK_SKEW_SECONDS:
        _reject("iat is in the future or stale")
    token_nonce = claims.get("nonce")
    if nonce is not None and (
        not isinstance(token_nonce, str)
        or not token_nonce.isascii()  # the gateway's nonces are; a lone surrogate would not even encode
        or not hmac.compare_digest(token_nonce.encode(), nonce.encode())
    ):
        _reject("nonce missing or does not match")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        _reject("sub missing")


def decrypt_with_private_key(
    token: str, key: PrivateKey, algorithms: Collection[str], max_bytes: int = 4 * MAX_TOKEN_BYTES
) -> bytes:
    """Decrypt a compact JWE whose content key is wrapped to one of the gateway's RSA keys (KMS or PEM)."""
    delegated = _DelegatedRsaKey(key)
    return _decrypt(token, _DelegatedRsaJwk(delegated, delegated), algorithms, max_bytes)


def decrypt_nested_jws(
    token: str, key: PrivateKey, algorithms: Collection[str], max_bytes: int = 4 * MAX_TOKEN_BYTES
) -> str:
    """Decrypt a compact JWE (ECDH-ES through the key interface) that must wrap a compact JWS; the JWS."""
    delegated = _DelegatedEcKey(key)
    inner = _decrypt(token, _DelegatedEcJwk(delegated, delegated), algorithms, max_bytes)
    text = inner.decode("ascii", errors="replace").strip().strip('"')
    if text.count(".") != 2:
        _reject("the JWE does not wrap a signed JWT")
    return text


def sign_client_assertion(key: PrivateKey, claims: Mapping[str, Any], alg: SigningAlgorithm = "ES256") -> str:
    """A ``private_key_jwt`` client assertion (ES256 or RS256), signed through the key interface (KMS or PEM)."""
    signer = _DelegatedEcKey(key) if alg == "ES256" else _DelegatedRsaKey(key)
    return jwt.encode(dict(claims), signer, algorithm=alg, headers={"kid": key.key_id, "typ": "JWT"})


def new_dpop_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 key for one login's DPoP proofs (RFC 9449): software, short-lived, never in KMS."""
    return ec.generate_private_key(ec.SECP256R1())


def dpop_key_to_text(key: ec.EllipticCurvePrivateKey) -> str:
    return str(jwt.algorithms.ECAlgorithm.to_jwk(key))


def dpop_key_from_text(text: str) -> ec.EllipticCurvePrivateKey:
    key = jwt.algorithms.ECAlgorithm.from_jwk(text)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("not a private EC key")
    return key


def public_jwk(key: PublicKeyTypes) -> dict[str, Any]:
    """An EC or RSA public key as a JWK, for the client JWKS."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return jwt.algorithms.ECAlgorithm.to_jwk(key, as_dict=True)
    if isinstance(key, rsa.RSAPublicKey):
        return jwt.algorithms.RSAAlgorithm.to_jwk(key, as_dict=True)
    raise KeyUnavailable("only EC and RSA keys are published in the client JWKS")


def published_jwk(key: PrivateKey, use: str, alg: str) -> dict[str, Any]:
    """A key's public half as a client JWKS entry, with its ``kid``, ``use`` and ``alg``."""
    return {**public_jwk(key.public_key()), "kid": key.key_id, "use": use, "alg": alg}


def jwk_thumbprint(key: ec.EllipticCurvePrivateKey) -> str:
    """RFC 7638 thumbprint of the key's public half (``dpop_jkt``, ``cnf.jkt``)."""
    return ECKey.import_key(key.public_key()).thumbprint()


def dpop_proof(
    key: ec.EllipticCurvePrivateKey,
    method: str,
    url: str,
    now: int,
    nonce: str | None = None,
    access_token: str | None = None,
) -> str:
    """An RFC 9449 proof: ``typ dpop+jwt``, the public JWK, a fresh 128-bit ``jti``, ``htu`` without query or
    fragment, ``ath`` on resource requests, and the server's ``nonce`` when it asked for one."""
    claims: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": method,
        "htu": url.split("?", 1)[0].split("#", 1)[0],
        "iat": now,
        "exp": now + 60,
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if access_token is not None:
        digest = hashlib.sha256(access_token.encode("ascii")).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    public_jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return jwt.encode(claims, key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": public_jwk})


def jwe_key_id(token: str) -> str | None:
    """The ``kid`` a compact JWE's protected header names (to pick the key), or None; nothing is trusted yet."""
    if not isinstance(token, str) or token.count(".") != 4:
        _reject("not a compact JWE")
    try:
        header = json.loads(base64.urlsafe_b64decode(token.split(".", 1)[0] + "=="))
    except (ValueError, TypeError, RecursionError):  # RecursionError: nested deeper than the parser's limit
        _reject("unreadable JWE header")
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def decryption_key_for(token: str, keys: Sequence[PrivateKey]) -> PrivateKey:
    """The gateway key a compact JWE is encrypted to, by the ``kid`` its header names; without a kid, the only
    key there is. Several keys are configured while one rotates, and the provider may encrypt to any key it read
    in the client JWKS, so each is accepted; a kid none of them has is refused, and nothing is guessed."""
    kid = jwe_key_id(token)
    candidates = [key for key in keys if kid is None or key.key_id == kid]
    if len(candidates) != 1:
        _reject("encrypted to a key this client does not have (or names none among several)")
    return candidates[0]


def decrypt_with_symmetric_jwk(token: str, jwk: Mapping[str, Any], algorithms: Collection[str]) -> bytes:
    """Decrypt a compact JWE with a symmetric JWK that an earlier decryption revealed (sgID's block key)."""
    try:
        key = OctKey.import_key(dict(jwk))
    except (JoseError, ValueError, TypeError):
        _reject("symmetric key is not a valid JWK")
    return _decrypt(token, key, algorithms)


def _string_or_strings(value: object) -> None:
    if not isinstance(value, str) and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise ValueError("must be a string or a list of strings")


REPLICATED_CLAIMS = {
    "iss": HeaderParameter("Issuer, replicated from the payload (RFC 7519 §5.3)", "str"),
    "sub": HeaderParameter("Subject, replicated from the payload (RFC 7519 §5.3)", "str"),
    "aud": HeaderParameter("Audience, replicated from the payload (RFC 7519 §5.3)", _string_or_strings),
}
"""Header members providers may add to a JWE (oidc-provider does); anything else unknown is still refused."""


def _decrypt(
    token: str, key: RSAKey | OctKey | ECKey, algorithms: Collection[str], max_bytes: int = 4 * MAX_TOKEN_BYTES
) -> bytes:
    if not isinstance(token, str) or len(token) > max_bytes or token.count(".") != 4:
        _reject("not a compact JWE of acceptable size")
    registry = jwe.JWERegistry(header_registry=REPLICATED_CLAIMS, algorithms=list(algorithms))
    try:
        return jwe.decrypt_compact(token, key, registry=registry).plaintext or b""
    except DecryptionFailed:
        _reject("content key did not decrypt")
    except (JoseError, ValueError, TypeError, KeyError) as error:
        _reject(f"JWE rejected: {type(error).__name__}")


def _jws_header(token: str, algorithms: Collection[str], max_bytes: int = MAX_TOKEN_BYTES) -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > max_bytes or token.count(".") != 2 or not token.isascii():
        _reject("not a compact JWS of acceptable size")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        _reject("unreadable JWS header")
    if header.get("alg") not in algorithms:
        _reject(f"alg {str(header.get('alg'))[:16]!r} not allowed")
    return header


def _verified_payload(token: str, header: Mapping[str, Any], policy: IdTokenPolicy, jwks: JwksCache) -> dict[str, Any]:
    """Verify with the matching JWKS key; on an unknown kid or a failed kid-less signature, refetch once."""
    for refresh in (False, True):
        key = _select_key(jwks.keys(policy.jwks_url, refresh=refresh), header)
        if key is None:
            continue
        try:
            payload: dict[str, Any] = jwt.decode(token, key.key, algorithms=[header["alg"]], options=_SIGNATURE_ONLY)
            return payload
        except jwt.InvalidSignatureError:
            if header.get("kid"):
                break
        except jwt.PyJWTError as error:
            _reject(f"JWS rejected: {type(error).__name__}")
    _reject("signature does not verify with the provider's keys")


def _jwks_key(entry: object) -> JwksKey | None:
    """A JWKS entry as a usable key, or None for junk (one bad entry must not break the whole set)."""
    if not isinstance(entry, dict) or "d" in entry:
        return None
    try:
        key = jwt.PyJWK(entry)
    except (jwt.PyJWTError, TypeError, ValueError, KeyError):
        return None
    kid, use, alg = entry.get("kid"), entry.get("use", "sig"), entry.get("alg")
    return JwksKey(
        kid=kid if isinstance(kid, str) else None,
        kty=str(entry.get("kty")),
        use=use if isinstance(use, str) else "",
        alg=alg if isinstance(alg, str) else None,
        key=key,
    )


def _select_key(keys: list[JwksKey], header: Mapping[str, Any]) -> jwt.PyJWK | None:
    """The key for the header's kid; without a kid, the only suitable key (several: refuse to guess)."""
    alg = header["alg"]
    suitable = [key for key in keys if key.kty == _KEY_TYPES.get(alg) and key.use == "sig" and key.alg in (None, alg)]
    kid = header.get("kid")
    if kid is not None:
        suitable = [key for key in suitable if key.kid == kid]
    return suitable[0].key if len(suitable) == 1 else None


_SIGNATURE_ONLY: jwt.types.Options = {
    "verify_signature": True,
    "verify_aud": False,
    "verify_iss": False,
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
}
"""PyJWT checks the signature only; claims are checked by the gateway's own code, with its clock."""
_KEY_TYPES = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC", "ES384": "EC", "ES512": "EC"}


class _DelegatedEcJwk(ECKey):
    """joserfc's view of a delegated EC key: no exportable members, only the key type and curve."""

    @property
    def dict_value(self) -> dict[str, Any]:
        return {"kty": "EC", "crv": "P-256"}


class _DelegatedEcKey(ec.EllipticCurvePrivateKey):
    """Lets PyJWT sign (ES256) and joserfc agree on ECDH-ES keys through the key interface.

    PyJWT calls ``sign(data, ECDSA(SHA256))`` and converts the DER signature; joserfc calls
    ``exchange(ECDH(), epk)`` and runs the Concat KDF and key unwrap itself. Only P-256 keys are delegated.
    """

    def __init__(self, key: PrivateKey) -> None:
        self._key = key

    @property
    def curve(self) -> ec.EllipticCurve:
        return ec.SECP256R1()

    @property
    def key_size(self) -> int:
        return 256

    def sign(
        self, data: bytes | bytearray | memoryview, signature_algorithm: ec.EllipticCurveSignatureAlgorithm
    ) -> bytes:
        if not isinstance(signature_algorithm.algorithm, hashes.SHA256):
            raise ValueError("only ES256 signatures are delegated")
        return self._key.sign(bytes(data), "ES256")

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        if not isinstance(peer_public_key.curve, ec.SECP256R1):
            raise DecryptionFailed("the ephemeral key is not on P-256")
        return self._key.ecdh(peer_public_key)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        raise NotImplementedError("not needed to sign or agree")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        raise NotImplementedError("the private key is not exportable")

    def private_bytes(self, encoding: Any, format: Any, encryption_algorithm: Any) -> bytes:
        raise NotImplementedError("the private key is not exportable")

    def __copy__(self) -> _DelegatedEcKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> _DelegatedEcKey:
        return self


class _DelegatedRsaJwk(RSAKey):
    """joserfc's view of a delegated key: its JWK form has no exportable members, only the key type."""

    @property
    def dict_value(self) -> dict[str, Any]:
        return {"kty": "RSA"}


class _DelegatedRsaKey(rsa.RSAPrivateKey):
    """Lets joserfc unwrap a JWE content key, and PyJWT sign RS256, through the key interface (KMS or a PEM).

    joserfc's RSA-OAEP algorithms call ``decrypt(encrypted_key, padding)``; PyJWT's RS256 calls
    ``sign(data, PKCS1v15(), SHA256())``. Every other private-key capability is refused, since a KMS key's
    private half is not available to export.
    """

    _OAEP_HASHES: Mapping[str, OaepHash] = {"sha1": "SHA-1", "sha256": "SHA-256"}

    def __init__(self, key: PrivateKey) -> None:
        self._key = key

    def decrypt(self, ciphertext: bytes, padding: padding.AsymmetricPadding) -> bytes:
        oaep_hash = self._oaep_hash(padding)
        if oaep_hash is None:
            raise DecryptionFailed("only RSA-OAEP content-key encryption is accepted")
        return self._key.rsa_decrypt(ciphertext, oaep_hash)

    def _oaep_hash(self, pad: padding.AsymmetricPadding) -> OaepHash | None:
        if not isinstance(pad, padding.OAEP):
            return None
        return self._OAEP_HASHES.get(pad.algorithm.name)

    @property
    def key_size(self) -> int:
        """Only consulted by joserfc when encrypting, which this key never does; 2048 is KMS's smallest."""
        return 2048

    def public_key(self) -> rsa.RSAPublicKey:
        raise NotImplementedError("not needed to decrypt")

    def sign(self, data: bytes | bytearray | memoryview, padding: padding.AsymmetricPadding, algorithm: Any) -> bytes:
        """PyJWT's RS256 asks for PKCS#1 v1.5 with SHA-256; nothing else is delegated."""
        if not isinstance(padding, _PKCS1v15) or not isinstance(algorithm, hashes.SHA256):
            raise ValueError("only RS256 signatures are delegated")
        return self._key.sign(bytes(data), "RS256")

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        raise NotImplementedError("the private key is not exportable")

    def private_bytes(self, encoding: Any, format: Any, encryption_algorithm: Any) -> bytes:
        raise NotImplementedError("the private key is not exportable")

    def __copy__(self) -> _DelegatedRsaKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> _DelegatedRsaKey:
        return self


def parse_json_object(data: bytes | str, what: str) -> dict[str, Any]:
    """A decrypted payload that must be a JSON object."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser's limit
        _reject(f"{what} is not JSON")
    if not isinstance(value, dict):
        _reject(f"{what} is not a JSON object")
    return value


def _reject(reason: str) -> NoReturn:
    raise InvalidToken(reason)
