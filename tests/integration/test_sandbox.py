"""The sandbox keeps everything on 127.0.0.1, including DynamoDB Local, which cannot be told where to bind."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from infra.sandbox.stack import Sandbox

LISTEN = "0A"


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as the kernel lists them) with a listening socket on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if fields[3] == LISTEN and int(port_hex, 16) == port:
                found.add(address)
    return found


def test_every_service_listens_on_loopback_only(sandbox: Sandbox) -> None:
    loopback_v4 = "0100007F"
    for url in (sandbox.url, sandbox.mockpass_url, sandbox.dynamodb_url, sandbox.moto_url):
        port = urlsplit(url).port
        assert port is not None
        assert listening_addresses(port) == {loopback_v4}, url


def test_dynamodb_local_runs_in_a_network_namespace_of_its_own(sandbox: Sandbox) -> None:
    own_namespace = os.readlink("/proc/self/ns/net")
    java_namespaces = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"DynamoDBLocal.jar" in Path(f"/proc/{pid}/cmdline").read_bytes():
                java_namespaces.add(os.readlink(f"/proc/{pid}/ns/net"))
        except OSError:
            continue
    assert java_namespaces
    assert own_namespace not in java_namespaces
