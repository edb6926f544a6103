"""Search over the whole fleet (issue 23): the register lists filter in SQL, on indexed expressions, and page.

PostgreSQL matches free text with its full-text search (`tsvector`, the 'swedish' configuration, an expression
GIN index made by migration 0021); SQLite (development, tests) with a case-insensitive LIKE. A list refuses a
query parameter it does not know (422 naming it) instead of ignoring it and answering the whole list."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from collections.abc import Callable
from typing import TypeVar

from anyio import to_thread
from fastapi import HTTPException, Request
from sqlalchemy import ColumnElement, String, and_, false, func, literal, literal_column, or_, select, union
from sqlalchemy.orm import Session

from db.people_models import Person

T = TypeVar("T")
# The indexed expressions, written once: the index of migration 0021 and the query must be the same text,
# or PostgreSQL's planner does not use the index.
TICKET_TEXT_SQL = "to_tsvector('swedish', coalesce(title, '') || ' ' || coalesce(description, ''))"
WORD = re.compile(r"[^\W_]+")  # letters and digits only: safe inside a tsquery
MAX_WORDS = 8  # a search box, not a query language
MAX_ECHO = 100  # an unknown parameter's name and value are echoed this far, never whole
TZ = ZoneInfo("Europe/Stockholm")


async def in_session(request: Request, work: Callable[[Session], T]) -> T:
    """`work(session)` in one worker thread with its own session: a list answers with one hop off the event
    loop (a sync route with a sync session dependency makes four, each waiting for the loop; issue 23's
    benchmark: bench/search.py)."""
    maker = request.app.state.sessions

    def run() -> T:
        with maker() as session:
            return work(session)
    return await to_thread.run_sync(run)


async def known_parameters_only(request: Request) -> None:
    """A dependency of the list routes: an unknown query parameter is a 422 naming it (issue 23) — a typo
    (`serial=` for `serial_number=`) would otherwise answer the whole register as if it were the hit."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    declared = query_names(dependant)
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise HTTPException(422, [{"type": "extra_forbidden", "loc": ["query", name[:MAX_ECHO]],
                                   "msg": f"unknown query parameter {name[:MAX_ECHO]!r}; known: "
                                          f"{', '.join(sorted(declared))}",
                                   "input": (request.query_params.get(name) or "")[:MAX_ECHO]}
                                  for name in unknown[:20]])


def query_names(dependant) -> set[str]:
    """The query parameters a route declares, its dependencies' included."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= query_names(sub)
    return names


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def words_of(text: str) -> list[str]:
    return WORD.findall(text)[:MAX_WORDS]


def ticket_text(session: Session, title_column, description_column, text: str) -> ColumnElement[bool]:
    """Tickets whose title or description hold every word of `text` (each a word's beginning on PostgreSQL:
    `skrivar` finds `skrivaren`, Swedish stemming finds inflections)."""
    words = words_of(text)
    if not words:
        return false()
    if _dialect(session) == "postgresql":
        query = " & ".join(f"{word}:*" for word in words)  # only \w characters: nothing to escape
        return literal_column(TICKET_TEXT_SQL).op("@@")(func.to_tsquery(literal_column("'swedish'"), query))
    return _all_words_like((title_column, description_column), words)


def _all_words_like(columns, words: list[str]) -> ColumnElement[bool]:
    return and_(*(or_(*(func.lower(func.coalesce(c, "")).like(_like_pattern(w.lower()), escape="\\")
                        for c in columns)) for w in words))


def people_named(session: Session, text: str):
    """The employee numbers of the people whose name holds every word of `text` (a subquery)."""
    words = words_of(text)
    if not words:
        return select(Person.employee_ref).where(false())
    return select(Person.employee_ref).where(_all_words_like((Person.name,), words))


def person_filter(session: Session, column, text: str) -> ColumnElement[bool]:
    """A person by employee number (exact) or by name (words of it), from the people register (issue 22)."""
    text = text.strip()  # one IN over a union: an index lookup per number (an OR with a subquery reads it all)
    return column.in_(union(select(literal(text, String)), people_named(session, text)))


def upper_exact(column, text: str) -> ColumnElement[bool]:
    """Case-insensitive equality on the indexed `upper(column)` (serial numbers are typed as printed)."""
    return func.upper(column) == text.strip().upper()


def upper_prefix(column, text: str) -> ColumnElement[bool]:
    """`upper(column) LIKE 'TEXT%'`: on PostgreSQL the text_pattern_ops index of migration 0021 answers it."""
    escaped = text.strip().upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.upper(column).like(f"{escaped}%", escape="\\")


def device_text(session: Session, serial_column, order_column, user_column, text: str) -> ColumnElement[bool]:
    """The console's one search box over devices: the beginning of a serial or order number, an employee
    number or words of the user's name. A union of three indexed lookups, not one OR: PostgreSQL answers an
    OR over different columns (one of them a subquery) by reading the whole register."""
    return order_column.in_(union(select(order_column).where(upper_prefix(serial_column, text)),
                                  select(order_column).where(upper_prefix(order_column, text)),
                                  select(order_column).where(person_filter(session, user_column, text))))


def local_day_start(day: date) -> datetime:
    """Midnight of `day` in Swedish time: a period typed as dates means the municipalities' days."""
    return datetime.combine(day, time(), TZ)


def local_day_end(day: date) -> datetime:
    return local_day_start(day + timedelta(days=1))
