"""URLs the gateway accepts: the browser-facing ones (:func:`base_url`, :func:`origin_of`) and the providers' ones,
which the gateway itself calls (:class:`UrlPolicy`): outside a sandbox, https only and never a local host.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ConfigurationError

LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",  # "this host": 0.0.0.0 (also written 0) reaches the local host
        "127.0.0.0/8",  # loopback: the Lambda runtime API (127.0.0.1:9001), extensions
        "169.254.0.0/16",  # link-local: instance metadata, the VPC's DNS resolver, time sync, ECS task metadata
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
        "::/96",  # unspecified (::), loopback (::1) and the deprecated IPv4-compatible addresses
        "fe80::/10",  # link-local
        "ff00::/8",  # multicast
        "fd00:ec2::/32",  # AWS's own services over IPv6: instance metadata (fd00:ec2::254), DNS, time sync
    )
)
"""Addresses a provider never has: the host itself, its link and AWS's host-local services. Private networks
(10/8, 172.16/12, 192.168/16, fc00::/7 outside fd00:ec2::/32) are not among them: a company's SSO on a VPC-private
address is a legitimate provider for a VPC-attached function, which reaches only what its security groups allow."""
EMBEDDED_IPV4 = (ipaddress.ip_network("::ffff:0:0/96"), ipaddress.ip_network("64:ff9b::/96"))
"""IPv6 addresses that stand for an IPv4 one (IPv4-mapped, NAT64), judged by the IPv4 address they carry."""
_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")
_HOST_CHARACTERS = re.compile(r"[a-z0-9._:%-]+")


def local_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``address`` is the host's own, its link's, or one of AWS's host-local services (:data:`LOCAL_NETWORKS`),
    also written as an IPv4-mapped or NAT64 IPv6 address."""
    if isinstance(address, ipaddress.IPv6Address) and any(address in network for network in EMBEDDED_IPV4):
        address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return any(address.version == network.version and address in network for network in LOCAL_NETWORKS)


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a URL's host names literally, as a resolver reads it, or None for a name.

    Besides the usual forms, resolvers accept IPv4 addresses as inet_aton(3) reads them: one to four parts, each
    decimal, octal (a leading 0) or hex (0x), the last filling the bytes left (``2130706433``, ``0x7f.1``,
    ``0177.0.0.1`` and ``127.1`` are all 127.0.0.1, ``0`` is 0.0.0.0).
    """
    host = host.rstrip(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_IPV4_PART.fullmatch(part) for part in parts):
        return None
    values = [int(part, 16) if part[:2].lower() == "0x" else int(part, 8 if part[0] == "0" else 10) for part in parts]
    *leading, last = values
    if any(value > 255 for value in leading) or last >= 256 ** (5 - len(parts)):
        return None
    number = last
    for index, value in enumerate(leading):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


@dataclass(frozen=True)
class UrlPolicy:
    """Which provider URLs the gateway calls (or sends browsers to): every URL configured for a provider, every one
    its discovery or metadata document names, every one the HTTP client is asked to call, and every address the
    client connects to.

    Outside a sandbox (``GATEWAY_ALLOW_LOCAL_PROVIDERS`` unset, as template.yaml leaves it), a provider URL must be
    https, and its host, written in ASCII letters, digits, dots, hyphens and underscores (an internationalised name
    in its ``xn--`` form), must not be local: not ``localhost`` or a ``*.localhost`` name, not an address of
    :data:`LOCAL_NETWORKS` in any form a resolver accepts (:func:`ip_literal`); and a name that resolves to such an
    address is not connected to (:mod:`singpass_gateway.http`). A sandbox, whose providers all listen on
    ``http://127.0.0.1``, allows them: only :func:`base_url`'s rules apply there.
    """

    allow_local: bool = False
    """True only for a sandbox or development deployment (``GATEWAY_ALLOW_LOCAL_PROVIDERS=true``)."""

    def provider_url(self, value: str, name: str) -> str:
        """:func:`base_url`, and what this policy refuses, as a ConfigurationError naming ``name``."""
        problem = self.problem(value)
        if problem is not None:
            raise ConfigurationError(f"{name} {problem}")
        return base_url(value, name)

    def problem(self, url: str) -> str | None:
        """What this policy has against calling ``url`` (None: nothing; an unparseable URL is left to its parser)."""
        if self.allow_local:
            return None
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").rstrip(".")
        except ValueError:
            return None
        if parts.scheme != "https":
            return "must use https (plain http is allowed only in a sandbox)"
        if not host:
            return None
        if not _HOST_CHARACTERS.fullmatch(host):
            return "must name its host in ASCII letters, digits, dots and hyphens (an internationalised name as xn--)"
        address = ip_literal(host)
        if host == "localhost" or host.endswith(".localhost") or (address is not None and local_address(address)):
            return f"names a local host ({host}): loopback, link-local and the like are allowed only in a sandbox"
        return None

    def address_allowed(self, address: str) -> bool:
        """Whether the client may talk to a peer at ``address`` (an IP address as the socket reports it)."""
        return self.allow_local or not local_address(ipaddress.ip_address(address))


def origin_of(url: str) -> str:
    """The origin of an absolute URL as browsers send it in ``Origin``: scheme and host lowercased, no path."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default_port = {"https": 443, "http": 80}.get(scheme)
    return f"{scheme}://{host}" if parts.port in (None, default_port) else f"{scheme}://{host}:{parts.port}"


def base_url(value: str, name: str) -> str:
    """An absolute https URL (http only on loopback) without query or fragment, kept without a trailing slash.

    The browser-facing URLs (the frontend's, the API's) are checked with this alone; a provider's URLs, which the
    gateway itself calls, with :meth:`UrlPolicy.provider_url`.
    """
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket: "https://["
        raise ConfigurationError(f"{name} is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(f"{name} must be an absolute https URL without query or fragment")
    if parts.scheme == "http" and hostname not in ("localhost", "127.0.0.1"):
        raise ConfigurationError(f"{name} must use https (http is allowed only for localhost)")
    return value.rstrip("/")
