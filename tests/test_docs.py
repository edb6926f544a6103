"""The docs say what the code does: the README's diagram is the machine's, and every test it names exists."""
from __future__ import annotations

import re
from pathlib import Path

from domain.equipment import EQUIPMENT

ROOT = Path(__file__).resolve().parents[1]


def all_test_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        names.update(re.findall(r"^(?:async )?def (test_\w+)", path.read_text(), re.MULTILINE))
    return names


def test_readme_starts_with_the_two_setup_commands():
    head = (ROOT / "README.md").read_text().splitlines()[:6]
    assert any(line.startswith("make run") for line in head) and any(line.startswith("make test") for line in head)


def test_readme_stays_short_and_points_to_docs():
    """The README gets a newcomer running and points to docs/ (every doc it links exists)."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 120
    for linked in re.findall(r"\]\((docs/[\w.-]+\.md)\)", text):
        assert (ROOT / linked).exists(), linked


def test_equipment_state_diagram_is_the_equipment_machine():
    assert EQUIPMENT.mermaid() in (ROOT / "docs" / "equipment.md").read_text()


def test_every_test_named_in_the_docs_exists():
    existing = all_test_names()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        named = set(re.findall(r"`(test_\w+)`", doc.read_text()))
        assert named <= existing, f"{doc.name} names tests that do not exist: {sorted(named - existing)}"


def test_every_eq_rule_has_a_row_in_the_equipment_doc():
    text = (ROOT / "docs" / "equipment.md").read_text()
    for number in range(1, 15):
        assert re.search(rf"^\| EQ-{number} \|", text, re.MULTILINE), f"EQ-{number} missing"
