"""Call-offs as Peppol BIS Ordering 3 orders (rules EQ-1, EQ-2; issue 25): the call-off's Order is handed to
the municipality's e-commerce system through its drop directory (the access point is theirs), and the
supplier's Order Response, uploaded or read from the inbound directory, moves the device: accepted → it stays
called off, awaiting delivery; rejected or changed → back to IT with the reason (recorded on the call-off and a
notice to IT's asset management; the device's workflow is not changed, IT decides: re-order or cancel)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import ActorDep, ProcessDep
from api.routes.files import DeliveryView, file_body, hand_over
from api.routes.imports import _file as uploaded_file
from db.models import CallOff, CatalogueModelRow, Device, Municipality, PriceRow
from domain.common import LOCAL_TZ
from domain.equipment import device_workflow_id
from files.notices import notify_it
from files.peppol import (
    OrderFacts,
    OrderResponse,
    PeppolError,
    order_document,
    order_file_name,
    read_order_response,
)

router = APIRouter(tags=["orders"])
OrderNumber = Annotated[str, Path(min_length=1, max_length=40)]


class ResponseResult(BaseModel):
    """What an Order Response did to its call-off."""

    order_number: str
    outcome: str  # accepted / rejected / changed
    note: str | None
    device_state: str
    back_to_it: bool
    source: str | None = None


class PollResult(BaseModel):
    processed: list[ResponseResult]
    refused: dict[str, str]  # file name → why it was not read (moved to `rejected/`)


def _facts(session: Session, order_number: str, settings) -> OrderFacts:  # noqa: ANN001
    call_off = session.get(CallOff, order_number)
    device = session.get(Device, order_number)
    if call_off is None or device is None:
        raise HTTPException(404, f"order_number: no call-off {order_number!r}")
    model = session.get(CatalogueModelRow, call_off.model_code)
    town = session.get(Municipality, device.municipality)
    ordered = call_off.at.astimezone(LOCAL_TZ)
    price = session.get(PriceRow, (ordered.year, call_off.model_code))
    return OrderFacts(order_number=order_number, agreement_ref=call_off.agreement_ref,
                      call_off_reference=call_off.reference, model_code=call_off.model_code,
                      model_name=model.name if model else call_off.model_code, unit_id=device.unit_id,
                      municipality=device.municipality, municipality_name=town.name if town else device.municipality,
                      ordered_at=ordered, buyer_id=settings.peppol_buyer_ids.get(device.municipality, ""),
                      supplier_id=settings.peppol_supplier_ids.get(call_off.agreement_ref, ""),
                      unit_price=price.purchase_price if price else None, delivery_place=device.location)


@router.post("/call-offs/{order_number}/order", response_model=DeliveryView, status_code=201)
async def send_order(order_number: OrderNumber, path: ProcessDep, actor: ActorDep) -> DeliveryView:
    """Rule EQ-2: the call-off's Peppol Order to the e-commerce system's drop directory. Again: the same file
    (it is not delivered twice). A missing participant id is 422 naming the setting; nothing is delivered."""
    def build(session: Session) -> bytes:
        try:
            return order_document(_facts(session, order_number, path.settings))
        except PeppolError as error:
            raise HTTPException(422, str(error)) from None

    content = await path.db(build)
    municipality = await path.db(lambda s: s.get(Device, order_number).municipality)
    view = await hand_over(path, system="ordering", kind="order", name=order_file_name(order_number), content=content,
                           media_type="application/xml", actor=actor, municipality=municipality)

    def link(session: Session) -> None:
        session.get(CallOff, order_number).order_file_id = view.id
        session.commit()

    await path.db(link)
    return view


def apply_response(session: Session, response: OrderResponse, actor: str, source: str | None) -> ResponseResult:
    """Record the response on its call-off; rejected or changed: a notice to IT (once per response)."""
    call_off = session.get(CallOff, response.order_number)
    device = session.get(Device, response.order_number)
    if call_off is None or device is None:
        raise PeppolError(f"OrderReference/ID: no call-off {response.order_number!r}")
    now = datetime.now(timezone.utc)
    call_off.response_code, call_off.response_note, call_off.response_at = response.code, response.note, now
    back_to_it = response.outcome != "accepted"
    if back_to_it:
        verb = "avvisat" if response.outcome == "rejected" else "ändrat"
        notify_it(session, f"order-response:{response.order_number}:{response.response_id}:{response.code}",
                  "order_response", f"Leverantören har {verb} beställningen {response.order_number}",
                  f"Leverantören har {verb} beställningen {response.order_number} (avrop {call_off.reference}, "
                  f"avtal {call_off.agreement_ref}).\nSkäl: {response.note or 'inget angivet'}\n"
                  "Beställningen går tillbaka till IT: beställ på nytt eller avbryt (regel EQ-2).", now,
                  data={"order_number": response.order_number, "outcome": response.outcome,
                        "reason": response.note or "", "recorded_by": actor},
                  workflow_id=device_workflow_id(response.order_number))
    session.commit()
    return ResponseResult(order_number=response.order_number, outcome=response.outcome, note=response.note,
                          device_state=device.state, back_to_it=back_to_it, source=source)


@router.post("/orders/responses", response_model=ResponseResult,
             openapi_extra=file_body("the supplier's UBL OrderResponse (BIS Ordering 3)", "application/xml"))
async def upload_response(request: Request, path: ProcessDep, actor: ActorDep) -> ResponseResult:
    """The supplier's Order Response (UBL, BIS Ordering 3) as the request body or a form's `file`."""
    content, name = await uploaded_file(request)

    def handle(session: Session) -> ResponseResult:
        try:
            return apply_response(session, read_order_response(content), actor, name)
        except PeppolError as error:
            raise HTTPException(422, str(error)) from None

    return await path.db(handle)


@router.post("/orders/responses/poll", response_model=PollResult)
async def poll_responses(path: ProcessDep, actor: ActorDep) -> PollResult:
    """Read every `*.xml` in ORDER_RESPONSE_INBOX: each read file moves to `processed/`, an unreadable one to
    `rejected/` with the reason answered, so no response is read twice."""
    inbox = FsPath(path.settings.order_response_inbox)

    def run(session: Session) -> PollResult:
        processed, refused = [], {}
        for file in sorted(inbox.glob("*.xml")) if inbox.is_dir() else []:
            try:
                processed.append(apply_response(session, read_order_response(file.read_bytes()), actor, file.name))
                folder = "processed"
            except PeppolError as error:
                session.rollback()
                refused[file.name], folder = str(error), "rejected"
            (inbox / folder).mkdir(exist_ok=True)
            file.replace(inbox / folder / file.name)
        return PollResult(processed=processed, refused=refused)

    return await path.db(run)
