"""What `make dev` reports while the sandbox starts, and the personas it offers, against MockPass's own data."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.sandbox.console import persona_table, progress_line
from infra.sandbox.personas import FEATURED, MOCKPASS_MYINFO, featured_personas, mockpass_personas
from infra.sandbox.processes import running, wait_for_port
from infra.sandbox.stack import SANDBOX_PERSONA, ServiceStarted, ServiceStartError, _Startup

MOCKPASS_DATA = json.loads(MOCKPASS_MYINFO.read_text())["personas"]


@contextlib.contextmanager
def listening_service(log: Path) -> Iterator[str]:
    """A real service: a Python process listening on a port, started and awaited as the sandbox does."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = (
        "import socket, time\n"
        f"server = socket.create_server(('127.0.0.1', {port}))\n"
        "print('listening', flush=True)\n"
        "time.sleep(60)\n"
    )
    with running([sys.executable, "-c", script], log) as process:
        wait_for_port(port, "the test service", process=process)
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def crashing_service(log: Path) -> Iterator[str]:
    """A service whose process exits before it listens, saying why in its log."""
    command = [sys.executable, "-c", "print('bad configuration: no client'); raise SystemExit(3)"]
    with running(command, log) as process:
        wait_for_port(1, "the test service", process=process)
        yield "never"


def test_each_service_is_reported_with_its_address_and_time(tmp_path: Path) -> None:
    events: list[ServiceStarted] = []
    with contextlib.ExitStack() as stack:
        starting = _Startup(stack, events.append)
        url = starting.enter("Test service", listening_service(tmp_path / "service.log"))
        with starting.step("Handlers (2 functions)"):
            pass
        assert [(event.name, event.address) for event in events] == [
            ("Test service", url),
            ("Handlers (2 functions)", ""),
        ]
        assert all(event.seconds >= 0 for event in events)
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5):
            pass  # it is still running while the sandbox is


def test_a_service_that_does_not_start_is_named_with_its_log_at_once(tmp_path: Path) -> None:
    log = tmp_path / "crashing.log"
    events: list[ServiceStarted] = []
    with contextlib.ExitStack() as stack, pytest.raises(ServiceStartError) as raised:
        _Startup(stack, events.append).enter("MockPass", crashing_service(log), log=log)
    assert str(raised.value) == (f"MockPass did not start: the test service exited with status 3 (its log: {log})")
    assert raised.value.service == "MockPass"
    assert "bad configuration: no client" in log.read_text()
    assert events == []


def test_without_a_progress_callback_starting_is_silent(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with contextlib.ExitStack() as stack:
        _Startup(stack, None).enter("Test service", listening_service(tmp_path / "service.log"))
    assert capfd.readouterr() == ("", "")


def test_a_progress_line_shows_name_address_and_time() -> None:
    line = progress_line(ServiceStarted("DynamoDB Local", "http://127.0.0.1:8000", 1.234))
    assert line.startswith("  ✓ DynamoDB Local ")
    assert line.split() == ["✓", "DynamoDB", "Local", "http://127.0.0.1:8000", "(1.2", "s)"]


def test_the_personas_are_mockpass_s_myinfo_personas() -> None:
    personas = mockpass_personas()
    assert [persona.nric for persona in personas] == list(MOCKPASS_DATA)
    for persona in personas:
        assert persona.name == MOCKPASS_DATA[persona.nric]["name"]["value"]


def test_a_persona_s_description_says_what_logging_in_shows() -> None:
    [default] = [persona for persona in mockpass_personas() if persona.nric == SANDBOX_PERSONA]
    assert default.name == "TAN HENG HUAT"
    assert default.description == (
        "female, Singapore citizen, born 1998, married, 1 child, 1 vehicle, 3-room flat (HDB)"
    )
    [foreigner] = [persona for persona in mockpass_personas() if persona.nric == "G1612352N"]
    assert foreigner.description == "female, Thai, foreigner, born 1961, married, 4 children"


def test_personas_that_crash_mockpass_s_sgid_are_marked_so() -> None:
    """MockPass 4.3.4's sgID formats an address from parts an "Unformatted" one lacks, and crashes."""
    not_sgid = {persona.nric for persona in mockpass_personas() if not persona.works_with_sgid}
    assert not_sgid == {"S9912364H", "S6005055D"}
    assert "(not with sgID)" in persona_table(mockpass_personas()).splitlines()[list(MOCKPASS_DATA).index("S9912364H")]


def test_the_featured_personas_exist_and_work_with_every_provider() -> None:
    featured = featured_personas(mockpass_personas())
    assert [persona.nric for persona in featured] == list(FEATURED)
    assert featured[0].nric == SANDBOX_PERSONA
    assert all(persona.works_with_sgid for persona in featured)
    assert len({persona.description.split(", ")[1] for persona in featured}) > 1  # not all alike


def test_the_persona_table_lists_every_persona_once() -> None:
    lines = persona_table(mockpass_personas()).splitlines()
    assert [line.split()[0] for line in lines] == list(MOCKPASS_DATA)
