"""Internal charges as accounting vouchers: SIE type 4I (issue 25, rules BL-1 … BL-6).

SIE-gruppen's format for feeder systems (utgåva 4C): `#FLAGGA 0`, `#FORMAT PC8` (the file is CP437),
`#SIETYP 4`, dimensions and objects, then one `#VER` per unit basis: its `#TRANS` rows debit the unit's
cost accounts on its cost centre (dim 1) and credit IT's income accounts on IT's cost centre, each
voucher balanced to the öre. A basis's correction lines (BL-4 adjustments) make a voucher of their own.
Pure: no clock, no I/O, so exporting a run twice gives the same bytes (docs/billing-files.md)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.billing import Line, parse_period

PROGRAM = "Ramflow"
PROGRAM_VERSION = "1.0"
CHART = "KOMMUN-BAS"  # #KPTYP: the municipalities' chart of accounts (Kommun-Bas, SKR)
COST_CENTRE_DIM = 1  # SIE's reserved dimension 1: kostnadsställe
ANY = "*"  # a mapping for every category of a charge kind
# characters CP437 lacks that billing texts use (the period's date range has an en dash)
ASCII_FOR = str.maketrans({"–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "\u00a0": " "})


@dataclass(frozen=True)
class Mapping:
    """Where one charge kind (and category) goes in a municipality's ledger."""

    charge_kind: str
    category: str
    cost_account: str
    income_account: str
    income_cost_centre: str  # IT's own cost centre, where the income is booked


@dataclass(frozen=True)
class Basis:
    """One unit basis as the export sees it."""

    unit_id: str
    unit_name: str
    total: Decimal
    lines: list[Line]


class UnmappedCharge(ValueError):
    """A charge kind/category without an account: the export stops, no partial file (issue 25)."""

    def __init__(self, municipality: str, missing: list[tuple[str, str | None]]) -> None:
        self.missing = missing
        names = ", ".join(f"{kind}/{category or ANY}" for kind, category in missing)
        super().__init__(f"ledger mapping: {municipality} has no accounts for charge kind/category {names}")


def charge_of(line: Line) -> tuple[str, str | None]:
    """The charge kind and category a line is booked as; a correction is booked as what it corrects."""
    if line.kind != "adjustment":
        return line.kind, line.category
    prefix, _, rest = line.article.partition(":")
    return (rest if prefix == "hour" else prefix), line.category


def find_mapping(mappings: dict[tuple[str, str], Mapping], kind: str, category: str | None) -> Mapping | None:
    return mappings.get((kind, category or ANY)) or mappings.get((kind, ANY))


def check_mapped(municipality: str, bases: list[Basis], mappings: dict[tuple[str, str], Mapping]) -> None:
    """Every line of every basis must have accounts before a byte is written."""
    missing = sorted({charge_of(line) for basis in bases for line in basis.lines
                      if find_mapping(mappings, *charge_of(line)) is None}, key=lambda m: (m[0], m[1] or ""))
    if missing:
        raise UnmappedCharge(municipality, missing)


def quote(value: str) -> str:
    """A SIE string field: in quotes, quotes and backslashes escaped, no control characters."""
    clean = "".join(c if c >= " " else " " for c in value.translate(ASCII_FOR))
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sie_amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def voucher_rows(lines: list[Line], unit_id: str,
                 mappings: dict[tuple[str, str], Mapping]) -> list[tuple[str, str, Decimal]]:
    """(account, cost centre, amount) rows: debits per cost account on the unit, credits per income
    account on IT's cost centre, summed per account; the rows sum to zero exactly (every amount is öre)."""
    debit: dict[str, Decimal] = defaultdict(Decimal)
    credit: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in lines:
        mapping = find_mapping(mappings, *charge_of(line))
        assert mapping is not None  # check_mapped ran first
        debit[mapping.cost_account] += line.amount
        credit[(mapping.income_account, mapping.income_cost_centre)] += line.amount
    rows = [(account, unit_id, amount) for account, amount in sorted(debit.items()) if amount]
    rows += [(account, centre, -amount) for (account, centre), amount in sorted(credit.items()) if amount]
    return rows


def render_sie(municipality: str, municipality_name: str, period: str, generated: date, bases: list[Basis],
               mappings: dict[tuple[str, str], Mapping], names: dict[str, str] | None = None,
               series: str = "I") -> bytes:
    """The run's SIE 4I file (CP437). Vouchers are dated the period's last day; characters CP437 lacks
    become their nearest ASCII ('–' → '-') or '?'. Raises UnmappedCharge before writing anything."""
    check_mapped(municipality, bases, mappings)
    voucher_day = parse_period(period).end.toordinal() - 1
    day = date.fromordinal(voucher_day).strftime("%Y%m%d")
    centres = {**(names or {}), **{b.unit_id: b.unit_name for b in bases}}
    out = [
        "#FLAGGA 0",
        f"#PROGRAM {quote(PROGRAM)} {quote(PROGRAM_VERSION)}",
        "#FORMAT PC8",
        f"#GEN {generated.strftime('%Y%m%d')} {quote('ramflow')}",
        "#SIETYP 4",
        f"#FNAMN {quote(municipality_name)}",
        f"#KPTYP {CHART}",
        f"#DIM {COST_CENTRE_DIM} {quote('Kostnadsställe')}",
    ]
    used = sorted({b.unit_id for b in bases} | {m.income_cost_centre for m in mappings.values()})
    out += [f"#OBJEKT {COST_CENTRE_DIM} {quote(c)} {quote(centres.get(c, c))}" for c in used]
    for basis in bases:
        regular = [line for line in basis.lines if line.kind != "adjustment"]
        corrections: dict[str, list[Line]] = defaultdict(list)
        for line in basis.lines:
            if line.kind == "adjustment":
                corrections[line.adjusts_period or ""].append(line)
        groups = [(f"Internfakturering IT {period} {basis.unit_id}", regular)]
        groups += [(f"Rättelse av {adjusted} IT {period} {basis.unit_id}", lines)
                   for adjusted, lines in sorted(corrections.items())]
        for text, lines in groups:
            rows = voucher_rows(lines, basis.unit_id, mappings)
            if not rows:
                continue
            out.append(f"#VER {quote(series)} \"\" {day} {quote(text)}")
            out.append("{")
            out += [f"   #TRANS {account} {{{COST_CENTRE_DIM} {quote(centre)}}} {sie_amount(amount)}"
                    for account, centre, amount in rows]
            out.append("}")
    return ("\r\n".join(out) + "\r\n").encode("cp437", errors="replace")

