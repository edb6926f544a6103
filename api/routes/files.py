"""Files for the economy, payroll and ordering systems and their delivery receipts (issue 25): who made each
file, when, its name and SHA-256, where and when it was delivered; the file itself downloadable. Economy sees
the economy and ordering files, payroll the payroll files, IT admin and auditors all of them.

`hand_over` is how an export (SIE, PAXml, Peppol Order) stores its file and starts its durable delivery."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import Limit, Offset, PrincipalDep, ProcessDep
from api.policy import AUDITOR, ECONOMY, IT_ADMIN, PAYROLL
from api.processes import ProcessPath
from db.file_models import FileDelivery
from files.delivery import SYSTEMS, FileConflict, record_file
from workflows.file_delivery import start_file_delivery

router = APIRouter(prefix="/files", tags=["files"])
System = Literal["economy", "payroll", "ordering"]
# which receiving systems' files each role sees (IT admin and auditors: all)
VISIBLE: dict[str, frozenset[str]] = {ECONOMY: frozenset({"economy", "ordering"}), PAYROLL: frozenset({"payroll"}),
                                      IT_ADMIN: frozenset(SYSTEMS), AUDITOR: frozenset(SYSTEMS)}
DeliveryId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def file_body(what: str, media_type: str) -> dict:
    """The OpenAPI request body of an uploaded file: the body as it is, or a multipart form's `file`."""
    return {"requestBody": {"required": True, "description": f"{what}: the file as the body, or the `file` field "
                            "of a multipart form", "content": {
        media_type: {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": {"type": "string", "format": "binary"}}}}}}}


class DeliveryView(BaseModel):
    """A file and its receipt."""

    id: int
    system: str
    kind: str
    file_name: str
    sha256: str
    size: int
    media_type: str
    municipality: str | None
    period: str | None
    created_by: str
    created_at: datetime
    state: str
    destination: str | None
    delivered_at: datetime | None
    attempts: int
    last_error: str | None
    download: str


def delivery_view(row: FileDelivery) -> DeliveryView:
    return DeliveryView(id=row.id, system=row.system, kind=row.kind, file_name=row.file_name, sha256=row.sha256,
                        size=row.size, media_type=row.media_type, municipality=row.municipality, period=row.period,
                        created_by=row.created_by, created_at=row.created_at, state=row.state,
                        destination=row.destination, delivered_at=row.delivered_at, attempts=row.attempts,
                        last_error=row.last_error, download=f"/api/v1/files/deliveries/{row.id}/content")


def visible_systems(principal) -> frozenset[str]:  # noqa: ANN001
    return frozenset().union(*(VISIBLE.get(role, frozenset()) for role in principal.roles))


async def hand_over(path: ProcessPath, *, system: str, kind: str, name: str, content: bytes, media_type: str,
                    actor: str, municipality: str | None = None, period: str | None = None) -> DeliveryView:
    """Store the file (the same bytes again: the stored one; other bytes under its name: 409) and start its
    delivery `file-delivery-<id>`; a delivered file is not sent again."""
    def store(session: Session) -> DeliveryView:
        try:
            row = record_file(session, system=system, kind=kind, name=name, content=content, media_type=media_type,
                              actor=actor, at=datetime.now(timezone.utc), municipality=municipality, period=period)
        except FileConflict as error:
            raise HTTPException(409, str(error)) from None
        session.commit()
        return delivery_view(row)

    view = await path.db(store)
    if view.state != "delivered":
        await start_file_delivery(path.client, path.settings.temporal_task_queue, view.id,
                                  path.settings.file_delivery_max_attempts)
    return view


def _visible_row(session: Session, principal, delivery_id: int) -> FileDelivery:  # noqa: ANN001
    row = session.get(FileDelivery, delivery_id)
    if row is None or row.system not in visible_systems(principal):
        raise HTTPException(404, f"delivery_id: no file {delivery_id}")
    return row


@router.get("/deliveries", response_model=list[DeliveryView])
async def list_deliveries(path: ProcessDep, principal: PrincipalDep, limit: Limit = 100, offset: Offset = 0,
                          system: System | None = None, municipality: str | None = Query(None, max_length=20),
                          state: Literal["pending", "delivered", "failed"] | None = None) -> list[DeliveryView]:
    """The files and their receipts, newest first (only the systems the caller's role sees)."""
    systems = visible_systems(principal) & ({system} if system else set(SYSTEMS))

    def rows(session: Session) -> list[DeliveryView]:
        query = select(FileDelivery).where(FileDelivery.system.in_(sorted(systems)))
        if municipality:
            query = query.where(FileDelivery.municipality == municipality)
        if state:
            query = query.where(FileDelivery.state == state)
        query = query.order_by(FileDelivery.id.desc()).limit(limit).offset(offset)
        return [delivery_view(row) for row in session.scalars(query)]

    return await path.db(rows)


@router.get("/deliveries/{delivery_id}", response_model=DeliveryView)
async def get_delivery(delivery_id: DeliveryId, path: ProcessDep, principal: PrincipalDep) -> DeliveryView:
    return await path.db(lambda s: delivery_view(_visible_row(s, principal, delivery_id)))


@router.get("/deliveries/{delivery_id}/content", response_class=Response,
            responses={200: {"description": "the file as delivered", "content": {"application/octet-stream": {}}}})
async def download(delivery_id: DeliveryId, path: ProcessDep, principal: PrincipalDep) -> Response:
    """The file's bytes; `Digest`-style header `X-Checksum-SHA256` as on the receipt."""
    row = await path.db(lambda s: _visible_row(s, principal, delivery_id))
    return Response(row.content, media_type=row.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{row.file_name}"',
                             "X-Checksum-SHA256": row.sha256})


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryView, status_code=202)
async def retry(delivery_id: DeliveryId, path: ProcessDep, principal: PrincipalDep) -> DeliveryView:
    """A failed delivery again (after the destination was fixed); a delivered file is not sent twice (409)."""
    def reset(session: Session) -> DeliveryView:
        row = _visible_row(session, principal, delivery_id)
        if row.state == "delivered":
            raise HTTPException(409, f"delivery_id: {delivery_id} was delivered at {row.delivered_at.isoformat()}")
        row.state = "pending"
        session.commit()
        return delivery_view(row)

    view = await path.db(reset)
    await start_file_delivery(path.client, path.settings.temporal_task_queue, view.id,
                              path.settings.file_delivery_max_attempts)
    return view
