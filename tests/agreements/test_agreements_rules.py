"""The cost model, agreement content, version comparison, charging years: pure functions on hand-computed
cases (AG-1 … AG-8); the state diagrams of the agreement and governance processes (docs/agreements.md).
The framework's parameters and development-case routing: tests/governance/test_governance_rules.py."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.agreements import (
    AGREEMENT,
    AgreementContent,
    AgreementPatch,
    AgreementVersion,
    compare_versions,
    unit_charges,
    version_charged,
)
from domain.cloud_moves import CLOUD_MOVE, CloudMoveProcess, CloudMoveRequest, CloudMoveSnapshot
from domain.common import start_of_year
from domain.costing import CostComponent, CostLine, MissingPrice, PriceItem, PriceList, compute_cost
from domain.service_introduction import SERVICE
from domain.development_cases import DEVELOPMENT_CASE
from domain.framework_changes import FRAMEWORK_CHANGE
from tests.agreements.helpers import content

D = Decimal
UNITS = {"server": "virtual server", "database": "db", "integrations": "integration", "storage": "GB",
         "communication": "connection", "backup": "GB", "support": "hour", "support_tools": "licence"}
PRICES_2026 = {"server": "9600.00", "database": "6000.00", "integrations": "4800.00", "storage": "12.50",
               "communication": "2400.00", "backup": "4.75", "support": "780.00", "support_tools": "1150.00"}


def price_list(year: int, prices: dict[str, str] = PRICES_2026, item_year: int | None = None) -> PriceList:
    return PriceList(year=year, items={
        item: PriceItem(item=item, component=item if not item.startswith("svc-") else "communication",
                        unit=UNITS.get(item, "room"), unit_price=D(price), year=item_year or year)
        for item, price in prices.items()})


def lines(**quantities: str) -> list[CostLine]:
    return [CostLine(component=c, quantity=D(q)) for c, q in quantities.items()]


# --- AG-3: the cost model ------------------------------------------------------------------------
def test_ag3_cost_is_sum_of_quantity_times_unit_price_per_component():
    cost = compute_cost(lines(server="2", database="1", storage="250", backup="250", support="40"), price_list(2026))
    # 2×9600 + 6000 + 250×12.50 + 250×4.75 + 40×780 = 19200 + 6000 + 3125 + 1187.50 + 31200
    assert cost.total == D("60712.50")
    assert cost.per_component[CostComponent.BACKUP] == D("1187.50")
    assert cost.per_component[CostComponent.COMMUNICATION] == D("0.00")
    assert [(c.item, c.amount) for c in cost.lines] == [
        ("server", D("19200.00")), ("database", D("6000.00")), ("storage", D("3125.00")), ("backup", D("1187.50")),
        ("support", D("31200.00"))]
    assert all(isinstance(c.amount, Decimal) for c in cost.lines) and isinstance(cost.total, Decimal)


def test_ag3_each_line_is_rounded_half_up_to_ore_before_summing():
    cost = compute_cost(lines(storage="333.333", backup="0.5", support="0.125"), price_list(2026))
    # 333.333×12.50 = 4166.6625 → 4166.66; 0.5×4.75 = 2.375 → 2.38; 0.125×780 = 97.5 → 97.50
    assert [c.amount for c in cost.lines] == [D("4166.66"), D("2.38"), D("97.50")]
    assert cost.total == D("4266.54")


def test_ag3_missing_unit_price_names_the_item_and_the_rule():
    with pytest.raises(MissingPrice, match=r"'svc-xy'.*2027.*AG-3"):
        compute_cost([CostLine(component="communication", quantity=D("1"), service_code="svc-xy")], price_list(2027))


def test_ag3_money_is_decimal_never_float():
    with pytest.raises(ValidationError):
        CostLine(component="server", quantity=D("1.0001"))  # quantities have at most three decimals
    with pytest.raises(ValidationError):
        PriceItem(item="server", component="server", unit="st", unit_price=D("1.005"), year=2026)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(list(PRICES_2026)),
                       st.decimals(min_value=0, max_value=10_000, places=3, allow_nan=False, allow_infinity=False),
                       min_size=1))
def test_ag3_total_is_the_sum_of_components_and_independent_of_line_order(quantities):
    forward = compute_cost([CostLine(component=c, quantity=q) for c, q in quantities.items()], price_list(2026))
    backward = compute_cost([CostLine(component=c, quantity=q) for c, q in reversed(quantities.items())],
                            price_list(2026))
    assert forward.total == backward.total == sum(forward.per_component.values())
    assert all(c.amount == c.amount.quantize(D("0.01")) for c in forward.lines)


def test_ag5_price_carried_from_an_earlier_year_makes_the_cost_provisional():
    cost = compute_cost(lines(server="1"), price_list(2028, item_year=2026))
    assert cost.provisional and cost.lines[0].price_year == 2026 and cost.year == 2028
    assert start_of_year(2028).isoformat() == "2028-01-01T00:00:00+01:00"  # AG-5: at the turn of the year


# --- AG-1, AG-2: what an agreement holds -------------------------------------------------------------
def test_ag2_full_agreement_needs_description_responsibilities_and_sketch():
    with pytest.raises(ValidationError, match="AG-2"):
        content(description=None, sketch=None)
    agreement = content()
    assert agreement.sketch.mermaid() == 'flowchart LR\n    app["App"]\n    db[("DB")]\n    app -->|SQL| db'


def test_ag1_cost_description_only_for_small_applications_integrations_and_cloud_services():
    light = dict(variant="light", description=None, sketch=None, it_responsibilities=[], unit_responsibilities=[])
    with pytest.raises(ValidationError, match="AG-1"):
        content(**light)
    assert content(application_kind="integration", **light).variant.value == "light"
    with pytest.raises(ValidationError, match="one line per component"):
        content(cost_lines=[dict(component="server", quantity="1"), dict(component="server", quantity="2")])


def test_ag2_sketch_relations_must_name_its_components():
    with pytest.raises(ValidationError, match="unknown components"):
        content(sketch=dict(components=[dict(id="a", label="A")], relations=[dict(source="a", target="b")]))


# --- AG-4: versions are kept and compared ------------------------------------------------------------
def version(number: int, agreement: AgreementContent, year: int, prices: PriceList) -> AgreementVersion:
    return AgreementVersion(agreement_id=agreement.agreement_id, version=number, for_year=year,
                            effective_from=date(year, 1, 1), content=agreement,
                            cost=compute_cost(agreement.cost_lines, prices))


def test_ag4_comparison_shows_quantities_prices_and_cost():
    v1 = version(1, content(), 2026, price_list(2026))
    changed = AgreementPatch(description="Uppgraderad", cost_lines=[
        dict(component="server", quantity="2"), dict(component="database", quantity="1"),
        dict(component="support", quantity="10"), dict(component="backup", quantity="100")]).applied_to(content())
    v2 = version(2, changed, 2027, price_list(2027, {**PRICES_2026, "server": "10000.00"}))
    diff = compare_versions(v1, v2)
    assert [f.field for f in diff.fields] == ["description"]
    by_item = {line.item: line for line in diff.lines}
    assert by_item["server"].change == "changed" and by_item["server"].amount_delta == D("10400.00")  # 9600 → 20000
    assert by_item["storage"].change == "removed" and by_item["storage"].amount_delta == D("-1250.00")
    assert by_item["backup"].change == "added" and by_item["backup"].amount_after == D("475.00")
    assert by_item["database"].change == "unchanged"
    # v1 24650.00 → v2 20000 + 6000 + 7800 + 475 = 34275.00
    assert (diff.total_before, diff.total_after, diff.total_delta) == (D("24650.00"), D("34275.00"), D("9625.00"))


# --- AG-6: charged from the coming year, not after termination -------------------------------------
def test_ag6_new_application_charged_from_the_coming_year_terminated_not_from_the_next():
    drawn_up_2026 = version(1, content(), 2027, price_list(2027))  # approved in 2026, in force 1 Jan 2027
    assert version_charged(2026, [drawn_up_2026], None) is None
    assert version_charged(2027, [drawn_up_2026], None).version == 1
    assert version_charged(2027, [drawn_up_2026], date(2027, 6, 30)).version == 1
    assert version_charged(2028, [drawn_up_2026], date(2027, 6, 30)) is None
    revised = version(2, content(), 2028, price_list(2028))
    assert version_charged(2028, [drawn_up_2026, revised], None).version == 2


def test_ag6_unit_pays_quantities_in_force_at_that_years_prices():
    v1 = version(1, content(unit_id="TR-SOC"), 2026, price_list(2026))
    other_unit = version(1, content("APP-OTHER", unit_id="UL-KS"), 2026, price_list(2026))
    charges = unit_charges("TR-SOC", 2027, [([v1], None), ([other_unit], None)],
                           price_list(2027, {**PRICES_2026, "support": "800.00"}))
    # 9600 + 6000 + 100×12.50 + 10×800 with 2027's prices
    assert [(c.agreement_id, c.cost.total) for c in charges.charges] == [("APP-TEST", D("24850.00"))]
    assert charges.total == D("24850.00")


# --- AG-7, AG-8 -------------------------------------------------------------------------------------
def test_ag7_service_price_enters_the_price_list_under_its_component():
    item = PriceItem(item="svc-teams-rooms", component="communication", unit="room", unit_price=D("4200.00"),
                     year=2027)
    cost = compute_cost([CostLine(component="communication", quantity=D("3"), service_code="svc-teams-rooms")],
                        PriceList(year=2027, items={item.item: item}))
    assert cost.total == D("12600.00")
    with pytest.raises(MissingPrice, match="AG-2"):
        compute_cost([CostLine(component="server", quantity=D("1"), service_code="svc-teams-rooms")],
                     PriceList(year=2027, items={item.item: item}))


def test_ag8_decision_needs_all_four_assessments():
    snap = CloudMoveSnapshot(request=CloudMoveRequest(case_id="CM-9", application="X", unit_id="TR-KS",
                                                      system_owner_ref="E1", supplier="S"), state="assessing")
    process = CloudMoveProcess(snap)
    refusal = process.refusal("reject_move")
    assert "AG-8" in refusal and "classification, security_analysis, legal_review, cost_analysis" in refusal


# --- the diagrams -------------------------------------------------------------------------------------
@pytest.mark.parametrize("definition", [AGREEMENT, SERVICE, CLOUD_MOVE, FRAMEWORK_CHANGE, DEVELOPMENT_CASE],
                         ids=lambda d: d.name)
def test_every_state_is_reachable_and_every_move_names_an_ag_or_gv_rule(definition):
    reached, frontier = {definition.initial}, [definition.initial]
    while frontier:
        state = frontier.pop()
        for move in definition.moves:
            if state in move.sources and move.dest not in reached:
                reached.add(move.dest)
                frontier.append(move.dest)
    assert reached == set(definition.states)
    assert all(m.rule[:3] in ("AG-", "GV-") for m in definition.moves)
    assert definition.mermaid().startswith("stateDiagram-v2")


def test_the_time_zone_is_local():
    assert start_of_year(2027).astimezone(timezone.utc) == datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc)


def test_docs_show_the_current_state_diagrams():
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "agreements.md").read_text(encoding="utf-8")
    for definition in (AGREEMENT, SERVICE, CLOUD_MOVE, FRAMEWORK_CHANGE, DEVELOPMENT_CASE):
        assert f"```mermaid\n{definition.mermaid()}\n```" in docs, definition.name
