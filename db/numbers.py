"""Numbers the server allocates for tickets and service requests (T2026-00001, SR2026-00001): one counter
row per prefix and year, incremented in the database in a short transaction of its own, never inside the
session of the request that asks for a number."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from db.ticket_models import NumberCounter


def next_number(sessions: sessionmaker[Session], prefix: str, year: int) -> str:
    """The next number of the series `prefix` `year`, committed before it is answered."""
    with sessions() as session:
        if session.get(NumberCounter, (prefix, year)) is None:
            try:
                session.add(NumberCounter(prefix=prefix, year=year, last=0))
                session.commit()
            except IntegrityError:  # another request created it first
                session.rollback()
        counter = (NumberCounter.prefix == prefix, NumberCounter.year == year)
        session.execute(update(NumberCounter).where(*counter).values(last=NumberCounter.last + 1))
        last = session.scalar(select(NumberCounter.last).where(*counter))
        session.commit()
    return f"{prefix}{year}-{last:05d}"
