"""Issue 25: a published billing run as SIE type 4I vouchers (BL-1 … BL-6), parsed back by an independent
reader (tests/billing/sie_reader.py): CP437, balanced vouchers, the file's totals equal to the bases';
golden files for one Ulricehamn month and one Tranemo tertial; the ledger mapping behind it."""
from __future__ import annotations

import os
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from db.billing_models import LedgerMappingRow
from db.models import Charge
from db.security_models import ReferenceChange
from db.ticket_models import SupportCharge
from tests.billing.helpers import add_device, add_rental
from tests.billing.sie_reader import SieFile, read_sie

GOLDEN = Path(__file__).parent / "golden"
D = Decimal


def golden(name: str, body: bytes) -> None:
    """Compare with the stored file (RAMFLOW_UPDATE_GOLDEN=1 writes it: review the diff by hand). #GEN is
    the day the run stored its bases, so it is the one field set aside (the test passes on any date)."""
    path = GOLDEN / name
    body = re.sub(rb"^#GEN \d{8} ", b"#GEN 20260401 ", body, flags=re.M)
    if os.environ.get("RAMFLOW_UPDATE_GOLDEN"):
        path.write_bytes(body)
    assert body == path.read_bytes(), f"{name} differs from the golden file"


async def income_accounts(api, municipality: str, economy) -> set[str]:
    rows = (await api.get(f"/billing/ledger-mappings/{municipality}", headers=economy)).json()
    return {r["income_account"] for r in rows}


def debits_by_unit(sie: SieFile, income: set[str]) -> dict[str, Decimal]:
    """What the file charges each cost centre: the rows on cost accounts (the rest credit IT's income)."""
    out: dict[str, Decimal] = {}
    for voucher in sie.vouchers:
        for t in voucher.trans:
            if t.account not in income:
                out[t.objects[1]] = out.get(t.objects[1], D("0.00")) + t.amount
    return out


async def test_issue25_bl1_bl2_sie_of_an_ulricehamn_month_parses_back_balanced_with_the_bases_totals(api, sessions):
    with sessions.begin() as s:
        add_rental(s, "UL-1", "UL-KS", date(2026, 3, 10))
        add_rental(s, "PH-1", "UL-SBF", date(2026, 3, 2), amount="95.00", model="IPHONE-15", category="mobile_phone",
                   kind="service_fee")
        s.add(Charge(order_number="PH-1", unit_id="UL-SBF", kind="purchase", amount=D("8995.00"), recurring=False,
                     starts_on=date(2026, 3, 2)))
        s.add(SupportCharge(key="x-1", source="extra_support", reference="SR-1", unit_id="UL-BUF", minutes_worked=75,
                            minutes_charged=90, hours=D("1.50"), hourly_rate=D("650.00"), amount=D("975.00"),
                            charged_on=date(2026, 3, 20), at=datetime(2026, 3, 20, tzinfo=timezone.utc)))
    run = await api.post("/billing/runs", json={"municipality": "ulricehamn", "period": "2026-03"})
    assert run.status_code == 201, run.text
    economy = api.bearer("ek.eva", "economy")
    answer = await api.get("/billing/runs/billing-ulricehamn-2026-03/sie", headers=economy)
    assert answer.status_code == 200, answer.text
    sie = read_sie(answer.content)
    assert sie.labels["#KPTYP"] == ["KOMMUN-BAS"] and sie.dims == {1: "Kostnadsställe"}
    bases = {b["unit_id"]: D(b["total"]) for b in run.json()["bases"] if b["basis_id"] is not None}
    assert debits_by_unit(sie, await income_accounts(api, "ulricehamn", economy)) == bases
    assert sum(bases.values()) == D(run.json()["total"])
    assert {v.day for v in sie.vouchers} == {date(2026, 3, 31)} and len(sie.vouchers) == len(bases)
    assert "Vård- och omsorgsförvaltningen".encode("cp437") in answer.content  # PC8, not UTF-8
    golden("ulricehamn-2026-03.se", answer.content)
    # re-exporting, and running the period again, give the same bytes
    again = await api.post("/billing/runs", json={"municipality": "ulricehamn", "period": "2026-03"})
    assert again.status_code == 201
    assert (await api.get("/billing/runs/billing-ulricehamn-2026-03/sie", headers=economy)).content == answer.content
    assert (await api.get("/billing/runs/billing-ulricehamn-2026-03/sie")).status_code == 200  # it-admin reads it
    manager = api.bearer("E2001", "unit-manager", unit="UL-KS")
    assert (await api.get("/billing/runs/billing-ulricehamn-2026-03/sie", headers=manager)).status_code == 403


async def test_issue25_bl4_sie_of_a_tranemo_tertial_books_a_correction_as_its_own_voucher(api, sessions):
    with sessions.begin() as s:
        charge_id = add_rental(s, "TR-1", "TR-BUF", date(2026, 1, 1)).id
        add_rental(s, "TR-2", "TR-SOC", date(2026, 2, 14), amount="360.00", model="OPT-7020")
    assert (await api.post("/billing/runs", json={"municipality": "tranemo", "period": "2026-T1"})).status_code == 201
    with sessions.begin() as s:  # found out later: TR-1 was returned on 11 March
        s.get(Charge, charge_id).ends_on = date(2026, 3, 11)
    run = await api.post("/billing/runs", json={"municipality": "tranemo", "period": "2026-T2"})
    assert run.status_code == 201, run.text
    economy = api.bearer("ek.eva", "economy")
    answer = await api.get("/billing/runs/billing-tranemo-2026-T2/sie", headers=economy)
    sie = read_sie(answer.content)
    texts = [v.text for v in sie.vouchers]
    assert "Rättelse av 2026-T1 IT 2026-T2 TR-BUF" in texts  # BL-4: the correction is a voucher of its own
    [correction] = [v for v in sie.vouchers if v.text.startswith("Rättelse")]
    income = await income_accounts(api, "tranemo", economy)
    # T1 billed 4 × 420.00; it should have been (2 + 10/31) × 420.00 = 975.48: the unit's cost and IT's income
    # are both reduced by 704.52
    assert sorted((t.account in income, t.amount) for t in correction.trans) == [(False, D("-704.52")),
                                                                                  (True, D("704.52"))]
    bases = {b["unit_id"]: D(b["total"]) for b in run.json()["bases"] if b["basis_id"] is not None}
    assert debits_by_unit(sie, income) == bases
    golden("tranemo-2026-T2.se", answer.content)


async def test_issue25_unmapped_charge_kind_stops_the_export_naming_it_and_it_admin_maps_it_audited(api, sessions):
    with sessions.begin() as s:
        add_rental(s, "UL-1", "UL-KS", date(2026, 3, 1))
        add_device(s, "CAM-1", "UL-SBF", "CAM-AXIS", "surveillance_camera", date(2026, 3, 1))
        s.add(Charge(order_number="CAM-1", unit_id="UL-SBF", kind="installation", amount=D("1200.00"),
                     recurring=False, starts_on=date(2026, 3, 1)))
        s.delete(s.get(LedgerMappingRow, ("ulricehamn", "installation", "*")))
    run = await api.post("/billing/runs", json={"municipality": "ulricehamn", "period": "2026-03"})
    assert run.status_code == 201, run.text
    economy = api.bearer("ek.eva", "economy")
    refused = await api.get("/billing/runs/billing-ulricehamn-2026-03/sie", headers=economy)
    assert refused.status_code == 409 and "installation/surveillance_camera" in refused.json()["detail"]
    body = {"cost_account": "6541", "income_account": "3514", "income_cost_centre": "UL-IT"}
    path = "/billing/ledger-mappings/ulricehamn/installation/surveillance_camera"
    assert (await api.put(path, json=body, headers=economy)).status_code == 403  # economy reads, it-admin changes
    assert (await api.put(path, json={**body, "cost_account": "65x"})).status_code == 422
    assert (await api.put(path, json=body)).status_code == 200
    with sessions() as s:
        change = s.scalars(select(ReferenceChange).where(ReferenceChange.entity == "ledger_mapping")).one()
        assert (change.key, change.before, change.after) == (
            "ulricehamn/installation/surveillance_camera", None, body)
    sie = read_sie((await api.get("/billing/runs/billing-ulricehamn-2026-03/sie", headers=economy)).content)
    assert {t.account for v in sie.vouchers for t in v.trans} >= {"6541", "3514"}
    mapped = (await api.get("/billing/ledger-mappings/ulricehamn", headers=economy)).json()
    assert {"charge_kind": "installation", "category": "surveillance_camera", **body} in mapped
    assert (await api.get("/billing/runs/nope/sie", headers=economy)).status_code == 404


def test_issue25_sie_writer_escapes_texts_encodes_pc8_and_names_every_unmapped_kind():
    from domain.billing import Line
    from domain.sie import Basis, Mapping, UnmappedCharge, render_sie

    line = Line(key="rent:1", unit_id="UL-KS", kind="rent", article="rent:workstation", text="x", quantity=D("1"),
                unit_price=D("420.00"), amount=D("420.00"), category="workstation")
    fee = line.model_copy(update={"key": "fee:1", "kind": "service_fee", "category": "mobile_phone"})
    rent = {("rent", "*"): Mapping("rent", "*", "5420", "3511", "UL-IT")}
    with pytest.raises(UnmappedCharge) as refused:  # nothing is written, every missing kind is named
        render_sie("ulricehamn", "Ulricehamns kommun", "2026-03", date(2026, 4, 1),
                   [Basis("UL-KS", "K", D("840.00"), [line, fee, fee.model_copy(update={"kind": "on_call"})])], rent)
    assert refused.value.missing == [("on_call", "mobile_phone"), ("service_fee", "mobile_phone")]
    body = render_sie("ulricehamn", 'Ulricehamns "kommun"', "2026-03", date(2026, 4, 1),
                      [Basis("UL-KS", "Kök – Åby\\1", D("420.00"), [line])], rent)
    sie = read_sie(body)
    assert sie.labels["#FNAMN"] == ['Ulricehamns "kommun"'] and sie.objects[(1, "UL-KS")] == "Kök - Åby\\1"
    assert "Kök".encode("cp437") in body and b"\r\n" in body
