"""Salary deductions to payroll (rule EQ-11; issue 25): the accepted buyouts' net salary deductions as a PAXml
file per municipality and payroll period (month), delivered to the payroll system with a receipt
(api/routes/files.py), and payroll's refusal of a deduction, which returns the buyout to IT with the reason."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import ActorDep, Limit, Offset, ProcessDep
from api.routes.files import DeliveryView, delivery_view, hand_over
from db.file_models import FileDelivery
from db.models import Device, SalaryDeduction
from db.people_models import Person
from domain.common import LOCAL_TZ
from domain.equipment import device_workflow_id
from files.notices import notify_it
from files.paxml import DeductionLine, PaxmlConfigError, pay_type_for, paxml_document, paxml_file_name

router = APIRouter(prefix="/salary-deductions", tags=["payroll"])
Municipality = Annotated[str, Field(pattern="^(tranemo|ulricehamn)$", description="tranemo or ulricehamn")]
Period = Annotated[str, Field(pattern=r"^20\d\d-(0[1-9]|1[0-2])$", description="payroll period YYYY-MM (2000-2099)")]
OrderNumber = Annotated[str, Path(min_length=1, max_length=40)]


class DeductionView(BaseModel):
    order_number: str
    employee_ref: str
    municipality: str
    amount: Decimal
    at: datetime
    period: str
    paxml_file_id: int | None
    refused_at: datetime | None
    refused_by: str | None
    refusal_reason: str | None


class PaxmlRequest(BaseModel):
    municipality: Municipality
    period: Period


class Refusal(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why payroll could not make the deduction")


def _period_of(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m")


def _bounds(period: str) -> tuple[datetime, datetime]:
    start = date.fromisoformat(f"{period}-01")
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (datetime.combine(start, time(), LOCAL_TZ).astimezone(timezone.utc),
            datetime.combine(end, time(), LOCAL_TZ).astimezone(timezone.utc))


def _view(row: SalaryDeduction, municipality: str) -> DeductionView:
    return DeductionView(order_number=row.order_number, employee_ref=row.employee_ref, municipality=municipality,
                         amount=row.amount, at=row.at, period=_period_of(row.at), paxml_file_id=row.paxml_file_id,
                         refused_at=row.refused_at, refused_by=row.refused_by, refusal_reason=row.refusal_reason)


@router.get("", response_model=list[DeductionView])
async def list_deductions(path: ProcessDep, limit: Limit = 100, offset: Offset = 0,
                          municipality: str | None = Query(None, pattern="^(tranemo|ulricehamn)$"),
                          period: str | None = Query(None, pattern=r"^20\d\d-(0[1-9]|1[0-2])$")) -> list[DeductionView]:
    def rows(session: Session) -> list[DeductionView]:
        query = select(SalaryDeduction, Device.municipality).join(Device, Device.order_number == SalaryDeduction.order_number)
        if municipality:
            query = query.where(Device.municipality == municipality)
        if period:
            start, end = _bounds(period)
            query = query.where(SalaryDeduction.at >= start, SalaryDeduction.at < end)
        query = query.order_by(SalaryDeduction.at, SalaryDeduction.order_number).limit(limit).offset(offset)
        return [_view(row, town) for row, town in session.execute(query)]

    return await path.db(rows)


@router.post("/paxml", response_model=DeliveryView, status_code=201)
async def export_paxml(request: PaxmlRequest, path: ProcessDep, actor: ActorDep, response: Response) -> DeliveryView:
    """The period's deductions not yet in a file become one PAXml file, delivered to payroll; when every
    deduction is in a file already, the period's last file is answered (200) and nothing new is made."""
    start, end = _bounds(request.period)

    def prepare(session: Session) -> tuple[bytes, str, list[str]] | DeliveryView:
        query = (select(SalaryDeduction, Person.employment_number)
                 .join(Device, Device.order_number == SalaryDeduction.order_number)
                 .outerjoin(Person, Person.employee_ref == SalaryDeduction.employee_ref)
                 .where(Device.municipality == request.municipality, SalaryDeduction.at >= start,
                        SalaryDeduction.at < end))
        found = session.execute(query).all()
        pending = [(row, number) for row, number in found if row.paxml_file_id is None]
        made = session.scalars(select(FileDelivery).where(
            FileDelivery.system == "payroll", FileDelivery.kind == "paxml",
            FileDelivery.municipality == request.municipality, FileDelivery.period == request.period)
            .order_by(FileDelivery.id)).all()
        if not pending:
            if made:
                return delivery_view(made[-1])
            raise HTTPException(422, f"period: no salary deductions for {request.municipality} {request.period}")
        try:
            pay_type = pay_type_for(request.municipality, path.settings.paxml_pay_types)
            lines = [DeductionLine(row.order_number, number, row.employee_ref, row.amount,
                                   row.at.astimezone(LOCAL_TZ).date()) for row, number in pending]
            content = paxml_document(lines, pay_type, max(row.at for row, _ in pending).astimezone(LOCAL_TZ))
        except PaxmlConfigError as error:
            raise HTTPException(422, str(error)) from None
        name = paxml_file_name(request.municipality, request.period, len(made) + 1)
        return content, name, [row.order_number for row, _ in pending]

    prepared = await path.db(prepare)
    if isinstance(prepared, DeliveryView):
        response.status_code = 200
        return prepared
    content, name, orders = prepared
    view = await hand_over(path, system="payroll", kind="paxml", name=name, content=content,
                           media_type="application/xml", actor=actor, municipality=request.municipality,
                           period=request.period)

    def link(session: Session) -> None:  # each deduction goes out in exactly one file
        for row in session.scalars(select(SalaryDeduction).where(SalaryDeduction.order_number.in_(orders))):
            row.paxml_file_id = row.paxml_file_id or view.id
        session.commit()

    await path.db(link)
    return view


@router.post("/{order_number}/refused", response_model=DeductionView)
async def refused(order_number: OrderNumber, refusal: Refusal, path: ProcessDep, actor: ActorDep) -> DeductionView:
    """Rule EQ-11: payroll could not make the deduction: recorded (who, when, why) and the buyout goes back to
    IT with the reason (a notice to IT's asset management). A second refusal of the same deduction is 409."""
    def record(session: Session) -> DeductionView:
        found = session.execute(select(SalaryDeduction, Device.municipality)
                                .join(Device, Device.order_number == SalaryDeduction.order_number)
                                .where(SalaryDeduction.order_number == order_number)).first()
        if found is None:
            raise HTTPException(404, f"order_number: no salary deduction for {order_number}")
        row, municipality = found
        if row.refused_at is not None:
            raise HTTPException(409, f"order_number: the deduction of {order_number} was refused already "
                                     f"({row.refusal_reason})")
        now = datetime.now(timezone.utc)
        row.refused_at, row.refused_by, row.refusal_reason = now, actor, refusal.reason
        notify_it(session, f"salary-deduction-refused:{order_number}", "salary_deduction_refused",
                  f"Löneavdrag nekat: utköp {order_number}",
                  f"Lönekontoret har nekat nettolöneavdraget för utköpet av {order_number} "
                  f"({row.amount:.2f} kr, anställd {row.employee_ref}).\nSkäl: {refusal.reason}\n"
                  "Utköpet går tillbaka till IT för hantering (regel EQ-11).", now,
                  data={"order_number": order_number, "reason": refusal.reason, "amount": f"{row.amount:.2f}"},
                  workflow_id=device_workflow_id(order_number))
        session.commit()
        return _view(row, municipality)

    return await path.db(record)
