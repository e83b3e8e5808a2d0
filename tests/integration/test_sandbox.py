"""The sandbox keeps everything on 127.0.0.1, including DynamoDB Local, which cannot be told where to bind; `make dev`
reports each service, prints addresses that answer and personas that log in, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from infra.sandbox.browser import Browser, mockpass_personas, persona_redirect
from infra.sandbox.personas import featured_personas
from infra.sandbox.personas import mockpass_personas as personas
from infra.sandbox.processes import free_port
from infra.sandbox.stack import ROOT, SANDBOX_PERSONA, Sandbox

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


SERVICES = [
    "moto (KMS, Secrets Manager)",
    "DynamoDB Local",
    "MockPass (sgID, MyInfo v3)",
    "oidc-provider (OIDC)",
    "OAuth 2.0 server",
    "Handlers",
    "Local API and demo frontend",
    "FAPI 2.0 provider (Singpass)",
    "FAPI 2.0 provider (Corppass)",
    "MyInfo v4 emulator",
]


@pytest.fixture
def make_dev(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``python -m infra.sandbox`` as ``make dev`` runs it, and what it printed up to its banner's last line."""
    command = [sys.executable, "-m", "infra.sandbox", "--port", str(free_port()), "--log-dir", str(tmp_path)]
    # A process group of its own, as a terminal gives a foreground command: Ctrl-C signals the whole group.
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    assert process.stdout is not None
    printed: list[str] = []
    try:
        for line in process.stdout:  # ends when the process does (e.g. failing to start)
            printed.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C stops everything"):
                break
        yield process, printed
    finally:
        if process.poll() is None:  # a failed test: stop it as `kill` would, so that it stops its services too
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_make_dev_reports_every_service_then_every_address_answers_until_ctrl_c(
    make_dev: tuple[subprocess.Popen[str], list[str]], tmp_path: Path
) -> None:
    process, printed = make_dev
    assert printed[-1] == "Ctrl-C stops everything.", "\n".join(printed)
    reported = [line for line in printed if line.startswith("  ✓ ")]
    names = [re.split(r"\s{2,}", line[4:])[0] for line in reported]
    assert [re.sub(r" \(\d+ functions\)$", "", name) for name in names] == SERVICES
    assert all(re.search(r"\(\d+\.\d s\)$", line) for line in reported)
    banner = printed[printed.index("The sandbox is up:") :]
    urls = {url for line in banner for url in re.findall(r"http://[\w.:]+", line)}
    assert len(urls) == 10  # the frontend and API, MockPass twice, five more providers, DynamoDB Local, moto
    for url in urls:
        assert answers(url), url
    logins = banner[banner.index(next(line for line in banner if line.startswith("Open "))) + 1 :]
    for name in ("Singpass app (sgID)", "OIDC", "OAuth 2.0", "Singpass", "Corppass", "Myinfo Business", "MyInfo",
                 "MyInfo v4"):  # fmt: skip
        assert any(line.startswith(f"  {name}  ") for line in logins), name
    assert any(line.startswith(f"  {SANDBOX_PERSONA}  TAN HENG HUAT") for line in banner)
    assert f"Services' logs: {tmp_path}/" in banner
    assert (tmp_path / "mockpass.log").read_text()

    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: every process of the group gets it, the workers too
    assert process.wait(timeout=60) == 0
    assert process.stdout is not None
    after = process.stdout.read()
    assert "Stopping ..." in after
    assert "Traceback" not in after, after  # the sandbox stops its children itself, quietly
    assert not any(answers(url) for url in urls)


def test_the_featured_personas_are_offered_by_mockpass_s_sgid_and_log_in(sandbox: Sandbox) -> None:
    """The personas the banner suggests are on MockPass's sgID page, and logging in as one shows that person."""
    offered = mockpass_personas(Browser(sandbox.url).start_login().headers["Location"])
    for persona in featured_personas(personas()):
        assert persona.nric in offered
        browser = Browser(sandbox.url)
        authorize = browser.start_login().headers["Location"]
        assert browser.get(persona_redirect(authorize, persona.nric)).headers["Location"] == f"{sandbox.url}/"
        assert browser.api("/api/me").json()["person"]["myinfo.name"] == persona.name


def answers(url: str) -> bool:
    """Whether anything answers HTTP at ``url`` (an error status counts: DynamoDB Local refuses a bare GET)."""
    try:
        with urllib.request.urlopen(url, timeout=10):  # noqa: S310 - the sandbox's own local services
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
