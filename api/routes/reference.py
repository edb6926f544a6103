"""Reference data: municipalities, units (cost bearers) and certified erasure vendors."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from api.deps import Limit, Offset, SessionDep
from db.models import ErasureVendor, Municipality, Unit

router = APIRouter(tags=["reference data"])


class MunicipalityView(BaseModel):
    code: str
    name: str
    model_config = {"from_attributes": True}


class UnitView(BaseModel):
    id: str
    municipality: str
    name: str
    model_config = {"from_attributes": True}


class VendorView(BaseModel):
    name: str
    certification: str | None
    certified: bool
    model_config = {"from_attributes": True}


@router.get("/municipalities", response_model=list[MunicipalityView])
def municipalities(session: SessionDep, limit: Limit = 200, offset: Offset = 0):
    return list(session.scalars(select(Municipality).order_by(Municipality.code).limit(limit).offset(offset)))


@router.get("/units", response_model=list[UnitView])
def units(session: SessionDep, municipality: str | None = None, limit: Limit = 200, offset: Offset = 0):
    query = select(Unit).order_by(Unit.id).limit(limit).offset(offset)
    if municipality:
        query = query.where(Unit.municipality == municipality)
    return list(session.scalars(query))


@router.get("/erasure-vendors", response_model=list[VendorView])
def erasure_vendors(session: SessionDep, limit: Limit = 200, offset: Offset = 0):
    """Rule EQ-12: only certified vendors' certificates are accepted."""
    return list(session.scalars(select(ErasureVendor).order_by(ErasureVendor.name).limit(limit).offset(offset)))
