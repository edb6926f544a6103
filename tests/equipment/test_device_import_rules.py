"""The device import's pure rules (issue 22, domain/device_import.py): reading CSV in either encoding and
separator, and spreading the renewal wave of devices already past their renewal date (rule EQ-5)."""
from __future__ import annotations

from datetime import date, datetime, timezone

from domain.device_import import HEADER, RowReport, read_table, spread_renewals


def test_eq7_csv_sniffs_separator_and_encoding_and_keeps_quoted_separators():
    lines = [",".join(HEADER), 'A-1,S1,LAT-5450,,TR-KS,,2024-01-02,,"Skolan, rum 4"']
    for content in ("\r\n".join(lines).encode("utf-8"), ("\ufeff" + "\r\n".join(lines)).encode("utf-8"),
                    "\r\n".join(lines).encode("cp1252")):
        [(number, row)] = read_table(content)
        assert number == 2 and row["plats"] == "Skolan, rum 4" and row["användare"] == ""
    semicolons = ";".join(HEADER).encode("cp1252") + b"\r\nA-1;S1;LAT-5450;;TR-KS;;2024-01-02;;V\xe4stra\r\n\r\n"
    assert read_table(semicolons) == [(2, {**{h: "" for h in HEADER}, "ordernummer": "A-1", "serienummer": "S1",
                                           "modell": "LAT-5450", "enhet": "TR-KS", "leveransdatum": "2024-01-02",
                                           "plats": "Västra"})]


def test_eq5_overdue_renewals_are_spread_oldest_first_per_day():
    now = datetime(2027, 3, 10, 9, 0, tzinfo=timezone.utc)
    reports = [RowReport(row=n, order_number=f"O-{n}", outcome="start", renewal_on=day)
               for n, day in ((2, date(2026, 5, 1)), (3, date(2025, 1, 1)), (4, date(2026, 1, 1)),
                              (5, date(2030, 1, 1)), (6, date(2025, 6, 1)))]
    slots = spread_renewals(reports, now, lead_days=30, per_day=2)
    assert slots == {4: datetime(2027, 3, 11, 9, 0, tzinfo=timezone.utc),  # third and fourth oldest: a day later
                     2: datetime(2027, 3, 11, 9, 0, tzinfo=timezone.utc)}
    due = {r.order_number: r.renewal_due_on for r in reports}
    assert due == {"O-3": date(2027, 3, 10), "O-6": date(2027, 3, 10), "O-4": date(2027, 3, 11),
                   "O-2": date(2027, 3, 11), "O-5": date(2029, 12, 2)}  # not yet due: its own date, less the lead
