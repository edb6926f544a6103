"""Helpers of the agreement tests: a full agreement's content, the price list, the turn of the year (the
act/view/until pattern and the clock are tests/helpers.py's)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from db.agreement_models import ApplicationPriceRow
from domain.agreements import AgreementContent
from domain.common import start_of_year
from tests.helpers import sleep_until

D = Decimal


def content(agreement_id: str = "APP-TEST", unit_id: str = "TR-SOC", owner: str = "E1003", **extra: Any) -> AgreementContent:
    """A full agreement (rule AG-2): server 1, database 1, storage 100 GB, support 10 h."""
    data: dict[str, Any] = dict(
        agreement_id=agreement_id, application=f"Application {agreement_id}", unit_id=unit_id,
        system_owner_ref=owner, description="Verksamhetssystem", it_responsibilities=["Drift och backup"],
        unit_responsibilities=["Behörigheter"],
        cost_lines=[dict(component="server", quantity="1"), dict(component="database", quantity="1"),
                    dict(component="storage", quantity="100"), dict(component="support", quantity="10")],
        sketch=dict(components=[dict(id="app", label="App"), dict(id="db", label="DB", kind="database")],
                    relations=[dict(source="app", target="db", label="SQL")]),
    )
    data.update(extra)
    return AgreementContent.model_validate(data)


def coming_year_with_room(now: datetime) -> int:
    """A revision year whose 1 January is at least two months away (room for reminders)."""
    return now.year + 1 if now.month <= 10 else now.year + 2


async def sleep_to_new_year(env, year: int) -> None:
    await sleep_until(env, start_of_year(year))


def set_prices(sessions: sessionmaker[Session], year: int, **unit_prices: str) -> None:
    """Rule AG-5: decide (part of) a year's application price list."""
    units = {"server": "virtual server", "database": "database instance", "integrations": "integration",
             "storage": "GB", "communication": "connection", "backup": "GB", "support": "hour",
             "support_tools": "licence"}
    with sessions.begin() as s:
        for item, price in unit_prices.items():
            s.merge(ApplicationPriceRow(year=year, item=item, component=item, unit=units[item],
                                        unit_price=D(price), set_by="test"))
