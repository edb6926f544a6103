"""Rule EQ-12 (issue 25): the erasure vendor's report (CSV or Blancco-like XML, one line per serial number or
IMEI) imported in one request: a dry run first; then each device waiting for erasure at that vendor gets its
certificate through its own record_erasure event; unknown serials, a wrong vendor, a device not sent are listed
and change nothing; the same report again changes nothing more."""
from __future__ import annotations

from domain.equipment import Deliver, ReturnDevice, SendToErasure
from tests.equipment.helpers import act, order_device, view


async def sent_to_erasure(client, worker, number: str, serial: str, vendor: str = "Inrego AB"):  # noqa: ANN001
    handle = await order_device(client, worker.task_queue, number)
    await act(handle, Deliver(serial_number=serial))
    await act(handle, ReturnDevice())
    if vendor:
        await act(handle, SendToErasure(vendor=vendor))
    return handle


def by_serial(body: dict) -> dict[str, dict]:
    return {r["serial"]: r for r in body["results"]}


async def test_eq12_vendor_report_records_certificates_and_lists_mismatches(api, client, worker, sessions):
    a = await sent_to_erasure(client, worker, "ORD-ER-1", "SN-ER-1")
    b = await sent_to_erasure(client, worker, "ORD-ER-2", "SN-ER-2")
    other = await sent_to_erasure(client, worker, "ORD-ER-3", "SN-ER-3", vendor="Certus Datadestruktion AB")
    not_sent = await sent_to_erasure(client, worker, "ORD-ER-4", "SN-ER-4", vendor="")
    report = ("serial;certificate_id;method;date;vendor\n"
              "SN-ER-1;BL-1001;NIST 800-88 Purge;2026-03-02;Inrego AB\n"
              "SN-ER-2;BL-1002;NIST 800-88 Purge;2026-03-02;Inrego AB\n"
              "SN-ER-3;BL-1003;NIST 800-88 Purge;2026-03-02;Inrego AB\n"
              "SN-ER-4;BL-1004;NIST 800-88 Purge;2026-03-02;Inrego AB\n"
              "SN-UNKNOWN;BL-1005;NIST 800-88 Purge;2026-03-02;Inrego AB\n"
              "SN-ER-1;;NIST 800-88 Purge;2026-03-02;Inrego AB\n").encode("utf-8-sig")
    dry = (await api.post("/erasure-reports", content=report, headers={"Content-Type": "text/csv"})).json()
    assert (dry["dry_run"], dry["would_record"], dry["recorded"], dry["mismatches"]) == (True, 1, 0, 5)
    lines = {r["line"]: r for r in dry["results"]}
    assert lines[3]["outcome"] == "would_record" and lines[3]["order_number"] == "ORD-ER-2"
    assert "more than one line" in lines[2]["problem"]  # SN-ER-1 twice: neither line is used
    assert "wrong vendor" in lines[4]["problem"] and "not sent to erasure" in lines[5]["problem"]
    assert "unknown serial" in lines[6]["problem"] and "certificate_id: missing" in lines[7]["problem"]
    assert (await view(a)).state == "awaiting_erasure"  # a dry run changes nothing

    report = report.replace(b"SN-ER-1;;NIST 800-88 Purge;2026-03-02;Inrego AB\n", b"")
    dry = (await api.post("/erasure-reports", content=report)).json()
    assert dry["would_record"] == 2 and by_serial(dry)["SN-ER-1"]["order_number"] == "ORD-ER-1"
    done = (await api.post("/erasure-reports", params={"dry_run": "false"}, content=report)).json()
    assert (done["recorded"], done["mismatches"]) == (2, 3)
    for handle, certificate in ((a, "BL-1001"), (b, "BL-1002")):
        state = await view(handle)
        assert state.state == "erased" and state.erasure_certificate == certificate
        assert "BL-" in state.log[-1].reason and "NIST 800-88 Purge" in state.log[-1].reason
    assert (await view(other)).state == "awaiting_erasure" and (await view(not_sent)).state == "returned"
    again = (await api.post("/erasure-reports", params={"dry_run": "false"}, content=report)).json()
    assert (again["recorded"], again["unchanged"]) == (0, 2)


async def test_eq12_blancco_like_xml_report_with_imei(api, client, worker):
    handle = await sent_to_erasure(client, worker, "ORD-ER-X", "356938035643809")
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<report vendor="Inrego AB">
  <erasure><imei>356938035643809</imei><certificate_id>BL-X-1</certificate_id>
    <method>Blancco Mobile Diagnostics and Erasure</method><date>2026-03-05T10:12:00</date></erasure>
</report>"""
    done = (await api.post("/erasure-reports", params={"dry_run": "false"}, content=xml)).json()
    assert done["recorded"] == 1, done
    assert (await view(handle)).erasure_certificate == "BL-X-1"


async def test_eq12_unreadable_report_and_uncertified_vendor(api, client, worker):
    assert (await api.post("/erasure-reports", content=b"")).status_code == 422
    no_serial = await api.post("/erasure-reports", content=b"name;certificate_id\nx;y\n")
    assert no_serial.status_code == 422 and "serial" in no_serial.text
    await sent_to_erasure(client, worker, "ORD-ER-U", "SN-ER-U")
    body = (await api.post("/erasure-reports", params={"vendor": "Billig Skrot HB"},
                           content=b"serial,certificate_id\nSN-ER-U,C-1\n")).json()
    assert "not a certified erasure vendor" in body["results"][0]["problem"]
    staff_only = await api.post("/erasure-reports", content=b"serial;certificate_id\n",
                                headers=api.bearer("eko.erik", "economy"))
    assert staff_only.status_code == 403
