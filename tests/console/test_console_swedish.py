"""Swedish all the way through (issue 23): every state and event of every machine, every rule's refusal and
pydantic's validation messages have Swedish text in the console's one catalogue (console/i18n.py,
console/refusals.py); a refusal keeps naming its rule (`regel EQ-11`). Fails when a machine grows a state,
an event or a condition message without its Swedish."""
from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import date
from typing import Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

import domain
from console.api_client import Answer
from console.i18n import NAMES_SV, WORDS, day, line_text, name, when
from console.refusals import CONDITIONS, pydantic_swedish, refusal_text, swedish
from domain.process import GuardedProcess, ProcessDefinition, illegal_move_message

RULE_ID = re.compile(r"\b[A-Z]{2}-\d+\b")


def _modules():
    return [importlib.import_module(f"domain.{m.name}") for m in pkgutil.iter_modules(domain.__path__)]


def machines() -> list[ProcessDefinition]:
    found: list[ProcessDefinition] = []
    for module in _modules():
        found += [v for v in vars(module).values() if isinstance(v, ProcessDefinition) and v not in found]
    return found


def processes() -> list[type[GuardedProcess]]:
    found: list[type] = []
    for module in _modules():
        found += [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, GuardedProcess)
                  and v is not GuardedProcess and v not in found]
    return found


def test_every_state_and_event_of_every_machine_has_swedish_text():
    assert len(machines()) >= 9  # agreement … ticket: all of domain/*
    missing = sorted({f"{m.name}: {code}" for m in machines()
                      for code in (*m.states, *(move.trigger for move in m.moves)) if code not in NAMES_SV})
    assert not missing, f"no Swedish in console/i18n.py NAMES_SV for: {missing}"
    assert name("lost", "sv") == "borttappad (lost)" and name("in_use", "en") == "in use"


def test_every_rule_refusal_of_every_machine_has_swedish_text_keeping_its_rule():
    messages = {m for process in processes() for m in getattr(process, "condition_messages", {}).values()}
    assert messages and messages <= set(CONDITIONS), f"no Swedish for: {sorted(messages - set(CONDITIONS))}"
    for message in messages:
        said = swedish(message)
        assert said and RULE_ID.findall(said) == RULE_ID.findall(message) and "rule" not in said, (message, said)


def test_every_refused_move_is_said_in_swedish_with_its_rule():
    for machine in machines():
        for move in machine.moves:
            wrong = next((s for s in machine.states if s not in machine.sources_of(move.trigger)), None)
            if wrong is None:
                continue
            message = illegal_move_message(machine, wrong, move.trigger)
            said = swedish(message)
            assert said and said.startswith("händelsen ") and "regel " in said, (machine.name, message, said)
            assert RULE_ID.findall(said) == RULE_ID.findall(message)
            assert NAMES_SV[move.trigger] in said and NAMES_SV[wrong] in said


@pytest.mark.parametrize("message, swedish_text", [
    ("rule EQ-11: only the offered employee answers this buyout offer", "regel EQ-11: bara den medarbetare"),
    ("event 'accept_buyout' refused in state 'buyout_offered': rule EQ-11: no accepted buyer",
     "händelsen tacka ja till utköp (accept_buyout) nekades i läget utköp erbjudet (buyout_offered): regel EQ-11"),
    ("unit_id: you act for unit TR-KS only, not 'UL-KS'", "unit_id: du företräder bara enheten TR-KS, inte 'UL-KS'"),
    ("roles: POST /api/v1/orders needs one of ['it-staff']", "behörighet: POST /api/v1/orders kräver en av"),
    ("number: no ticket 'T2026-00009'", "number: ärende 'T2026-00009' finns inte"),
    ("order_number: no device 'X'", "order_number: utrustning 'X' finns inte"),
    ("unit_id: unknown unit 'XX'", "unit_id: okänd enhet 'XX'"),
    ("rule TK-2: the ticket is already in the 3rd line (infrastruktur); transfer it", "regel TK-2: ärendet är redan"),
    ("action.vendor: 'Billig Skrot HB' is not a certified erasure vendor (rule EQ-12)",
     "ingen certifierad raderingsleverantör (regel EQ-12)"),
    ("reported_at: must not be in the future", "reported_at: får inte ligga i framtiden"),
    ("applicant_ref: the applicant is the signed-in user (rule TK-9)", "(regel TK-9)"),
    # the machines' refusals written in their code, not in condition_messages
    ("event 'escalate' refused in state 'infrastruktur': rule TK-2: the 3rd line is the last line; transfer the "
     "ticket to the other 3rd-line team instead", "regel TK-2: 3:e linjen är den sista"),
    ("rule TK-7: on a managed device the unit owns 'printer'; hand the ticket back to the unit instead of escalating",
     "lämna tillbaka ärendet till enheten"),
    ("decided_on: rule GV-2: 2031-01-02 is in the future", "regel GV-2: 2031-01-02 ligger i framtiden"),
    ("decided_on: rule GV-2: 2026-01-02 is before the previous step's decision (2026-02-01); decisions follow the "
     "chain's order", "besluten följer kedjans ordning"),
    ("count: rule FC-2: IT asked for 4 racks", "IT begärde 4 rack"),
])
def test_the_apis_refusals_shown_in_the_console_are_swedish(message, swedish_text):
    assert swedish_text in (swedish(message) or "")
    shown = Answer(409, {"detail": message}, None).message  # what a refused form's page shows
    assert swedish_text in shown and "rule " not in shown


class _Form(BaseModel):
    """A form's fields with the constraints the API's models use."""

    model_config = {"extra": "forbid"}
    serial_number: str = Field(pattern=r"^[A-Z0-9-]+$", max_length=10)
    title: str = Field(min_length=3)
    minutes_worked: int = Field(ge=0, le=600)
    price: float
    delivered_on: date
    kind: Literal["a", "b"]


def test_pydantic_validation_messages_are_swedish_naming_the_field():
    bad = [{"serial_number": "abc def", "title": "x", "minutes_worked": 900, "price": "dyr", "delivered_on": "igår",
            "kind": "c", "extra": 1}, {"serial_number": "A" * 11, "minutes_worked": -1, "price": 1}]
    items = []
    for body in bad:
        with pytest.raises(ValidationError) as error:
            _Form.model_validate(body)
        items += error.value.errors()
    from domain.equipment import DeviceAction

    with pytest.raises(ValidationError) as error:
        TypeAdapter(DeviceAction).validate_python({"event": "fly_away"})
    items += error.value.errors()
    untranslated = [(i["type"], i["msg"]) for i in items if pydantic_swedish(i) is None]
    assert not untranslated, untranslated
    shown = refusal_text({"detail": [{**i, "loc": ["body", *i["loc"]]} for i in items]}, 422, "sv")
    assert "serial_number: " in shown and "måste anges" in shown and "okänt fält" in shown and "String" not in shown


def test_english_is_one_click_away_and_both_catalogues_have_the_same_words():
    assert set(WORDS["sv"]) == set(WORDS["en"])
    assert WORDS["sv"]["devices"] == "Utrustning" and WORDS["sv"]["unit"] != "Utrustning"
    assert Answer(409, {"detail": "rule EQ-11: only the offered employee answers this buyout offer"}, None,
                  "en").message.startswith("rule EQ-11")


def test_dates_and_times_as_swedes_write_them_and_invoice_lines_in_swedish():
    assert when("2026-12-08T13:05:00+00:00") == "8 dec 2026 14:05" and day("2026-05-01") == "1 maj 2026"
    assert line_text("Rent LAT-5450 ORD-1") == "Hyra LAT-5450 ORD-1"
    assert (line_text("On-call work (TK-8) T2026-00001, 90 min worked")
            == "Jourarbete (TK-8) T2026-00001, 90 min arbetad tid")


def test_every_role_the_header_names_has_swedish_text():
    from api import policy

    roles = {v for k, v in vars(policy).items() if k.isupper() and isinstance(v, str) and v.islower()
             and re.fullmatch(r"[a-z]+(-[a-z]+)*", v) and k not in ("PREFIX", "SCIM")}
    assert {"it-staff", "auditor", "economy"} <= roles
    assert not sorted(r for r in roles if r not in NAMES_SV), "roles without Swedish in NAMES_SV"
