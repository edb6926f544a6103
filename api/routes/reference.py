"""Reference data: municipalities, units (cost bearers) and certified erasure vendors."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from api.deps import SessionDep
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
def municipalities(session: SessionDep):
    return list(session.scalars(select(Municipality).order_by(Municipality.code)))


@router.get("/units", response_model=list[UnitView])
def units(session: SessionDep, municipality: str | None = None):
    query = select(Unit).order_by(Unit.id)
    if municipality:
        query = query.where(Unit.municipality == municipality)
    return list(session.scalars(query))


@router.get("/erasure-vendors", response_model=list[VendorView])
def erasure_vendors(session: SessionDep):
    """Rule EQ-12: only certified vendors' certificates are accepted."""
    return list(session.scalars(select(ErasureVendor).order_by(ErasureVendor.name)))
