"""The shared pattern answers state questions from each machine's definition, and names no process."""
from __future__ import annotations

import re
from pathlib import Path

from domain.agreements import AGREEMENT
from domain.equipment import ACTIVE_STATES, EQUIPMENT, RETURNED
from domain.renewals import REARMABLE_STATES
from domain.service_requests import SERVICE_REQUEST
from domain.tickets import TICKET

ROOT = Path(__file__).resolve().parents[1]


def test_final_and_open_states_come_from_the_definition_in_declaration_order():
    assert TICKET.final_states == ("closed", "handed_back")
    assert SERVICE_REQUEST.final_states == tuple(s for s in SERVICE_REQUEST.states if s in SERVICE_REQUEST.final)
    assert set(AGREEMENT.final_states) == {"effective", "cancelled"}
    for definition in (TICKET, SERVICE_REQUEST, AGREEMENT, EQUIPMENT):
        assert set(definition.open_states) | set(definition.final_states) == set(definition.states)
        assert not set(definition.open_states) & set(definition.final_states)


def test_eq5_rearmable_states_are_the_states_before_a_return():
    assert REARMABLE_STATES == ("ordered", "called_off", "delivered", *ACTIVE_STATES)
    assert REARMABLE_STATES == EQUIPMENT.states_where(lambda s: EQUIPMENT.states.index(s) < EQUIPMENT.states.index(RETURNED))


def test_the_shared_pattern_files_name_no_process():
    for name in ("domain/process.py", "domain/common.py"):
        text = (ROOT / name).read_text().lower()
        found = re.findall(r"\b(device|equipment|ticket|premises|framework|cloud.move|development.case)\w*", text)
        assert not found, f"{name} names a process: {sorted(set(found))}"
