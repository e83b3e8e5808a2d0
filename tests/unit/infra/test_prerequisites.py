"""The prerequisite check `make dev` and `make test` start with, against fake programs on a PATH of their own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra import prerequisites
from infra.prerequisites import ROOT, main, node_minimum

CURRENT = {
    "python3.11": "echo 'Python 3.11.7'",
    "java": "echo 'openjdk version \"17.0.15\" 2025-04-15' >&2",  # java -version writes to stderr
    "node": "echo v20.20.2",
    "npm": "echo 10.8.2",
    "chromium": "echo 'Chromium 140.0.7339.185 built on Debian GNU/Linux 12 (bookworm)'",
}


@pytest.fixture
def path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory that is the whole PATH, holding a current version of every program."""
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", str(directory))
    for name, script in CURRENT.items():
        install(directory, name, script)
    return directory


def install(directory: Path, name: str, script: str) -> None:
    program = directory / name
    program.write_text(f"#!/bin/sh\n{script}\n")
    program.chmod(0o755)


def problems(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("  ✗")]


def test_everything_current_passes_and_says_what_it_found(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--browser"]) == 0
    out, err = capsys.readouterr()
    assert "Python 3.11.7, Java 17.0.15, Node.js 20.20.2, npm 10.8.2, Chromium 140.0.7339" in out
    assert err == ""


@pytest.mark.parametrize(
    ("program", "named", "why", "apt", "brew"),
    [
        ("python3.11", "Python 3.11+", "handlers", "python3.11 python3.11-venv", "python@3.11"),
        ("java", "Java 17+", "DynamoDB Local", "openjdk-17-jre-headless", "openjdk@17"),
        ("node", "Node.js 20.18+", "MockPass", "nodejs", "node"),
        ("npm", "npm 7+", "npm ci", "npm", "node"),
    ],
)
def test_a_missing_program_gets_one_line_saying_why_and_how_to_install_it(
    path: Path, capsys: pytest.CaptureFixture[str], program: str, named: str, why: str, apt: str, brew: str
) -> None:
    (path / program).unlink()
    assert main([]) == 1
    [line] = problems(capsys.readouterr().err)
    assert f"{named} is missing (no `{program}` on PATH)" in line
    assert why in line
    assert f"sudo apt-get install {apt};" in line
    assert f"brew install {brew}" in line


@pytest.mark.parametrize(
    ("program", "script", "expected"),
    [
        ("python3.11", "echo 'Python 3.10.12'", "Python 3.10.12 is too old (Python 3.11+ needed)"),
        ("java", "echo 'java version \"1.8.0_392\"' >&2", "Java 8.0 is too old (Java 17+ needed)"),
        ("java", "echo 'openjdk version \"11.0.21\" 2023-10-17' >&2", "Java 11.0.21 is too old (Java 17+ needed)"),
        ("node", "echo v18.20.4", "Node.js 18.20.4 is too old (Node.js 20.18+ needed)"),
        ("node", "echo v20.17.0", "Node.js 20.17.0 is too old (Node.js 20.18+ needed)"),
        ("npm", "echo 6.14.18", "npm 6.14.18 is too old (npm 7+ needed)"),
        (  # a pyenv shim for a version that is not the selected one
            "python3.11",
            "echo 'pyenv: python3.11: command not found' >&2; echo 'it exists in Python 3.11.7' >&2; exit 127",
            "`python3.11 --version` did not report a version (Python 3.11+ needed)",
        ),
        ("java", "echo 'no version here'", "`java -version` did not report a version (Java 17+ needed)"),
    ],
)
def test_a_program_too_old_or_unreadable_is_named_with_its_version(
    path: Path, capsys: pytest.CaptureFixture[str], program: str, script: str, expected: str
) -> None:
    install(path, program, script)
    assert main([]) == 1
    [line] = problems(capsys.readouterr().err)
    assert expected in line
    assert "Install it with Debian/Ubuntu: sudo apt-get install" in line


def test_java_options_printed_before_the_version_do_not_pass_for_it(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install(path, "java", "echo 'Picked up JAVA_TOOL_OPTIONS: -Xmx512m' >&2; echo 'openjdk version \"11.0.2\"' >&2")
    assert main([]) == 1
    assert "Java 11.0.2 is too old" in capsys.readouterr().err


def test_another_python_can_be_named(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install(path, "python3.12", "echo 'Python 3.12.1'")
    (path / "python3.11").unlink()
    assert main(["--python", "python3.12"]) == 0
    assert "Python 3.12.1" in capsys.readouterr().out


def test_chromium_is_needed_for_the_browser_tests_only(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (path / "chromium").unlink()
    assert main([]) == 0
    assert main(["--browser"]) == 1
    [line] = problems(capsys.readouterr().err)
    assert "Chromium 0+ is missing" in line
    assert "browser tests" in line


def test_every_problem_is_reported_at_once(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (path / "java").unlink()
    install(path, "node", "echo v16.20.2")
    assert main([]) == 1
    lines = problems(capsys.readouterr().err)
    assert [line.split(":")[0] for line in lines] == [
        "  ✗ Java 17+ is missing (no `java` on PATH)",
        "  ✗ Node.js 16.20.2 is too old (Node.js 20.18+ needed)",
    ]


def test_apt_installs_what_is_missing_and_the_check_runs_again(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (path / "java").unlink()
    install(path, "node", "echo v18.20.4")
    calls = tmp_path / "apt-calls"
    # A fake apt-get that records its arguments and, on install, puts a current java on the PATH.
    java = CURRENT["java"].replace("'", "'\\''")
    install(
        path,
        "apt-get",
        f'echo "$*" >> {calls}\nif [ "$1" = install ]; then printf "#!/bin/sh\\n%s\\n" \'{java}\' > {path}/java; '
        f"/bin/chmod +x {path}/java; fi",
    )
    assert main(["--install-with-apt"]) == 1  # Node.js stays too old: the distribution's is
    assert calls.read_text().splitlines() == ["update -qq", "install -y -qq openjdk-17-jre-headless nodejs"]
    [line] = problems(capsys.readouterr().err)
    assert "Node.js 18.20.4 is too old" in line
    assert "NodeSource" in line


def test_a_failing_apt_still_ends_in_the_clear_lines(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (path / "java").unlink()
    install(path, "apt-get", "exit 100")
    assert main(["--install-with-apt"]) == 1
    err = capsys.readouterr().err
    assert "apt-get update failed" in err
    [line] = problems(err)
    assert "Java 17+ is missing" in line


def test_nothing_is_installed_unless_asked(path: Path, tmp_path: Path) -> None:
    (path / "java").unlink()
    calls = tmp_path / "apt-calls"
    install(path, "apt-get", f'echo "$*" >> {calls}')
    assert main([]) == 1
    assert not calls.exists()


def test_the_node_minimum_is_package_json_s_and_covers_every_sandbox_package() -> None:
    """The check reads package.json's engines; each npm dependency's own ">=" minimum must be within it."""
    minimum = node_minimum()
    assert minimum == (20, 18)
    dependencies = json.loads((ROOT / "package.json").read_text())["dependencies"]
    for name in dependencies:
        engines = json.loads((ROOT / "node_modules" / name / "package.json").read_text()).get("engines", {})
        declared = re.fullmatch(r">=\s*([\d.]+)", engines.get("node", "").strip())
        if declared:
            assert (prerequisites.parse_version(declared.group(1)) or ()) <= minimum, name


def test_a_node_range_the_check_cannot_read_is_refused(tmp_path: Path) -> None:
    package_json = tmp_path / "package.json"
    package_json.write_text(json.dumps({"engines": {"node": "^20.18 || >=22"}}))
    with pytest.raises(ValueError, match=r"engines\.node"):
        node_minimum(package_json)
