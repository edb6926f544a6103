"""Pure equipment rules: the catalogue, the charging models and the state machine."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.catalogue import (
    CATEGORY_RULES,
    CatalogueModel,
    Category,
    Charging,
    OrderTerms,
    Price,
    add_months,
    check_price,
    delivery_charges,
    preferred_model,
)
from domain.equipment import EQUIPMENT, DeviceCommand, DeviceOrder, DeviceProcess, DeviceSnapshot, OfferBuyout
from domain.process import TransitionRecord
from domain.renewals import renewal_order_number


def model(code="MOD-1", category=Category.WORKSTATION, life=48, warranty=36) -> CatalogueModel:
    return CatalogueModel(code=code, name=code, category=category, expected_life_months=life,
                          warranty_months=warranty, agreement_ref="A")


@pytest.mark.parametrize("category", [Category.WORKSTATION, Category.PRINTER, Category.SCREEN,
                                      Category.TEACHER_COMPUTER])
def test_eq3_models_under_48_months_are_refused(category):
    with pytest.raises(ValidationError, match="EQ-3"):
        model(category=category, life=47)
    assert model(category=category, life=48).expected_life_months == 48


def test_eq3_phones_and_tablets_have_no_minimum_life():
    assert model(category=Category.MOBILE_PHONE, life=24).expected_life_months == 24


def test_eq2_prefers_model_that_outlives_its_warranty():
    standard = model("STD", life=60, warranty=60)
    longer = model("LONG", life=54, warranty=36)
    assert preferred_model([standard, longer]).code == "LONG"
    assert preferred_model([]) is None


def test_eq4_every_category_has_a_charging_model():
    assert CATEGORY_RULES[Category.MOBILE_PHONE].charging is Charging.PURCHASE_AND_SERVICE_FEE
    assert CATEGORY_RULES[Category.ACCESSORY].charging is Charging.ONE_OFF
    assert CATEGORY_RULES[Category.SHORT_TERM_LAPTOP].charging is Charging.PER_WEEK
    assert CATEGORY_RULES[Category.SURVEILLANCE_CAMERA].charging is Charging.PRICE_LIST
    assert {c for c, r in CATEGORY_RULES.items() if r.charging is Charging.RENT} == {
        Category.WORKSTATION, Category.TEACHER_COMPUTER, Category.STUDENT_COMPUTER, Category.TABLET,
        Category.PRINTER, Category.ACCESS_POINT, Category.SCREEN}
    assert set(CATEGORY_RULES) == set(Category)


def test_eq4_price_needs_the_fields_of_its_charging_model():
    with pytest.raises(ValueError, match="monthly_service_fee"):
        check_price(Category.MOBILE_PHONE, Price(year=2026, model_code="P", purchase_price=Decimal("1")))
    with pytest.raises(ValueError, match="installation_fee"):
        check_price(Category.ACCESS_POINT, Price(year=2026, model_code="AP", monthly_rent=Decimal("1")))


def test_eq4_short_term_rental_is_at_least_one_week():
    price = Price(year=2026, model_code="L", weekly_rent=Decimal("250.00"))
    assert [c.amount for c in delivery_charges(Category.SHORT_TERM_LAPTOP, price, 3)] == [Decimal("750.00")]
    assert [c.amount for c in delivery_charges(Category.SHORT_TERM_LAPTOP, price, None)] == [Decimal("250.00")]


def test_eq5_renewal_date_is_calendar_months_later():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 27), 48) == date(2030, 11, 27)
    assert renewal_order_number("ORD-1") == "ORD-1-R1" and renewal_order_number("ORD-1-R1") == "ORD-1-R2"


def snapshot(category=Category.WORKSTATION, state="returned", user="E1") -> DeviceSnapshot:
    order = DeviceOrder(order_number="ORD-1", model_code="M", unit_id="U1", user_ref=user)
    terms = OrderTerms(category=category, model_name="M", agreement_ref="A", municipality="tranemo",
                       price=Price(year=2026, model_code="M", monthly_rent=Decimal("1")), renewal_months=48)
    # returned at hardware replacement (rule EQ-11: only then a buyout case)
    replaced = TransitionRecord(seq=1, at=datetime(2030, 1, 1, tzinfo=timezone.utc), event="replacement_delivered",
                                from_state="renewal_due", to_state="returned", actor="ramflow", rule="EQ-5")
    return DeviceSnapshot(order=order, terms=terms, state=state, unit_id="U1", user_ref=user,
                          delivered_at=datetime(2026, 1, 15, 9, tzinfo=timezone.utc), renewal_months=48,
                          log=[replaced] if state == "returned" else [])


def offer(buyer: str | None = None) -> DeviceCommand:
    return DeviceCommand(actor="it.anna", action=OfferBuyout(price=Decimal("1"), buyer_ref=buyer))


def test_eq11_buyout_goes_first_to_the_own_user():
    process = DeviceProcess(snapshot())
    assert "own user" in process.refusal("offer_buyout", offer("E2"))
    assert process.refusal("offer_buyout", offer()) is None
    other = DeviceProcess(snapshot(state="available_for_buyout"))
    assert other.refusal("offer_buyout", offer("E2")) is None


def test_eq10_only_phones_and_tablets_are_recycled():
    assert "EQ-10" in DeviceProcess(snapshot(state="erased")).refusal("recycle")
    assert DeviceProcess(snapshot(Category.TABLET, state="erased")).refusal("recycle") is None


def test_eq12_every_exit_from_ownership_passes_erasure():
    exits = {"sell", "recycle", "dispose", "complete_buyout"}
    for move in EQUIPMENT.moves:
        if move.trigger in exits:
            assert move.sources == ("erased",), move
    assert {m.dest for m in EQUIPMENT.moves if m.trigger == "record_erasure"} == {"erased"}


def test_eq5_renewal_due_is_lead_time_before_the_period_ends():
    snap = snapshot(state="in_use")
    assert snap.rental_end_at() == datetime(2030, 1, 15, 9, tzinfo=timezone.utc)
    assert snap.renewal_due_at(timedelta(days=30)) == datetime(2029, 12, 16, 9, tzinfo=timezone.utc)


def test_state_diagram_names_a_rule_on_every_move():
    assert all(move.rule.startswith("EQ-") for move in EQUIPMENT.moves)
    assert "renewal_due --> returned: replacement_delivered (EQ-5)" in EQUIPMENT.mermaid()
