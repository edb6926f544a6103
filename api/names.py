"""People shown by name, with their employee number (issue 22): the views that name a person by number get a
`*_name` field next to it, filled from the people register (db.people.names_of: one query per list)."""
from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.people import names_of
from db.people_models import DeviceReturnFlag

V = TypeVar("V", bound=BaseModel)


def named(session: Session, rows: list[Any], view: type[V], ref: str, name: str) -> list[V]:
    """`rows` (ORM rows or views) as `view`, each with `name` filled for the person in `ref`."""
    names = names_of(session, {getattr(row, ref) for row in rows if getattr(row, ref, None)})
    answer = []
    for row in rows:
        data = row.model_dump() if isinstance(row, BaseModel) else {k: getattr(row, k, None) for k in view.model_fields}
        data[name] = names.get(data.get(ref) or "")
        answer.append(view.model_validate(data))
    return answer


def return_flags(session: Session, order_numbers: set[str]) -> dict[str, Any]:
    """Rule EQ-7: the devices flagged for return to their unit because their user left, and since when."""
    if not order_numbers:
        return {}
    rows = session.execute(select(DeviceReturnFlag.order_number, DeviceReturnFlag.flagged_at)
                           .where(DeviceReturnFlag.order_number.in_(order_numbers)))
    return {number: at for number, at in rows}


def devices_named(session: Session, rows: list[Any], view: type[V]) -> list[V]:
    """Devices with their user's name and, for a leaver's device, when it was flagged for return (EQ-7)."""
    answer = named(session, rows, view, "user_ref", "user_name")
    flags = return_flags(session, {row.order_number for row in answer})
    return [row.model_copy(update={"return_flagged_at": flags.get(row.order_number)}) for row in answer]
