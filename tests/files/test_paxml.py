"""Rule EQ-11 (issue 25): accepted buyouts' net salary deductions as a PAXml 2.0 file per municipality and
payroll period, valid against the PAXml subset XSD (tests/fixtures/paxml: hand-written, the official XSD is not
shipped), naming the employee by employment number (anstid) and never by personnummer, with the pay-type code
configured per municipality; delivered to payroll over SFTP with a receipt; payroll's refusal of a deduction
goes back to IT with the reason."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import select

from db.models import OutboxMessage, SalaryDeduction
from db.people_models import Person
from domain.equipment import AcceptBuyout, Deliver, OfferBuyout, RecordErasure, SendToErasure, device_workflow_id
from files.paxml import DeductionLine, PaxmlConfigError, paxml_document
from tests.equipment.helpers import act, order_device, until
from tests.files.helpers import add_deduction
from tests.files.xml_validation import xsd_errors
from tests.helpers import poll

PAXML_XSD = "paxml/paxml-2.0-lonetransaktioner-subset.xsd"
MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)  # a fixed payroll period: the file's bytes are its data


def test_eq11_paxml_file_is_valid_and_names_the_employment_number():
    lines = [DeductionLine("ORD-2", "A-77", "E5002", Decimal("1250.50"), date(2026, 3, 12)),
             DeductionLine("ORD-1", "A-12", "E5001", Decimal("1500.00"), date(2026, 3, 4))]
    content = paxml_document(lines, "7400", datetime(2026, 3, 12, 10, 0))
    assert xsd_errors(PAXML_XSD, content) == []
    root = etree.fromstring(content)
    assert (root.findtext("header/format"), root.findtext("header/version")) == ("LÖNIN", "2.0")
    trans = root.findall("lonetransaktioner/lonetrans")
    assert [(t.get("anstid"), t.findtext("lonart"), t.findtext("belopp"), t.findtext("datum")) for t in trans] == [
        ("A-12", "7400", "1500.00", "2026-03-04"), ("A-77", "7400", "1250.50", "2026-03-12")]
    assert b"E500" not in content and b"persnr" not in content  # never the employee number or personnummer
    assert paxml_document(list(reversed(lines)), "7400", datetime(2026, 3, 12, 10, 0)) == content  # same bytes


def test_eq11_paxml_refuses_a_deduction_without_employment_number():
    with pytest.raises(PaxmlConfigError, match="employment_number: missing in the people register for E5003"):
        paxml_document([DeductionLine("O", None, "E5003", Decimal("10.00"), date(2026, 3, 1))], "7400",
                       datetime(2026, 3, 1))


async def test_eq11_export_names_missing_configuration_and_delivers_nothing(api, settings, sessions, tmp_path):
    settings.file_delivery_targets = {"payroll": str(tmp_path / "payroll")}
    add_deduction(sessions, "ORD-PX-1", "E7001", "1500.00", MARCH, employment_number="A-7001")
    add_deduction(sessions, "ORD-PX-2", "E7002", "900.00", MARCH + timedelta(days=2))  # no employment number
    body = {"municipality": "tranemo", "period": "2026-03"}
    refused = await api.post("/salary-deductions/paxml", json=body)
    assert refused.status_code == 422 and "PAXML_PAY_TYPES" in refused.text and "tranemo" in refused.text
    settings.paxml_pay_types = {"tranemo": "7400"}
    refused = await api.post("/salary-deductions/paxml", json=body)
    assert refused.status_code == 422 and "employment_number" in refused.text and "E7002" in refused.text
    assert (await api.get("/files/deliveries")).json() == [] and not (tmp_path / "payroll").exists()
    empty = await api.post("/salary-deductions/paxml", json={"municipality": "ulricehamn", "period": "2026-03"})
    assert empty.status_code == 422 and "period" in empty.text
    bad = await api.post("/salary-deductions/paxml", json={"municipality": "tranemo", "period": "2026-13"})
    assert bad.status_code == 422 and "period" in bad.text


async def test_eq11_buyout_deduction_to_payroll_over_sftp_then_refused_back_to_it(
        api, client, worker, env, settings, sessions, sftp_server):
    settings.file_delivery_targets = {"payroll": sftp_server.url()}
    settings.file_delivery_ssh_key, settings.file_delivery_known_hosts = sftp_server.client_key, sftp_server.known_hosts
    settings.paxml_pay_types = {"tranemo": "7400"}
    # the real buyout (EQ-11): renewal at 48 months, offered to its own user, erased, OS reinstalled, deducted
    handle = await order_device(client, worker.task_queue, "ORD-PX-B", user_ref="E5011")
    await act(handle, Deliver(serial_number="SN-PX-B"))
    await env.sleep(timedelta(days=48 * 31))
    await until(handle, lambda v: v.replacement_order is not None)
    await act(client.get_workflow_handle(device_workflow_id("ORD-PX-B-R1")), Deliver(serial_number="SN-PX-B2"))
    await until(handle, lambda v: v.state == "returned")
    await act(handle, OfferBuyout(price=Decimal("1500.00")))
    await act(handle, AcceptBuyout(), actor="E5011")
    await act(handle, SendToErasure(vendor="Inrego AB"))
    assert (await act(handle, RecordErasure(vendor="Inrego AB", certificate_id="CERT-PX"))).state == "sold_to_employee"
    with sessions.begin() as s:
        person = s.get(Person, "E5011") or Person(employee_ref="E5011", name="Eva", updated_at=datetime.now(timezone.utc))
        person.employment_number = "A-5011"
        s.add(person)
    [deduction] = (await api.get("/salary-deductions", params={"municipality": "tranemo"})).json()
    assert deduction["order_number"] == "ORD-PX-B" and Decimal(deduction["amount"]) == Decimal("1500.00")
    period = deduction["period"]

    made = await api.post("/salary-deductions/paxml", json={"municipality": "tranemo", "period": period})
    assert made.status_code == 201, made.text
    receipt = await poll(api, f"/files/deliveries/{made.json()['id']}", lambda r: r["state"] == "delivered")
    delivered = (sftp_server.root / "in" / f"paxml-tranemo-{period}.xml").read_bytes()
    assert xsd_errors(PAXML_XSD, delivered) == []
    assert etree.fromstring(delivered).find("lonetransaktioner/lonetrans").get("anstid") == "A-5011"
    assert receipt["system"] == "payroll" and receipt["destination"] == sftp_server.url()
    again = await api.post("/salary-deductions/paxml", json={"municipality": "tranemo", "period": period})
    assert again.status_code == 200 and again.json()["id"] == receipt["id"]  # nothing new, nothing sent twice

    payroll = api.bearer("lon.lisa", "payroll")
    assert (await api.get("/files/deliveries", headers=payroll)).json()[0]["sha256"] == receipt["sha256"]
    refused = await api.post("/salary-deductions/ORD-PX-B/refused", json={"reason": "Anställningen har upphört"},
                             headers=payroll)
    assert refused.status_code == 200, refused.text
    assert refused.json()["refusal_reason"] == "Anställningen har upphört" and refused.json()["refused_by"] == "lon.lisa"
    with sessions() as s:
        notice = s.scalar(select(OutboxMessage).where(OutboxMessage.topic == "salary_deduction_refused"))
        assert notice.recipient == "it:asset-management" and "Anställningen har upphört" in notice.body
        assert s.get(SalaryDeduction, "ORD-PX-B").paxml_file_id == receipt["id"]
    twice = await api.post("/salary-deductions/ORD-PX-B/refused", json={"reason": "igen"}, headers=payroll)
    assert twice.status_code == 409
    assert (await api.post("/salary-deductions/NOPE/refused", json={"reason": "x"}, headers=payroll)).status_code == 404
    economy = api.bearer("eko.erik", "economy")
    assert (await api.post("/salary-deductions/ORD-PX-B/refused", json={"reason": "x"},
                           headers=economy)).status_code == 403


async def test_eq11_a_deduction_recorded_after_the_file_goes_in_a_second_file(api, settings, sessions, tmp_path):
    settings.file_delivery_targets = {"payroll": str(tmp_path / "payroll")}
    settings.paxml_pay_types = {"tranemo": "7400"}
    add_deduction(sessions, "ORD-PX-3", "E7003", "100.00", MARCH, employment_number="A-3")
    first = (await api.post("/salary-deductions/paxml", json={"municipality": "tranemo", "period": "2026-03"})).json()
    add_deduction(sessions, "ORD-PX-4", "E7004", "200.00", MARCH + timedelta(days=5), employment_number="A-4")
    second = await api.post("/salary-deductions/paxml", json={"municipality": "tranemo", "period": "2026-03"})
    assert second.status_code == 201 and second.json()["file_name"] == "paxml-tranemo-2026-03-2.xml"
    assert first["file_name"] == "paxml-tranemo-2026-03.xml"
    await poll(api, f"/files/deliveries/{second.json()['id']}", lambda r: r["state"] == "delivered")
    content = (tmp_path / "payroll" / "paxml-tranemo-2026-03-2.xml").read_bytes()
    assert [t.get("anstid") for t in etree.fromstring(content).iter("lonetrans")] == ["A-4"]
