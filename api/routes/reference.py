"""Reference data: municipalities, units (cost bearers) and certified erasure vendors."""
from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from api import access
from api.deps import Limit, Offset, PrincipalDep, SessionDep
from db.models import ErasureVendor, Municipality, Unit
from db.reorganisation_queries import name_on
from db.ticket_models import DesignatedApplicant

router = APIRouter(tags=["reference data"])


class MunicipalityView(BaseModel):
    code: str
    name: str
    model_config = {"from_attributes": True}


class UnitView(BaseModel):
    id: str
    municipality: str
    name: str
    manager_ref: str | None = Field(None, description="rule TK-9: the unit's manager, who may apply")
    designated_applicants: list[str] | None = Field(
        None, description="rule TK-9: the persons the manager designated to apply (shown to IT, auditors and the "
                          "unit's manager only)")
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
def units(session: SessionDep, principal: PrincipalDep, municipality: str | None = None, limit: Limit = 200,
          offset: Offset = 0):
    query = select(Unit).order_by(Unit.id).limit(limit).offset(offset)
    if municipality:
        query = query.where(Unit.municipality == municipality)
    designated: dict[str, list[str]] = {}
    for row in session.scalars(select(DesignatedApplicant).order_by(DesignatedApplicant.person_ref)):
        designated.setdefault(row.unit_id, []).append(row.person_ref)
    # rule TK-9: who manages each unit is visible with the unit; who else may apply only to IT, auditors and
    # the unit's own manager (issue 20: personal data)
    today = datetime.now(timezone.utc).date()  # issue 22: a unit's name on the day (a rename from a later day)
    return [UnitView(id=u.id, municipality=u.municipality, name=name_on(session, u.id, today) or u.name,
                     manager_ref=u.manager_ref,
                     designated_applicants=designated.get(u.id, []) if access.sees_everything(principal)
                     or access.manages(principal, u.id) else None) for u in session.scalars(query)]


@router.get("/erasure-vendors", response_model=list[VendorView])
def erasure_vendors(session: SessionDep, limit: Limit = 200, offset: Offset = 0):
    """Rule EQ-12: only certified vendors' certificates are accepted."""
    return list(session.scalars(select(ErasureVendor).order_by(ErasureVendor.name).limit(limit).offset(offset)))
