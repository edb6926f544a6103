"""Importing the existing device register (issue 22; rules EQ-1, EQ-3 … EQ-7, BL-6): the template, reading
a CSV (UTF-8 with or without BOM, or Windows-1252; `;` or `,`) or XLSX file, validating every row against the
catalogue, units, people, the register and the rules, and spreading the renewal wave of devices already past
their renewal date. Pure: the caller passes what the database knows (`Reference`)."""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

from pydantic import BaseModel

from domain.catalogue import Category, add_months
from domain.common import REF_PATTERN
from domain.equipment import ORDER_NUMBER_PATTERN

# The template: Swedish column names (what the municipalities' registers call them), required or not, meaning.
COLUMNS: tuple[tuple[str, bool, str], ...] = (
    ("ordernummer", True, "order or asset number in the old register: the device's key in Ramflow (EQ-1)"),
    ("serienummer", True, "the manufacturer's serial number; unique"),
    ("modell", True, "model code in IT's assortment (GET /catalogue/models), e.g. LAT-5450 (EQ-1)"),
    ("kategori", False, "category (workstation, mobile_phone …); checked against the model's"),
    ("enhet", True, "unit = cost bearer, e.g. TR-KS (EQ-6, EQ-7)"),
    ("användare", False, "employee number of the user, e.g. E5001 (EQ-7)"),
    ("leveransdatum", True, "delivery date, YYYY-MM-DD: in use and renewed from here (EQ-5)"),
    ("avtalsslut", False, "the old register's contract end; informational (Ramflow's renewal policy applies)"),
    ("plats", False, "location (room, school)"),
)
HEADER = tuple(name for name, _, _ in COLUMNS)
EXAMPLE = ("ORD-2022-0001", "5CG1234XYZ", "LAT-5450", "workstation", "TR-KS", "E5001", "2022-09-15", "2026-09-15",
           "Kommunhuset, rum 204")
SHEET = "enheter"


class ImportFileError(ValueError):
    """The file cannot be read as a device register (422 naming what)."""


def file_id(content: bytes) -> str:
    """The import's id: the SHA-256 of the file (the same file is the same import)."""
    return hashlib.sha256(content).hexdigest()


# --- reading the file ---------------------------------------------------------------------------------------
def _decode(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")  # Excel's "CSV" on Swedish Windows


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def read_table(content: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: text}) per data row of a CSV or XLSX file; raises ImportFileError."""
    if content.startswith(b"PK\x03\x04"):  # a zip: XLSX
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as error:  # noqa: BLE001 - any unreadable workbook is the caller's file
            raise ImportFileError(f"file: not a readable XLSX workbook ({error.__class__.__name__})") from error
        sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
        lines = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        book.close()
    else:
        text = _decode(content)
        first = text.split("\n", 1)[0]
        delimiter = ";" if first.count(";") >= first.count(",") else ","
        lines = [[v.strip() for v in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
    if not lines:
        raise ImportFileError("file: empty; the first line names the columns (GET /imports/devices/template.csv)")
    header = [h.strip().lower().lstrip("\ufeff") for h in lines[0]]
    missing = [name for name, required, _ in COLUMNS if required and name not in header]
    if missing:
        raise ImportFileError(f"file: missing column(s) {', '.join(missing)}; the template names them all")
    rows = []
    for number, values in enumerate(lines[1:], start=2):
        if not any(values):
            continue  # a blank line (Excel leaves them at the end)
        rows.append((number, {name: (values[i] if i < len(values) else "") for i, name in enumerate(header)
                              if name in HEADER}))
    return rows


def template_csv() -> bytes:
    """The template as CSV: UTF-8 with BOM and `;`, as Excel on Swedish Windows opens it."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows((HEADER, EXAMPLE))
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    """The template as XLSX: the columns, an example row and a sheet describing each column."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(HEADER)
    sheet.append(EXAMPLE)
    about = book.create_sheet("kolumner")
    about.append(("kolumn", "obligatorisk", "betydelse"))
    for name, required, meaning in COLUMNS:
        about.append((name, "ja" if required else "nej", meaning))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- validation ---------------------------------------------------------------------------------------------
class ImportRow(BaseModel):
    """A row that passed validation: what the device starts with."""

    row: int
    order_number: str
    serial_number: str
    model_code: str
    unit_id: str
    user_ref: str | None = None
    location: str | None = None
    delivered_on: date


@dataclass(frozen=True)
class RegisteredDevice:
    serial_number: str | None
    model_code: str
    unit_id: str
    user_ref: str | None
    delivered_on: date | None


@dataclass
class Reference:
    """What the database knows, for validation: models (code → category, active, priced at the cut-over),
    units (id → municipality), people, the register, renewal periods in force."""

    models: dict[str, tuple[str, bool, bool]]
    units: dict[str, str]
    people: set[str]
    register: dict[str, RegisteredDevice]
    serials: dict[str, str]  # serial number → order number in the register
    renewal_months: dict[tuple[str, str], int | None]  # (category, municipality) → months, None: no renewal

    def months_for(self, category: str, municipality: str) -> int | None:
        from domain.catalogue import rules_of

        key = (category, municipality)
        return self.renewal_months[key] if key in self.renewal_months else rules_of(category).default_renewal_months


class RowReport(BaseModel):
    """What would happen to a row (dry run) or why not."""

    row: int
    order_number: str | None
    outcome: Literal["start", "unchanged", "error"]
    errors: list[str] = []
    warnings: list[str] = []
    delivered_on: date | None = None
    renewal_on: date | None = None  # delivery + the policy's months (EQ-5)
    renewal_due_on: date | None = None  # when the replacement is ordered: the lead time earlier, or its slot
    charges_from: date | None = None  # max(delivery, cut-over) (BL-6)


@dataclass
class Validated:
    reports: list[RowReport]
    rows: dict[int, ImportRow] = field(default_factory=dict)  # row number → the row to start

    @property
    def errors(self) -> int:
        return sum(1 for r in self.reports if r.outcome == "error")


def _date(text: str, column: str, errors: list[str]) -> date | None:
    text = text.strip()
    if not text:
        return None
    for pattern in (r"\d{4}-\d{2}-\d{2}", r"\d{4}-\d{2}-\d{2}[ T]00:00(:00)?"):
        if re.fullmatch(pattern, text):
            try:
                return date.fromisoformat(text[:10])
            except ValueError:
                break
    errors.append(f"{column}: {text!r} is not a date (YYYY-MM-DD)")
    return None


def check_row(number: int, raw: dict[str, str], ref: Reference, today: date, strict_people: bool
              ) -> tuple[RowReport, ImportRow | None]:
    """One row on its own: fields, catalogue, unit, person, dates, the register."""
    order_number = raw.get("ordernummer", "").strip().upper() or None
    serial = raw.get("serienummer", "").strip()
    model_code = raw.get("modell", "").strip().upper()
    unit_id = raw.get("enhet", "").strip().upper()
    user_ref = raw.get("användare", "").strip().upper() or None
    report = RowReport(row=number, order_number=order_number, outcome="error")
    errors, warnings = report.errors, report.warnings  # appended to below (pydantic copied the defaults)
    if order_number is None or not re.fullmatch(ORDER_NUMBER_PATTERN, order_number):
        errors.append(f"ordernummer: {order_number!r} is not an order number (A-Z, 0-9 and -, 3-40 characters; EQ-1)")
    if not serial or len(serial) > 80:
        errors.append("serienummer: required (at most 80 characters)")
    model = ref.models.get(model_code)
    if model is None or not model[1]:
        errors.append(f"modell: unknown model {model_code!r}: not in IT's assortment (rule EQ-1)")
    elif not model[2]:
        errors.append(f"modell: {model_code!r} has no price for the cut-over year (rule EQ-4)")
    elif model[0] == Category.SHORT_TERM_LAPTOP.value:
        errors.append("modell: short-term laptops are lent per week (EQ-14), not imported")
    category = raw.get("kategori", "").strip().lower()
    if model is not None and category and category != model[0]:
        errors.append(f"kategori: {category!r} is not the model's category {model[0]!r} (rule EQ-4)")
    municipality = ref.units.get(unit_id)
    if municipality is None:
        errors.append(f"enhet: unknown unit {unit_id!r} (rule EQ-7)")
    if user_ref is not None and not re.fullmatch(REF_PATTERN, user_ref):
        errors.append(f"användare: {user_ref!r} is not an employee number")
    elif user_ref is not None and user_ref not in ref.people:
        message = f"användare: unknown person {user_ref!r}: not in the people register (rule EQ-7)"
        (errors if strict_people else warnings).append(message)
    delivered = _date(raw.get("leveransdatum", ""), "leveransdatum", errors)
    if delivered is None and not any(e.startswith("leveransdatum") for e in errors):
        errors.append("leveransdatum: required")
    elif delivered is not None and delivered > today:
        errors.append(f"leveransdatum: {delivered.isoformat()} is in the future; only delivered devices are "
                      f"imported (rule EQ-6)")
    contract_end = _date(raw.get("avtalsslut", ""), "avtalsslut", errors)
    report.delivered_on = delivered
    if delivered is not None and model is not None and municipality is not None:
        months = ref.months_for(model[0], municipality)
        report.renewal_on = add_months(delivered, months) if months else None
        if contract_end is not None and contract_end != report.renewal_on:
            warnings.append(f"avtalsslut: {contract_end.isoformat()} differs from the renewal date "
                            f"{report.renewal_on.isoformat() if report.renewal_on else 'none'} of the policy in "
                            f"force; the policy applies (rule EQ-5)")
    row = None
    if not errors:
        row = ImportRow(row=number, order_number=order_number, serial_number=serial, model_code=model_code,
                        unit_id=unit_id, user_ref=user_ref, location=raw.get("plats", "").strip()[:120] or None,
                        delivered_on=delivered)
        report.outcome = "start"
        existing = ref.register.get(order_number or "")
        if existing is not None:
            ours = RegisteredDevice(serial, model_code, unit_id, user_ref, delivered)
            differ = [name for name, a, b in zip(
                ("serienummer", "modell", "enhet", "användare", "leveransdatum"),
                (existing.serial_number, existing.model_code, existing.unit_id, existing.user_ref,
                 existing.delivered_on), (ours.serial_number, ours.model_code, ours.unit_id, ours.user_ref,
                                          ours.delivered_on)) if a != b]
            if differ:
                errors.append(f"ordernummer: {order_number} is already in Ramflow with other data "
                              f"({', '.join(differ)}) (rule EQ-1)")
                report.outcome, row = "error", None
            else:
                report.outcome, row = "unchanged", None
        elif ref.serials.get(serial) is not None:
            errors.append(f"serienummer: {serial!r} is already in the register on {ref.serials[serial]}")
            report.outcome, row = "error", None
    return report, row


def validate(table: list[tuple[int, dict[str, str]]], ref: Reference, today: date, cutover: date,
             strict_people: bool = False) -> Validated:
    """Every row, then what the rows say together (a serial number or an order number twice in the file)."""
    result = Validated(reports=[])
    first_order: dict[str, int] = {}
    first_serial: dict[str, int] = {}
    for number, raw in table:
        report, row = check_row(number, raw, ref, today, strict_people)
        for key, seen, column in ((report.order_number, first_order, "ordernummer"),
                                  (raw.get("serienummer", "").strip(), first_serial, "serienummer")):
            if not key:
                continue
            if key in seen:
                report.errors.append(f"{column}: {key!r} also on row {seen[key]} of the file")
                report.outcome, row = "error", None
            else:
                seen[key] = number
        if report.delivered_on is not None and report.outcome != "error":
            report.charges_from = max(report.delivered_on, cutover)
        result.reports.append(report)
        if row is not None:
            result.rows[number] = row
    return result


# --- starting mid-life --------------------------------------------------------------------------------------
def delivered_at(day: date) -> datetime:
    """The instant of a delivery date: noon UTC, the same calendar day in Sweden all year."""
    return datetime.combine(day, time(12), tzinfo=timezone.utc)


def spread_renewals(reports: list[RowReport], now: datetime, lead_days: int, per_day: int
                    ) -> dict[int, datetime]:
    """Rule EQ-5 for a migration: devices already past their renewal date (less the lead time) are due now,
    `per_day` a day, oldest first, so the wave of replacements is spread. Row number → its slot (rows in the
    first day's slots are due at once and get none). Sets each report's `renewal_due_on`."""
    overdue = []
    for report in reports:
        if report.outcome != "start" or report.renewal_on is None:
            continue
        due = delivered_at(report.renewal_on) - timedelta(days=lead_days)
        report.renewal_due_on = due.date()
        if due <= now:
            overdue.append((due, report.row, report))
    slots: dict[int, datetime] = {}
    for index, (_, number, report) in enumerate(sorted(overdue, key=lambda o: (o[0], o[1]))):
        slot = now + timedelta(days=index // per_day)
        report.renewal_due_on = slot.date()
        if index >= per_day:
            slots[number] = slot
    return slots
