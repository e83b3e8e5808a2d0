"""python.lock stays the tested set of pyproject.toml: every package pinned with ``==`` and hashes, and every dependency
pyproject.toml names (its runtime and ``dev`` dependencies, and its build backend) locked at a version its range allows.
The Lambda layer's locks hold its requirements.txt's and tracing-requirements.txt's pins, with hashes, and no botocore.

``PYTHON_LOCK=/path/to/a.lock`` checks another file in python.lock's place, e.g. a candidate before it is committed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = Path(os.environ.get("PYTHON_LOCK", ROOT / "python.lock"))
LAYER = ROOT / "layers" / "gateway"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SHA256 = re.compile(r"--hash=sha256:([0-9a-f]+)")


@dataclass(frozen=True)
class Locked:
    requirement: Requirement
    hashes: tuple[str, ...]

    @property
    def version(self) -> Version | None:
        """The pinned version, or None unless the line pins exactly one version with ``==``."""
        specifiers = list(self.requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
            return None
        return Version(specifiers[0].version)


def entries(text: str) -> list[str]:
    """The lock's lines with their continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    lines = (re.sub(r"(^|\s)#.*", "", line).strip() for line in joined.splitlines())
    return [line for line in lines if line]


def parse(text: str) -> tuple[dict[NormalizedName, Locked], list[str]]:
    """The locked packages by name, and the option lines (``--only-binary :all:`` and the like)."""
    packages: dict[NormalizedName, Locked] = {}
    options = []
    for entry in entries(text):
        if entry.startswith("-"):
            options.append(entry)
            continue
        requirement = Requirement(entry.split(" --hash")[0].strip())
        name = canonicalize_name(requirement.name)
        assert name not in packages, f"{name} is locked twice"
        packages[name] = Locked(requirement, tuple(SHA256.findall(entry)))
    return packages, options


def declared() -> list[Requirement]:
    """What pyproject.toml asks for: its dependencies, its `dev` extra and its build backend."""
    project = PYPROJECT["project"]
    names = [*project["dependencies"], *project["optional-dependencies"]["dev"], *PYPROJECT["build-system"]["requires"]]
    return [Requirement(name) for name in names]


def bad_hashes(lock: Locked) -> bool:
    return any(len(digest) != 64 for digest in lock.hashes)


def unpinned_source(lock: Locked) -> bool:
    return bool(lock.requirement.url or lock.requirement.marker)


def pinning_problems(text: str) -> list[str]:
    packages, options = parse(text)
    problems = [f"{name}: not pinned with a single ==" for name, lock in packages.items() if lock.version is None]
    problems += [f"{name}: no sha256 hash" for name, lock in packages.items() if not lock.hashes]
    problems += [f"{name}: a hash that is not a sha256" for name, lock in packages.items() if bad_hashes(lock)]
    problems += [f"{name}: a URL, path or marker" for name, lock in packages.items() if unpinned_source(lock)]
    problems += [f"an option other than wheels only: {option}" for option in options if option != "--only-binary :all:"]
    if "--only-binary :all:" not in options:
        problems.append("--only-binary :all: missing (an sdist would build with unhashed build dependencies)")
    return problems


def drift_problems(text: str) -> list[str]:
    packages, _ = parse(text)
    problems = []
    for wanted in declared():
        lock = packages.get(canonicalize_name(wanted.name))
        if lock is None:
            problems.append(f"{wanted}: not in the lock")
        elif lock.version is None or not wanted.specifier.contains(lock.version, prereleases=True):
            problems.append(f"{wanted}: locked as {lock.requirement}")
        elif not wanted.extras <= lock.requirement.extras:
            problems.append(f"{wanted}: locked without the extras {sorted(wanted.extras - lock.requirement.extras)}")
    return problems


def test_every_locked_package_is_pinned_with_hashes_and_wheels_only() -> None:
    packages, _ = parse(LOCK.read_text())
    assert len(packages) > 100  # the whole environment, not only what pyproject.toml names
    assert pinning_problems(LOCK.read_text()) == []


def test_every_dependency_of_pyproject_is_locked_within_its_range() -> None:
    assert drift_problems(LOCK.read_text()) == []


def test_the_lock_carries_the_installer_and_the_build_backend() -> None:
    """The Makefile installs the project with --no-build-isolation, so its build backend must come from the lock."""
    packages, _ = parse(LOCK.read_text())
    assert {"pip", "setuptools"} <= packages.keys()


def test_the_makefile_installs_from_the_lock_and_reinstalls_when_it_changes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LOCK := python\.lock$", makefile, re.MULTILINE)
    rule = re.search(r"^\$\(VENV\)/\.installed: (.*)\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert rule is not None
    assert "$(LOCK)" in rule.group(1).split()
    assert "--require-hashes --no-deps --requirement $(LOCK)" in rule.group(2)
    assert "--no-deps --no-build-isolation --editable ." in rule.group(2)


@pytest.mark.parametrize(
    ("pins", "lock"),
    [("requirements.txt", "requirements.lock"), ("tracing-requirements.txt", "tracing-requirements.lock")],
)
def test_the_layers_locks_hold_its_pins_with_hashes_and_no_botocore(pins: str, lock: str) -> None:
    """What `sam build` installs into the layer (layers/gateway/Makefile): the pins, and whatever they need."""
    text = (LAYER / lock).read_text()
    packages, _ = parse(text)
    assert pinning_problems(text) == []
    pinned = [Requirement(entry) for entry in entries((LAYER / pins).read_text())]
    wanted = {canonicalize_name(requirement.name): requirement.specifier for requirement in pinned}
    locked = {name: packages[name].requirement.specifier for name in wanted if name in packages}
    assert locked == wanted
    assert {"boto3", "botocore"}.isdisjoint(packages)  # the runtime's own


def _without(text: str, name: str) -> str:
    return re.sub(rf"^{name}(\[[^]]*\])?==.*\n(    .*\n)*", "", text, flags=re.MULTILINE)


@pytest.mark.parametrize(
    ("mutate", "found"),
    [
        pytest.param(lambda text: _without(text, "ruff"), "ruff>=0.9: not in the lock", id="a pin removed"),
        pytest.param(
            lambda text: re.sub(r"^joserfc==\S+", "joserfc==2.0.0", text, flags=re.MULTILINE),
            "joserfc<2,>=1.4.2: locked as joserfc==2.0.0",
            id="a pin outside pyproject's range",
        ),
        pytest.param(
            lambda text: re.sub(r"^moto\[server\]==", "moto==", text, flags=re.MULTILINE),
            "moto[server]<6,>=5.1: locked without the extras ['server']",
            id="an extra dropped",
        ),
    ],
)
def test_a_lock_that_drifted_from_pyproject_is_caught(mutate: Callable[[str], str], found: str) -> None:
    assert found in drift_problems(mutate(LOCK.read_text()))


@pytest.mark.parametrize(
    ("mutate", "found"),
    [
        pytest.param(
            lambda text: re.sub(r"^(mypy==\S+ \\\n)(    --hash=.*\n)+", r"\1", text, flags=re.MULTILINE),
            "mypy: no sha256 hash",
            id="hashes removed",
        ),
        pytest.param(
            lambda text: re.sub(r"^pytest==", "pytest>=", text, flags=re.MULTILINE),
            "pytest: not pinned with a single ==",
            id="a range instead of a pin",
        ),
        pytest.param(
            lambda text: text.replace("--only-binary :all:\n", ""),
            "--only-binary :all: missing (an sdist would build with unhashed build dependencies)",
            id="sdists allowed",
        ),
    ],
)
def test_a_lock_that_is_not_fully_pinned_is_caught(mutate: Callable[[str], str], found: str) -> None:
    assert found in pinning_problems(mutate(LOCK.read_text()))
