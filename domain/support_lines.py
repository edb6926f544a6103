"""The support lines (rule TK-2): who works a ticket, where each line may send it, and its lead."""
from __future__ import annotations

from enum import Enum


class Line(str, Enum):
    """Rule TK-2: the support lines; the first two are användarstöd."""

    FIRST = "first_line"
    SECOND = "second_line"
    VERKSAMHETSSTOD = "verksamhetsstod"
    INFRASTRUKTUR = "infrastruktur"


ANVANDARSTOD = (Line.FIRST, Line.SECOND)  # rule TK-3: solved within användarstöd
LINE_TITLES = {
    Line.FIRST: "1st line (användarstöd)",
    Line.SECOND: "2nd line (användarstöd, technicians)",
    Line.VERKSAMHETSSTOD: "3rd line verksamhetsstöd",
    Line.INFRASTRUKTUR: "3rd line infrastruktur",
}
# Rule TK-2: where each line may send a ticket it cannot solve.
ESCALATION: dict[Line, tuple[Line, ...]] = {
    Line.FIRST: (Line.SECOND,),
    Line.SECOND: (Line.VERKSAMHETSSTOD, Line.INFRASTRUKTUR),
}
THIRD_LINE = (Line.VERKSAMHETSSTOD, Line.INFRASTRUKTUR)


def line_lead(line: Line | str) -> str:
    """Outbox recipient of a line's lead."""
    return f"lead:{Line(line).value}"
