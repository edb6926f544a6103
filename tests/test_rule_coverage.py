"""Every rule of the catalogue (../shared/RULES.md: 52 IDs) is named in at least one test."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The catalogue's families and sizes (RULES.md); checked against the file itself where it is reachable.
FAMILIES = {"EQ": 14, "TK": 12, "AV": 4, "AG": 8, "GV": 4, "BL": 6, "FC": 4}
RULE_IDS = {f"{family}-{n}" for family, size in FAMILIES.items() for n in range(1, size + 1)}
# Named by the billing runs' tests on wave/billing (test_bl1_… … test_bl6_…); the integrator empties this
# set when that branch is merged (the stale check below says so).
PENDING_ELSEWHERE: set[str] = set()


def _rules_file() -> Path | None:
    for base in (ROOT, *ROOT.parents):
        candidate = base / "shared" / "RULES.md"
        if candidate.is_file():
            return candidate
    return None


def _named_rules() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        names.update(re.findall(r"^(?:async )?def (test_\w+)", path.read_text(encoding="utf-8"), re.M))
    named = set()
    for rule in RULE_IDS:
        tag = rule.lower().replace("-", "")
        if any(re.search(rf"(?:^test_|_){tag}(?:_|$)", name) for name in names):
            named.add(rule)
    return named


def test_the_catalogue_has_52_rules():
    assert len(RULE_IDS) == 52
    rules_md = _rules_file()
    if rules_md is not None:  # the shared catalogue, when this checkout sits beside it
        assert set(re.findall(r"^- \*\*([A-Z]{2}-\d+)\*\*", rules_md.read_text(encoding="utf-8"), re.M)) == RULE_IDS


def test_every_rule_is_named_in_a_test():
    named = _named_rules()
    assert RULE_IDS - named - PENDING_ELSEWHERE == set(), "rules no test names"
    assert not (PENDING_ELSEWHERE & named), f"now named in tests: drop {sorted(PENDING_ELSEWHERE & named)} from PENDING"
