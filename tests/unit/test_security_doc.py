"""docs/security.md stays true: every checklist item has a row, and every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "security.md").read_text()
CHECKLIST_ITEMS = 46


def test_every_checklist_item_has_a_row() -> None:
    rows = {int(number) for number in re.findall(r"^\| (\d+) \|", DOC, flags=re.MULTILINE)}
    assert rows == set(range(1, CHECKLIST_ITEMS + 1))


def test_every_test_the_document_names_exists() -> None:
    named = re.findall(r"(tests/[\w/]+\.py)(?:::(\w+))?", DOC)
    assert len(named) > 100  # the document does cite its proofs
    missing = []
    for path, name in named:
        source = ROOT / path
        if not source.is_file() or (name and not re.search(rf"^\s*def {name}\(", source.read_text(), re.MULTILINE)):
            missing.append(f"{path}::{name}")
    assert missing == []


def test_a_bare_name_after_a_path_is_resolved_in_that_file() -> None:
    """Rows cite further tests of the same file as ``::name``; each must exist in the file named before it."""
    missing = []
    for cell in re.findall(r"^\|.*$", DOC, flags=re.MULTILINE):
        current = None
        for path, name in re.findall(r"(tests/[\w/]+\.py)?::(\w+)", cell):
            current = path or current
            if current and not re.search(rf"^\s*def {name}\(", (ROOT / current).read_text(), re.MULTILINE):
                missing.append(f"{current}::{name}")
    assert missing == []
