"""Net salary deductions of accepted buyouts as a PAXml 2.0 file (rule EQ-11; issue 25): one file per
municipality and payroll period, `<paxml><header><format>LÖNIN</format><version>2.0</version>…` and one
`<lonetrans anstid="…">` per deduction with the payroll system's pay-type code (`lonart`), the date and the
amount. The employee is named by the employment number (`anstid`), never by the personnummer.

The bytes depend only on the deductions (no clock): the same deductions give the identical file."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

PAXML_VERSION = "2.0"
PAXML_SCHEMA = "http://www.paxml.se/2.0/paxml.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


class PaxmlConfigError(Exception):
    """The export lacks configuration or data it needs (names what is missing); nothing is delivered."""


@dataclass(frozen=True)
class DeductionLine:
    order_number: str
    employment_number: str | None  # the people register's `employment_number` (PAXml anstid)
    employee_ref: str  # only for the error message naming whom the employment number is missing for
    amount: Decimal
    on: date  # the day the deduction was recorded (local date)


def pay_type_for(municipality: str, pay_types: dict[str, str]) -> str:
    code = (pay_types.get(municipality) or "").strip()
    if not code:
        raise PaxmlConfigError(f"PAXML_PAY_TYPES: no pay-type code (lonart) for {municipality!r}; "
                               "the payroll office gives the code of a net salary deduction")
    return code


def paxml_document(lines: list[DeductionLine], pay_type: str, created: datetime) -> bytes:
    """The PAXml file; refused (PaxmlConfigError) when a line has no employment number or a bad amount."""
    missing = sorted({line.employee_ref for line in lines if not (line.employment_number or "").strip()})
    if missing:
        raise PaxmlConfigError(f"employment_number: missing in the people register for {', '.join(missing)} "
                               "(PAXml anstid; the personnummer is never sent)")
    bad = [line.order_number for line in lines if line.amount <= 0 or line.amount != line.amount.quantize(Decimal("0.01"))]
    if bad:
        raise PaxmlConfigError(f"amount: not a positive amount in öre for {', '.join(bad)}")
    root = etree.Element("paxml", nsmap={"xsi": XSI})
    root.set(f"{{{XSI}}}noNamespaceSchemaLocation", PAXML_SCHEMA)
    header = etree.SubElement(root, "header")
    etree.SubElement(header, "format").text = "LÖNIN"
    etree.SubElement(header, "version").text = PAXML_VERSION
    etree.SubElement(header, "datum").text = created.replace(tzinfo=None, microsecond=0).isoformat()
    transactions = etree.SubElement(root, "lonetransaktioner")
    for line in sorted(lines, key=lambda l: (l.on, l.employment_number, l.order_number)):
        trans = etree.SubElement(transactions, "lonetrans", anstid=line.employment_number.strip())
        etree.SubElement(trans, "lonart").text = pay_type
        etree.SubElement(trans, "datum").text = line.on.isoformat()
        etree.SubElement(trans, "belopp").text = f"{line.amount:.2f}"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def paxml_file_name(municipality: str, period: str, sequence: int) -> str:
    """`paxml-tranemo-2026-03.xml`; a later file for the same period (deductions recorded after the first was
    made) is `…-2.xml`, so a delivered file is never changed."""
    return f"paxml-{municipality}-{period}{'' if sequence == 1 else f'-{sequence}'}.xml"
