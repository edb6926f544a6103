"""docs/tickets.md agrees with the code: diagrams, the TK-7 table, and the rules-to-tests table."""
from __future__ import annotations

import re
from pathlib import Path

from scripts.render_docs import DOC, generated_blocks, render

ROOT = Path(__file__).resolve().parents[2]
RULES = [f"TK-{n}" for n in range(1, 13)] + [f"AV-{n}" for n in range(1, 5)]


def test_docs_hold_the_generated_state_diagrams_and_tk7_table():
    text = DOC.read_text(encoding="utf-8")
    assert render(text) == text, "run `make docs` to refresh docs/tickets.md"
    for body in generated_blocks().values():
        assert body in text


def test_tk7_table_in_the_docs_lists_every_matter():
    from domain.support_matters import Matter

    text = DOC.read_text(encoding="utf-8")
    for matter in Matter:
        assert f"(`{matter.value}`)" in text


def _test_names() -> set[str]:
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        names |= set(re.findall(r"^(?:async )?def (test_\w+)", path.read_text(encoding="utf-8"), re.M))
    return names


def test_every_tk_and_av_rule_is_named_in_a_test_and_in_the_docs_table():
    names = _test_names()
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## Rules and their tests"):]
    for rule in RULES:
        tag = rule.lower().replace("-", "")
        assert any(re.search(rf"(?:^test_|_){tag}(?:_|$)", name) for name in names), f"no test names {rule}"
        assert re.search(rf"^\| {rule} \|", table, re.M), f"no row for {rule} in the docs"
    for cited in re.findall(r"`(test_\w+)`", table):
        assert cited in names, f"docs cite a test that does not exist: {cited}"
