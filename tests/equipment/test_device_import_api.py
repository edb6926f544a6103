"""Importing the existing device register through the API (issue 22; rules EQ-1, EQ-5, EQ-6, EQ-7, BL-6): the
template, the dry run's per-row report, CSV in Windows-1252 with `;` and XLSX, the commit's mid-life start
(true delivery date, renewal date from the policy, charges from the cut-over), the spread renewal wave and a
re-import that changes nothing. Real worker and time-skipping server; dates relative to today."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from db.billing_queries import due_for_renewal
from db.import_models import DeviceImportRun
from db.models import CallOff, Charge, Device, DeviceTransition, MdmEnrolment
from domain.catalogue import add_months
from domain.device_import import HEADER
from tests.equipment.helpers import until_state
from tests.equipment.import_helpers import (
    commit,
    dry_run,
    register_csv,
    row,
    this_period,
    today,
    until_done,
    years_ago,
)


@pytest.fixture(autouse=True)
def clock_stands_still(env):
    """The commit waits for the import job's result: on the time-skipping server that wait would skip the
    clock to the imported devices' renewal timers, years ahead. Here time passes only as it does."""
    with env.auto_time_skipping_disabled():
        yield


def by_row(report: dict) -> dict[str, dict]:
    return {r["order_number"]: r for r in report["report"]}


async def test_eq1_template_round_trip_csv_and_xlsx(api, sessions):
    csv_answer = await api.get("/imports/devices/template.csv")
    assert csv_answer.status_code == 200 and csv_answer.headers["content-type"].startswith("text/csv")
    assert csv_answer.content.startswith(b"\xef\xbb\xbf" + ";".join(HEADER).encode())  # Excel's BOM, `;`
    xlsx_answer = await api.get("/imports/devices/template.xlsx")
    assert xlsx_answer.status_code == 200
    book = load_workbook(io.BytesIO(xlsx_answer.content))
    assert [c.value for c in book["enheter"][1]] == list(HEADER)
    assert {r[0].value for r in book["kolumner"].iter_rows(min_row=2)} == set(HEADER)
    for template in (csv_answer.content, xlsx_answer.content):
        report = await dry_run(api, template, cutover="2026-01")
        assert (report["rows"], report["would_start"], report["errors"]) == (1, 1, 0), report
        example = report["report"][0]
        assert example["order_number"] == "ORD-2022-0001"
        assert example["delivered_on"] == "2022-09-15"
        assert example["renewal_on"] == "2026-09-15"  # rule EQ-5: delivery + 48 months (the policy in force)
        assert example["charges_from"] == "2026-01-01"  # rule BL-6: max(delivery, cut-over)
        assert any(w.startswith("användare:") for w in example["warnings"]), example  # E5001: not in the register
    with sessions() as s:  # a dry run writes nothing
        assert s.scalar(select(func.count()).select_from(Device)) == 0
        assert s.scalar(select(func.count()).select_from(DeviceImportRun)) == 0


async def test_eq1_dry_run_reports_each_error_kind_and_writes_nothing(api, sessions, settings):
    await until_done(api, (await commit(api, register_csv([row("OLD-1", years_ago(2))])))["id"])
    rows = [
        row("R-MODEL", years_ago(1), model="NOPE-1"),  # unknown model
        row("R-UNIT", years_ago(1), unit="XX-NONE"),  # unknown unit
        row("R-PERSON", years_ago(1), user="E9999"),  # unknown person: a warning
        row("R-FUTURE", today() + timedelta(days=3)),  # delivery date in the future
        row("R-DUP-A", years_ago(1), serial="SN-TWICE"),
        row("R-DUP-B", years_ago(1), serial="SN-TWICE"),  # duplicate serial number within the file
        row("OLD-1", years_ago(2)),  # already in Ramflow with the same data: unchanged
        row("R-CAT", years_ago(1), category="tablet"),  # category not the model's
        row("R-DATE", years_ago(1))[:6] + ["15/3/2022", "", ""],  # not a date
    ]
    changed = [row("OLD-1", years_ago(2), unit="TR-BUF"),  # already in Ramflow with other data
               row("R-TAKEN", years_ago(1), serial="SN-OLD-1")]  # serial number already in the register
    report = await dry_run(api, register_csv(rows))
    got = by_row(report)
    assert got["R-MODEL"]["errors"] == ["modell: unknown model 'NOPE-1': not in IT's assortment (rule EQ-1)"]
    assert got["R-UNIT"]["errors"] == ["enhet: unknown unit 'XX-NONE' (rule EQ-7)"]
    assert got["R-PERSON"]["outcome"] == "start" and got["R-PERSON"]["warnings"][0].startswith("användare: unknown")
    assert "is in the future" in got["R-FUTURE"]["errors"][0]
    assert got["R-DUP-A"]["outcome"] == "start"
    assert got["R-DUP-B"]["errors"] == ["serienummer: 'SN-TWICE' also on row 6 of the file"]
    assert got["OLD-1"]["outcome"] == "unchanged" and got["OLD-1"]["errors"] == [], got["OLD-1"]
    assert got["R-CAT"]["errors"][0].startswith("kategori:")
    assert got["R-DATE"]["errors"] == ["leveransdatum: '15/3/2022' is not a date (YYYY-MM-DD)"]
    assert (report["would_start"], report["unchanged"], report["errors"]) == (2, 1, 6)
    other = by_row(await dry_run(api, register_csv(changed[:1]))) | by_row(await dry_run(api, register_csv(changed[1:])))
    assert other["OLD-1"]["errors"] == ["ordernummer: OLD-1 is already in Ramflow with other data (enhet) (rule EQ-1)"]
    assert other["R-TAKEN"]["errors"] == ["serienummer: 'SN-OLD-1' is already in the register on OLD-1"]
    settings.import_strict_people = True  # configured strict: an unknown person is an error
    strict = by_row(await dry_run(api, register_csv([row("R-PERSON", years_ago(1), user="E9999")])))["R-PERSON"]
    assert strict["outcome"] == "error" and strict["errors"][0].startswith("användare: unknown person")
    settings.import_strict_people = False
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Device)) == 1  # only OLD-1, from the first commit
    refused = await api.post("/imports/devices", content=register_csv(rows),
                             params={"cutover": this_period(), "dry_run": "false"})
    assert refused.status_code == 422 and refused.json()["import_report"]["errors"] == 6  # rule EQ-1: nothing half-written
    bad_cutover = await api.post("/imports/devices", content=register_csv(rows), params={"cutover": "mars"})
    assert bad_cutover.status_code == 422 and bad_cutover.json()["detail"].startswith("cutover:")
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Device)) == 1
        assert s.scalar(select(func.count()).select_from(DeviceImportRun)) == 1
    skipped = await until_done(api, (await commit(api, register_csv(rows), skip_invalid="true"))["id"])
    assert (skipped["done"], skipped["failed"], skipped["remaining"]) == (3, 6, 0)  # 2 started, 1 unchanged


async def test_eq7_csv_in_windows_1252_with_semicolons_and_xlsx(api, sessions):
    cp1252 = register_csv([row("W-1", years_ago(1), location="Västra skolan, rum 3 (Åsarp)")], encoding="cp1252")
    assert "Västra".encode("cp1252") in cp1252 and b"anv\xe4ndare" in cp1252  # not UTF-8
    book = Workbook()
    book.active.append(list(HEADER))
    delivered = years_ago(1, days=10)
    book.active.append(["X-1", "SN-X-1", "LAT-5450", "workstation", "UL-KS", "", datetime.combine(delivered,
                                                                                                  datetime.min.time()),
                        None, "Stadshuset"])
    out = io.BytesIO()
    book.save(out)
    for content, number in ((cp1252, "W-1"), (out.getvalue(), "X-1"),
                            (register_csv([row("C-1", years_ago(1))], delimiter=","), "C-1")):
        assert by_row(await dry_run(api, content))[number]["outcome"] == "start"
        await until_done(api, (await commit(api, content))["id"])
    w1 = (await api.get("/devices/W-1")).json()
    assert w1["location"] == "Västra skolan, rum 3 (Åsarp)" and w1["state"] == "in_use"
    x1 = (await api.get("/devices/X-1")).json()
    assert (x1["unit_id"], x1["user_ref"], x1["delivered_at"][:10]) == ("UL-KS", None, delivered.isoformat())


async def test_eq5_eq6_bl6_commit_starts_mid_life_with_true_dates_and_charges_from_cutover(api, sessions):
    delivered, phone_delivered, late = years_ago(2), years_ago(1), today()
    content = register_csv([row("M-1", delivered), row("M-PHONE", phone_delivered, model="IPHONE-15"),
                            row("M-NEW", late, model="IPHONE-15", unit="TR-SOC", user="")])
    cutover = (today() - timedelta(days=today().day - 1))  # the first of this month
    progress = await until_done(api, (await commit(api, content))["id"])
    assert (progress["rows"], progress["done"], progress["failed"], progress["remaining"]) == (3, 3, 0, 0)
    device = await until_state(api, "M-1", "in_use")
    assert device["delivered_at"][:10] == delivered.isoformat()  # its true delivery date
    renewal = add_months(delivered, 48)  # rule EQ-5: delivery + the policy's 48 months
    assert device["rental_end_at"][:10] == renewal.isoformat()
    assert device["renewal_due_at"][:10] == (renewal - timedelta(days=30)).isoformat()  # less the lead time
    assert (device["unit_id"], device["cost_bearer_unit_id"], device["user_ref"]) == ("TR-KS", "TR-KS", "E5001")
    log = [(r["event"], r["actor"], r["rule"], r["reason"]) for r in device["log"]]
    assert log == [(event, "it.anna", "EQ-1", "import from register.csv")
                   for event in ("order", "call_off", "deliver", "activate")]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(CallOff)) == 0  # procurement is not called off again
        assert s.scalar(select(func.count()).select_from(MdmEnrolment)) == 0  # enrolled in the old world
        charges = {(c.order_number, c.kind): (c.starts_on, c.amount) for c in s.scalars(select(Charge))}
    # rule BL-6: charged from the cut-over, never for periods the old system invoiced; the phone bought
    # before the cut-over is not charged its purchase again, the one delivered after it is
    assert charges[("M-1", "rent")][0] == cutover
    assert charges[("M-PHONE", "service_fee")][0] == cutover
    assert ("M-PHONE", "purchase") not in charges
    assert charges[("M-NEW", "service_fee")][0] == late and ("M-NEW", "purchase") in charges


async def test_eq5_devices_past_renewal_are_due_but_spread_per_day(api, sessions, settings):
    settings.import_renewals_per_day = 2
    content = register_csv([row(f"S-{i}", years_ago(6, days=i)) for i in range(3)] + [row("S-FRESH", years_ago(1))])
    report = by_row(await dry_run(api, content))
    due_on = sorted(report[f"S-{i}"]["renewal_due_on"] for i in range(3))
    assert due_on == [today().isoformat()] * 2 + [(today() + timedelta(days=1)).isoformat()]  # 2 a day
    progress = await until_done(api, (await commit(api, content))["id"])
    spread = [r for r in progress["results"] if r["renewal_not_before"]]
    assert [r["order_number"] for r in spread] == ["S-0"]  # the youngest of the overdue waits a day
    for number in ("S-1", "S-2"):  # the oldest two are due now: their replacements are ordered
        renewed = await until_state(api, number, "renewal_due")
        assert renewed["replacement_order"] == f"{number}-R1"
    waiting = (await api.get("/devices/S-0")).json()
    assert waiting["state"] == "in_use"
    assert date.fromisoformat(waiting["renewal_due_at"][:10]) == today() + timedelta(days=1)
    with sessions() as s:  # the daily safety net leaves it to its slot
        assert "S-0" not in {n for n, _ in due_for_renewal(s, today(), 30)}
    assert (await api.get("/devices/S-FRESH")).json()["state"] == "in_use"


async def test_eq1_reimporting_changes_nothing(api, sessions):
    rows = [row("RE-1", years_ago(3)), row("RE-2", years_ago(1), model="OPT-7020", unit="UL-BUF")]
    content = register_csv(rows)
    first = await until_done(api, (await commit(api, content))["id"])
    await until_state(api, "RE-2", "in_use")

    def snapshot() -> tuple:
        with sessions() as s:
            return (s.scalar(select(func.count()).select_from(DeviceTransition)),
                    s.scalar(select(func.count()).select_from(Charge)),
                    sorted(s.execute(select(Device.order_number, Device.state, Device.delivered_at)).all()))

    before = snapshot()
    again = await commit(api, content)  # the same file: the same import
    assert (again["id"], again["status"], again["done"]) == (first["id"], "done", 2)
    other_file = register_csv(list(reversed(rows)), delimiter=",")  # the same rows in another file
    report = await dry_run(api, other_file)
    assert [r["outcome"] for r in report["report"]] == ["unchanged", "unchanged"]
    second = await until_done(api, (await commit(api, other_file))["id"])
    assert second["id"] != first["id"] and {r["outcome"] for r in second["results"]} == {"unchanged"}
    assert snapshot() == before


async def test_eq1_multipart_upload_names_its_file_in_the_audit_log_and_only_it_admin_commits(api, bearer):
    content = register_csv([row("MP-1", years_ago(2))])
    staff = bearer("it.bo", "it-staff", team="användarstöd")
    refused = await api.post("/imports/devices", files={"file": ("gamla-registret.csv", content)},
                             params={"cutover": this_period()}, headers=staff)
    assert refused.status_code == 403  # it-admin imports; IT staff only follow (GET)
    answer = await api.post("/imports/devices", files={"file": ("gamla-registret.csv", content)},
                            params={"cutover": this_period(), "dry_run": "false"})
    assert answer.status_code in (200, 202), answer.text
    done = await until_done(api, answer.json()["id"])
    assert (await api.get(f"/imports/{done['id']}", headers=staff)).status_code == 200
    device = await until_state(api, "MP-1", "in_use")
    assert {r["reason"] for r in device["log"]} == {"import from gamla-registret.csv"}
    empty = await api.post("/imports/devices", content=b"", params={"cutover": this_period()})
    assert empty.status_code == 422 and empty.json()["detail"].startswith("file:")
    missing = await api.post("/imports/devices", content=b"ordernummer;modell\r\nA-1;LAT-5450\r\n",
                             params={"cutover": this_period()})
    assert missing.status_code == 422 and "serienummer" in missing.json()["detail"]
    unknown = await api.get(f"/imports/{'0' * 64}")
    assert unknown.status_code == 404
