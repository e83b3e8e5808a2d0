"""Checks the programs ``make dev`` and ``make test`` need before anything is installed, and says what is missing.

It runs before the virtualenv exists, possibly with an older ``python3`` than the project's (to say that
python3.11 is missing), so it uses the standard library only and no syntax newer than Python 3.8.

    python3 infra/prerequisites.py [--python python3.11] [--browser] [--install-with-apt]

Each program missing or too old gets one line: what, why the project needs it, and how to install it. The exit
status is 1 when any is. ``--install-with-apt`` (the Makefile passes it when run as root, as on a clean CI
machine) first installs the Debian packages of the missing ones, then checks again.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Requirement:
    """A program the project runs, the oldest version that works, and where to get it."""

    name: str
    command: str
    minimum: tuple[int, ...]
    purpose: str
    apt: str
    """Debian/Ubuntu package(s); what ``--install-with-apt`` installs."""
    brew: str
    """Homebrew formula (macOS)."""
    version_flag: str = "--version"
    version_pattern: str = r"(\d+)(?:\.(\d+))?(?:\.(\d+))?"
    """Where the version is in the program's output (the first match)."""
    other_source: str = ""
    """Where to get a new enough version when the distribution's own may be too old."""

    def install_hint(self) -> str:
        hint = f"Debian/Ubuntu: sudo apt-get install {self.apt}; macOS: brew install {self.brew}"
        return f"{hint}; or {self.other_source}" if self.other_source else hint


@dataclass(frozen=True)
class Finding:
    """What was found for one requirement: its version, or why it does not do."""

    requirement: Requirement
    version: tuple[int, ...] | None
    """None: not found, or its version could not be read."""
    found: bool

    @property
    def ok(self) -> bool:
        return self.version is not None and self.version >= self.requirement.minimum

    def line(self) -> str:
        """One line a person can act on."""
        requirement = self.requirement
        wanted = f"{requirement.name} {_dotted(requirement.minimum)}+"
        if self.ok:
            return f"{requirement.name} {_dotted(self.version or ())}"
        if not self.found:
            problem = f"{wanted} is missing (no `{requirement.command}` on PATH)"
        elif self.version is None:
            problem = f"`{requirement.command} {requirement.version_flag}` did not report a version ({wanted} needed)"
        else:
            problem = f"{requirement.name} {_dotted(self.version)} is too old ({wanted} needed)"
        return f"{problem}: it {requirement.purpose}. Install it with {requirement.install_hint()}."


def requirements(python: str = "python3.11", browser: bool = False) -> list[Requirement]:
    """What ``make dev`` needs (``browser``: and what ``make test`` needs besides)."""
    needed = [
        Requirement(
            name="Python",
            command=python,
            minimum=(3, 11),
            purpose="runs the gateway's handlers, the sandbox and the tests (the code stays 3.11-compatible)",
            apt="python3.11 python3.11-venv",
            brew="python@3.11",
            other_source="set PYTHON=/path/to/python3.11",
        ),
        Requirement(
            name="Java",
            command="java",
            minimum=(17,),  # DynamoDB Local's classes are compiled for Java 17 (class file version 61)
            purpose="runs DynamoDB Local",
            apt="openjdk-17-jre-headless",
            brew="openjdk@17",
            version_flag="-version",
            version_pattern=r'version "(\d+)(?:\.(\d+))?(?:\.(\d+))?',  # not "Picked up JAVA_TOOL_OPTIONS: -Xmx512m"
        ),
        Requirement(
            name="Node.js",
            command="node",
            minimum=node_minimum(),
            purpose="runs MockPass, oidc-provider and the MyInfo v4 emulator",
            apt="nodejs",
            brew="node",
            other_source="from https://nodejs.org or NodeSource where the distribution's is older",
        ),
        Requirement(
            name="npm",
            command="npm",
            minimum=(7,),  # package-lock.json is lockfileVersion 3
            purpose="installs the sandbox's Node packages (npm ci)",
            apt="npm",
            brew="node",
        ),
    ]
    if browser:
        needed.append(
            Requirement(
                name="Chromium",
                command="chromium",
                minimum=(0,),
                purpose="runs the browser tests (make test, make e2e; not make dev)",
                apt="chromium",
                brew="--cask chromium",
                other_source="on Ubuntu the chromium snap; on macOS put Chromium.app's binary on PATH as chromium",
            )
        )
    return needed


def node_minimum(package_json: Path = ROOT / "package.json") -> tuple[int, ...]:
    """The oldest Node.js the project supports: package.json's ``engines.node`` (">=20.18")."""
    engines = json.loads(package_json.read_text())["engines"]["node"]
    match = re.fullmatch(r"\s*>=\s*(\d+(?:\.\d+)*)\s*", engines)
    if match is None:
        raise ValueError(f"package.json engines.node must read '>=X.Y', not {engines!r}")
    return parse_version(match.group(1)) or ()


def parse_version(text: str, pattern: str = Requirement.version_pattern) -> tuple[int, ...] | None:
    """The version in a program's output; Java's old "1.8.0_392" style means 8."""
    match = re.search(pattern, text)
    if match is None:
        return None
    numbers = tuple(int(part) for part in match.groups() if part is not None)
    return numbers[1:] if numbers[0] == 1 and len(numbers) > 1 else numbers


def check(requirement: Requirement) -> Finding:
    executable = shutil.which(requirement.command)
    if executable is None:
        return Finding(requirement, None, found=False)
    try:
        run = subprocess.run(
            [executable, requirement.version_flag], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return Finding(requirement, None, found=True)
    if run.returncode != 0:
        return Finding(requirement, None, found=True)
    output = run.stdout + run.stderr  # java -version writes to stderr
    return Finding(requirement, parse_version(output, requirement.version_pattern), found=True)


def check_all(needed: list[Requirement]) -> list[Finding]:
    return [check(requirement) for requirement in needed]


def install_with_apt(findings: list[Finding]) -> None:
    """Install the Debian packages of what is missing or too old (as root, e.g. on a clean CI machine)."""
    packages = [package for finding in findings if not finding.ok for package in finding.requirement.apt.split()]
    if not packages:
        return
    print("Installing Debian packages: " + " ".join(packages), flush=True)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        try:
            subprocess.run(command, env=environment, check=True, stdout=subprocess.DEVNULL)
        except (OSError, subprocess.CalledProcessError) as error:  # the check that follows says what is missing
            print(f"  {' '.join(command[:2])} failed: {error}", file=sys.stderr)
            return


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="infra/prerequisites.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default="python3.11", help="the interpreter the virtualenv is made with")
    parser.add_argument("--browser", action="store_true", help="also Chromium, for the browser tests")
    parser.add_argument("--install-with-apt", action="store_true", help="apt-get install what is missing first")
    options = parser.parse_args(arguments)
    needed = requirements(options.python, options.browser)
    findings = check_all(needed)
    if options.install_with_apt and not all(finding.ok for finding in findings):
        install_with_apt(findings)
        findings = check_all(needed)
    problems = [finding for finding in findings if not finding.ok]
    for finding in problems:
        print(f"  ✗ {finding.line()}", file=sys.stderr)
    if problems:
        return 1
    print("      found " + ", ".join(finding.line() for finding in findings), flush=True)
    return 0


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(number) for number in version)


if __name__ == "__main__":
    sys.exit(main())
