"""The erasure vendor's report (rule EQ-12; issue 25): one line per serial number or IMEI with the certificate
id, the method, the date and the vendor, as CSV (`;` or `,`, UTF-8 with or without BOM, or Windows-1252) or as
a flat Blancco-like XML (`<report vendor="…"><erasure><serial>…</serial><certificate_id>…</certificate_id>
<method>…</method><date>…</date></erasure>…</report>`; an element per line, child names as the CSV columns)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from lxml import etree

# accepted column / element names (lower case) → field
ALIASES = {
    "serial": "serial", "serial_number": "serial", "serienummer": "serial", "imei": "imei",
    "certificate_id": "certificate_id", "certificate": "certificate_id", "certifikat": "certificate_id",
    "report_uuid": "certificate_id", "intyg": "certificate_id",
    "method": "method", "erasure_method": "method", "metod": "method",
    "date": "date", "erased_on": "date", "datum": "date",
    "vendor": "vendor", "leverantor": "vendor", "leverantör": "vendor",
}
MAX_LINES = 20_000


class ReportError(Exception):
    """The file cannot be read as a report at all (names what is wrong); nothing is recorded."""


@dataclass(frozen=True)
class ReportLine:
    line: int
    serial: str  # the serial number, or the IMEI when the line has no serial
    certificate_id: str
    method: str
    erased_on: date | None
    vendor: str
    problem: str | None = None  # a line that cannot be used as it is (missing field, bad date)


def _line(number: int, raw: dict[str, str], default_vendor: str | None) -> ReportLine:
    fields = {ALIASES[k.strip().lower()]: (v or "").strip() for k, v in raw.items() if k and k.strip().lower() in ALIASES}
    serial = fields.get("serial") or fields.get("imei") or ""
    vendor = fields.get("vendor") or default_vendor or ""
    problem, erased_on = None, None
    try:
        erased_on = date.fromisoformat(fields["date"][:10]) if fields.get("date") else None
    except ValueError:
        problem = f"date: {fields['date']!r} is not a date (YYYY-MM-DD)"
    missing = [name for name, value in (("serial", serial), ("certificate_id", fields.get("certificate_id")),
                                        ("vendor", vendor)) if not value]
    if missing:
        problem = f"{', '.join(missing)}: missing"
    if len(serial) > 80 or len(fields.get("certificate_id", "")) > 80 or len(vendor) > 80:
        problem = "serial, certificate_id, vendor: at most 80 characters"
    return ReportLine(number, serial, fields.get("certificate_id", ""), fields.get("method", "")[:120], erased_on,
                      vendor, problem)


def _text(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ReportError("file: neither UTF-8 nor Windows-1252")


def read_report(content: bytes, default_vendor: str | None = None) -> list[ReportLine]:
    """The report's lines; the XML's `vendor` attribute or the request's vendor fills lines without one."""
    if not content.strip():
        raise ReportError("file: empty")
    if content.lstrip().startswith(b"<"):
        return _read_xml(content, default_vendor)
    text = _text(content)
    dialect = ";" if text.split("\n", 1)[0].count(";") >= text.split("\n", 1)[0].count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=dialect)
    if not reader.fieldnames or not {"serial", "imei"} & {ALIASES.get(f.strip().lower()) for f in reader.fieldnames}:
        raise ReportError("file: the header needs a serial (or imei) and a certificate_id column")
    lines = [_line(number, row, default_vendor) for number, row in enumerate(reader, start=2)]
    return _bounded(lines)


def _read_xml(content: bytes, default_vendor: str | None) -> list[ReportLine]:
    try:
        root = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise ReportError(f"file: not XML ({error})") from None
    vendor = root.get("vendor") or default_vendor
    lines = []
    for number, entry in enumerate((e for e in root.iter() if isinstance(e.tag, str) and
                                    any(isinstance(c.tag, str) and etree.QName(c).localname.lower() in ("serial", "imei")
                                        for c in e)), start=1):
        raw = {etree.QName(c).localname: c.text or "" for c in entry if isinstance(c.tag, str)}
        lines.append(_line(number, raw, entry.get("vendor") or vendor))
    if not lines:
        raise ReportError("file: no element with a serial or imei child")
    return _bounded(lines)


def _bounded(lines: list[ReportLine]) -> list[ReportLine]:
    if len(lines) > MAX_LINES:
        raise ReportError(f"file: more than {MAX_LINES} lines; split the report")
    return lines
