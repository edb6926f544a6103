"""A reader for SIE type 4I (SIE filformat utgåva 4C), independent of the writer in domain/sie.py:
it parses a file back and checks what a feeder file must hold (encoding, labels, declared objects,
every voucher balanced to the öre)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\{)|(\})|([^\s{}"]+)')


@dataclass
class Trans:
    account: str
    objects: dict[int, str]
    amount: Decimal


@dataclass
class Voucher:
    series: str
    number: str
    day: date
    text: str
    trans: list[Trans] = field(default_factory=list)


@dataclass
class SieFile:
    labels: dict[str, list]
    dims: dict[int, str]
    objects: dict[tuple[int, str], str]
    vouchers: list[Voucher]

    def total_debit(self) -> Decimal:
        return sum((t.amount for v in self.vouchers for t in v.trans if t.amount > 0), Decimal("0.00"))


def tokens(line: str) -> list:
    out: list = []
    for quoted, open_, close, bare in TOKEN.findall(line):
        if open_:
            out.append("{")
        elif close:
            out.append("}")
        elif bare:
            out.append(bare)
        else:
            out.append(re.sub(r"\\(.)", r"\1", quoted))
    return out


def object_list(parts: list) -> tuple[dict[int, str], list]:
    assert parts[0] == "{", parts
    end = parts.index("}")
    inner = parts[1:end]
    return {int(inner[i]): inner[i + 1] for i in range(0, len(inner), 2)}, parts[end + 1:]


def read_sie(data: bytes) -> SieFile:
    """Parse and check; an AssertionError says what is wrong."""
    text = data.decode("cp437")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", ""), "lines end with CR LF"
    lines = [line for line in text.split("\r\n") if line.strip()]
    assert lines[0] == "#FLAGGA 0", "#FLAGGA 0 first"
    labels: dict[str, list] = {}
    dims: dict[int, str] = {}
    objects: dict[tuple[int, str], str] = {}
    vouchers: list[Voucher] = []
    current: Voucher | None = None
    inside = False
    for line in lines:
        parts = tokens(line.strip())
        head = parts[0]
        if head == "{":
            assert current is not None and not inside
            inside = True
        elif head == "}":
            assert inside
            inside, current = False, None
        elif head == "#TRANS":
            assert inside and current is not None, "#TRANS inside a voucher"
            objs, rest = object_list(parts[2:])
            current.trans.append(Trans(parts[1], objs, Decimal(rest[0])))
        elif head == "#VER":
            current = Voucher(parts[1], parts[2], datetime.strptime(parts[3], "%Y%m%d").date(), parts[4])
            vouchers.append(current)
        elif head == "#DIM":
            dims[int(parts[1])] = parts[2]
        elif head == "#OBJEKT":
            objects[(int(parts[1]), parts[2])] = parts[3]
        else:
            labels[head] = parts[1:]
    assert labels["#FORMAT"] == ["PC8"] and labels["#SIETYP"] == ["4"], labels
    assert {"#PROGRAM", "#GEN", "#KPTYP"} <= labels.keys(), labels.keys()
    for voucher in vouchers:
        assert voucher.trans, f"voucher {voucher.text} has rows"
        assert sum(t.amount for t in voucher.trans) == 0, f"voucher {voucher.text} balances"
        for t in voucher.trans:
            assert t.amount == t.amount.quantize(Decimal("0.01")), "amounts in öre"
            for dim, obj in t.objects.items():
                assert dim in dims and (dim, obj) in objects, f"object {dim} {obj} declared"
    return SieFile(labels, dims, objects, vouchers)
