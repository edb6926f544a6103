"""docs/premises.md agrees with the code: the state diagram, the FC-3 table and the rules table."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from domain.premises import POWER_BY_CLASS, PREMISES, PowerRequirement, ReservePower, power_requirement_met

DOC = Path(__file__).resolve().parents[2] / "docs" / "premises.md"


def test_docs_hold_the_premises_state_diagram():
    assert PREMISES.mermaid() in DOC.read_text(encoding="utf-8")
    assert all(move.rule.startswith("FC-") for move in PREMISES.moves)


def test_fc3_power_requirement_per_site_class():
    text = DOC.read_text(encoding="utf-8")
    for site_class, power in POWER_BY_CLASS.items():
        assert f"| `{site_class.value}` | `{power.value}` |" in text
    ups = lambda hours: ReservePower(kind="ups", hours=Decimal(hours))  # noqa: E731
    assert not power_requirement_met(PowerRequirement.FOUR_HOURS, ups("3.5"))
    assert power_requirement_met(PowerRequirement.FOUR_HOURS, ups("4"))
    assert not power_requirement_met(PowerRequirement.DIESEL_AUTOMATIC_TAKEOVER,
                                     ReservePower(kind="ups", hours=Decimal(8), automatic_takeover=True))
    assert power_requirement_met(PowerRequirement.NONE, None)
    assert not power_requirement_met(PowerRequirement.LOCAL_RESERVE_POWER, None)


def test_every_fc_rule_has_a_row_in_the_docs():
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## Rules and their tests"):]
    for number in range(1, 5):
        assert re.search(rf"^\| FC-{number} \|", table, re.M), f"FC-{number}"
