"""Billing runs on the time-skipping server with real activities on a real database (BL-1 … BL-6)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from temporalio.client import WorkflowFailureError

from db.billing_models import CentralCostRow, InvoiceLineRow
from db.models import Charge, OutboxMessage
from db.agreement_queries import unit_application_charges
from db.ticket_models import SupportCharge
from domain.costing import money
from tests.billing.helpers import add_rental, bases, bill, lines, move

D = Decimal


async def test_bl5_one_basis_per_unit_and_rerunning_the_period_changes_nothing(client, worker, sessions):
    with sessions.begin() as s:
        add_rental(s, "UL-1", "UL-KS", date(2026, 1, 1))
        add_rental(s, "UL-2", "UL-KS", date(2026, 3, 10))
        add_rental(s, "UL-3", "UL-BUF", date(2026, 2, 1), amount="150.00", model="IPAD-10", category="tablet")
        add_rental(s, "TR-1", "TR-KS", date(2026, 1, 1))  # another municipality: not on Ulricehamn's run
    with sessions() as s:  # rule AG-6: the seeded Treserva agreement of UL-VOF, a twelfth of its year
        treserva = money(unit_application_charges(s, "UL-VOF", 2026).total / 12)
    first = await bill(client, worker.task_queue, "ulricehamn", "2026-03")
    # UL-KS: 420 + 420 × 22/31 = 718.06 (delivered 10 March); UL-BUF a whole month of a tablet
    assert {b.unit_id: b.total for b in first.bases} == {"UL-KS": D("718.06"), "UL-BUF": D("150.00"),
                                                         "UL-VOF": treserva}
    assert first.total == D("868.06") + treserva and all(b.created for b in first.bases)
    assert set(bases(sessions, "2026-03")) == {"UL-KS", "UL-BUF", "UL-VOF"}
    again = await bill(client, worker.task_queue, "ulricehamn", "2026-03")
    assert [(b.basis_id, b.total, b.lines) for b in again.bases] == [(b.basis_id, b.total, b.lines) for b in first.bases]
    assert not any(b.created for b in again.bases)
    with sessions() as s:
        assert s.scalar(select(func.count(InvoiceLineRow.id))) == 4
        # published once: one message per basis and one to the municipality's economy
        assert s.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.topic == "invoice_basis")) == 3
        assert s.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.topic == "billing_run")) == 1


async def test_bl2_tranemo_bills_the_tertial_and_refuses_open_or_wrong_periods(client, worker, sessions):
    with sessions.begin() as s:
        add_rental(s, "TR-1", "TR-BUF", date(2026, 2, 15), amount="360.00", model="OPT-7020")
    result = await bill(client, worker.task_queue, "tranemo", "2026-T1")
    # TR-BUF: Feb 14/28 + March + April = 2.5 × 360; TR-KS pays its application (AG-6), a third of 7920.00
    assert [(b.unit_id, b.total) for b in result.bases] == [("TR-BUF", D("900.00")), ("TR-KS", D("2640.00"))]
    for period, message in (("2026-03", "per tertial"), ("2099-T1", "not closed")):
        with pytest.raises(WorkflowFailureError) as failure:
            await bill(client, worker.task_queue, "tranemo", period)
        assert message in str(failure.value.cause)


async def test_bl4_change_section_of_a_move_between_units(client, worker, sessions):
    with sessions.begin() as s:
        add_rental(s, "UL-1", "UL-KS", date(2026, 1, 1))
        add_rental(s, "UL-2", "UL-KS", date(2026, 1, 1), amount="45.00", model="P2425", category="screen")
    await bill(client, worker.task_queue, "ulricehamn", "2026-02")
    with sessions.begin() as s:
        move(s, "UL-1", "UL-BUF", date(2026, 3, 16))  # rule EQ-7
        add_rental(s, "UL-3", "UL-KS", date(2026, 3, 20), amount="150.00", model="IPAD-10", category="tablet")
    await bill(client, worker.task_queue, "ulricehamn", "2026-03")
    march = bases(sessions, "2026-03")
    ks = {(i["change"], i["reference"], i["other_unit"]) for i in march["UL-KS"].changes["items"]}
    # still charged 1..15 March, so UL-1 is on the basis; the move shows on UL-BUF's, the new tablet on UL-KS's
    assert ks == {("added", "UL-3", None)}
    assert march["UL-KS"].changes["previous_period"] == "2026-02"
    buf = march["UL-BUF"].changes
    assert [(i["change"], i["reference"], i["other_unit"]) for i in buf["items"]] == [("moved_in", "UL-1", "UL-KS")]
    await bill(client, worker.task_queue, "ulricehamn", "2026-04")
    april = bases(sessions, "2026-04")["UL-KS"].changes["items"]
    assert [(i["change"], i["reference"], i["other_unit"]) for i in april] == [("moved_out", "UL-1", "UL-BUF")]


async def test_bl4_correction_after_billing_is_an_adjustment_line_in_the_next_run(client, worker, sessions):
    with sessions.begin() as s:
        charge_id = add_rental(s, "UL-1", "UL-KS", date(2026, 1, 1)).id
    await bill(client, worker.task_queue, "ulricehamn", "2026-03")
    march = bases(sessions, "2026-03")["UL-KS"]
    with sessions.begin() as s:  # found out later: the device was returned on 11 March
        s.get(Charge, charge_id).ends_on = date(2026, 3, 11)
    await bill(client, worker.task_queue, "ulricehamn", "2026-04")
    assert bases(sessions, "2026-03")["UL-KS"].total == march.total == D("420.00")  # the sent basis is untouched
    april = bases(sessions, "2026-04")["UL-KS"]
    [adjustment] = lines(sessions, april.id)
    assert (adjustment.kind, adjustment.adjusts_period, adjustment.amount) == ("adjustment", "2026-03", D("-284.52"))
    assert april.total == D("-284.52")


async def test_bl1_one_offs_and_hourly_work_are_billed_once_as_they_occur(client, worker, sessions):
    with sessions.begin() as s:
        add_rental(s, "PH-1", "UL-SBF", date(2026, 2, 10), amount="95.00", model="IPHONE-15",
                   category="mobile_phone", kind="service_fee")
        s.add(Charge(order_number="PH-1", unit_id="UL-SBF", kind="purchase", amount=D("8995.00"), recurring=False,
                     starts_on=date(2026, 2, 10), ends_on=date(2026, 2, 10)))
        s.add(SupportCharge(key="t:1", source="on_call", reference="T2026-00009", unit_id="UL-SBF", minutes_worked=40,
                            minutes_charged=60, hours=D("1.00"), hourly_rate=D("950.00"), amount=D("950.00"),
                            charged_on=date(2026, 2, 21),
                            at=datetime(2026, 2, 21, 9, 0, tzinfo=timezone.utc)))
    feb = await bill(client, worker.task_queue, "ulricehamn", "2026-02")
    # service fee 95 × 19/28 = 64.46, the phone's purchase once (EQ-4), one on-call hour (TK-8)
    assert next(b for b in feb.bases if b.unit_id == "UL-SBF").total == D("64.46") + D("8995.00") + D("950.00")
    mar = await bill(client, worker.task_queue, "ulricehamn", "2026-03")
    assert [(b.unit_id, b.total) for b in mar.bases if b.unit_id == "UL-SBF"] == [("UL-SBF", D("95.00"))]


async def test_bl3_central_cost_is_billed_once_a_year(client, worker, sessions):
    with sessions.begin() as s:
        s.add(CentralCostRow(year=2025, unit_id="TR-KS", amount=D("125000.00"), text="Central IT cost"))
        add_rental(s, "TR-1", "TR-KS", date(2025, 1, 1))
    result = await bill(client, worker.task_queue, "tranemo", "2025", kind="central")
    assert [(b.unit_id, b.total) for b in result.bases] == [("TR-KS", D("125000.00"))]
    [line] = lines(sessions, result.bases[0].basis_id)
    assert (line.kind, line.article) == ("central_cost", "central_cost")
    with pytest.raises(WorkflowFailureError):
        await bill(client, worker.task_queue, "tranemo", "2025-T1", kind="central")


def test_bl1_tk8_tk12_hourly_rates_moved_into_the_price_list_of_the_year(sessions):
    """The 950/650 SEK placeholders of config are the 2026 price list (migration 0005); a later year
    without a list of its own uses the latest earlier one (AG-5); before any list, the config fallback."""
    from db.billing_models import ServicePriceRow
    from db.billing_queries import service_rate

    with sessions.begin() as s:
        assert (service_rate(s, "on_call", 2026), service_rate(s, "physical_move", 2026)) == (D("950.00"), D("650.00"))
        assert service_rate(s, "on_call", 2027) == D("950.00") and service_rate(s, "on_call", 2025) is None
        s.add(ServicePriceRow(year=2027, article="on_call", unit="hour", unit_price=D("990.00")))
        s.flush()
        assert service_rate(s, "on_call", 2027) == D("990.00")
