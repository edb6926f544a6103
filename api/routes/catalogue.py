"""The model catalogue, the yearly price list and renewal periods (rules EQ-1 … EQ-5)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import ActorDep, Limit, Offset, ProcessDep, SessionDep
from api.security import record_reference_change, row_dict
from api.policy import PREFIX
from db.equipment_queries import price_for, rearm_progress, renewal_months_now
from db.models import CatalogueModelRow, Municipality, PriceRow, RenewalPolicy
from domain.renewals import RearmRequest, RenewalPeriodUpdate, rearm_workflow_id
from workflows.renewals import RenewalPolicyRearmWorkflow
from domain.catalogue import CATEGORY_RULES, CatalogueModel, Category, Charging, Price, check_price

router = APIRouter(tags=["catalogue"])
YearPath = Annotated[int, Path(ge=2000, le=2100)]


class CategoryInfo(BaseModel):
    category: Category
    charging: Charging
    min_life_months: int | None
    buyout_allowed: bool
    mdm_enrolment: bool
    recyclable: bool
    installation_charged: bool


class RenewalPolicyView(BaseModel):
    category: Category
    municipality: str
    renewal_months: int | None


class RenewalPolicyRequest(BaseModel):
    renewal_months: int | None = Field(None, ge=1, le=120, description="null: no automatic renewal")
    apply_to_running: bool = Field(True, description="re-arm the renewal timers of devices already in use")
    reason: str | None = Field(None, max_length=500)


class RenewalRearm(BaseModel):
    """A re-arm of running devices that goes on after the answer (rule EQ-5; 202)."""

    workflow_id: str
    status: str = Field(description="the re-arm job's Temporal status: running, completed, failed, …")
    devices_running: int = Field(description="running devices of the category in the municipality")
    devices_on_policy: int = Field(description="of them, those whose register already shows the period in force")


class RenewalPolicyResult(RenewalPolicyView):
    devices_updated: list[str] = Field(description="the devices re-armed, once the re-arm is done")
    rearm: RenewalRearm | None = Field(None, description="set when the re-arm goes on after the answer (202): "
                                                         "follow it at GET …/rearm")


@router.get("/catalogue/categories", response_model=list[CategoryInfo])
def categories() -> list[CategoryInfo]:
    """Rule EQ-4: each category's charging model; EQ-3 minimum life; EQ-10/11/13 handling."""
    return [CategoryInfo(category=c, charging=r.charging, min_life_months=r.min_life_months, buyout_allowed=r.computer,
                         mdm_enrolment=r.mdm, recyclable=r.recyclable, installation_charged=r.installation_charged)
            for c, r in CATEGORY_RULES.items()]


@router.get("/catalogue/models", response_model=list[CatalogueModel])
def list_models(session: SessionDep, category: Category | None = None, include_inactive: bool = False,
                limit: Limit = 200, offset: Offset = 0):
    query = select(CatalogueModelRow).order_by(CatalogueModelRow.code).limit(limit).offset(offset)
    if category is not None:
        query = query.where(CatalogueModelRow.category == category.value)
    if not include_inactive:
        query = query.where(CatalogueModelRow.active.is_(True))
    return [CatalogueModel.model_validate(row, from_attributes=True) for row in session.scalars(query)]


@router.post("/catalogue/models", response_model=CatalogueModel, status_code=status.HTTP_201_CREATED)
def add_model(model: CatalogueModel, session: SessionDep, actor: ActorDep) -> CatalogueModel:
    """Add a model to the assortment; rule EQ-3 refuses a workstation, printer or screen under 48 months."""
    if session.get(CatalogueModelRow, model.code) is not None:
        raise HTTPException(409, f"code: model {model.code!r} already exists")
    session.add(CatalogueModelRow(**model.model_dump() | {"category": model.category.value}))
    record_reference_change(session, actor, "catalogue_model", model.code, None, model.model_dump(mode="json"))
    session.commit()
    return model


@router.get("/price-list", response_model=list[Price])
def price_list(session: SessionDep, year: Annotated[int, Query(ge=2000, le=2100)], limit: Limit = 200,
               offset: Offset = 0) -> list[Price]:
    """The prices in force in `year`: that year's list, or the latest earlier price per model."""
    prices = []
    for code in session.scalars(select(CatalogueModelRow.code).order_by(CatalogueModelRow.code)
                                .limit(limit).offset(offset)):
        row = price_for(session, code, year)
        if row is not None:
            prices.append(Price.model_validate(row, from_attributes=True))
    return prices


@router.put("/price-list/{year}/{model_code}", response_model=Price)
def set_price(year: YearPath, model_code: str, price: Price, session: SessionDep, actor: ActorDep) -> Price:
    """Set a model's price for a year (the yearly revision of the price list)."""
    if price.year != year or price.model_code != model_code:
        raise HTTPException(422, "year, model_code: the body must match the path")
    model = session.get(CatalogueModelRow, model_code)
    if model is None:
        raise HTTPException(404, f"model_code: no model {model_code!r}")
    try:
        check_price(Category(model.category), price)
    except ValueError as error:
        raise HTTPException(422, str(error)) from error
    before = row_dict(session.get(PriceRow, (year, model_code)))
    session.merge(PriceRow(**price.model_dump()))
    record_reference_change(session, actor, "equipment_price", f"{year}/{model_code}", before,
                            price.model_dump(mode="json"))
    session.commit()
    return price


@router.get("/renewal-policies", response_model=list[RenewalPolicyView])
def renewal_policies(session: SessionDep, limit: Limit = 200, offset: Offset = 0) -> list[RenewalPolicyView]:
    """Rule EQ-5: renewal period per category and municipality."""
    return [RenewalPolicyView(category=Category(p.category), municipality=p.municipality,
                              renewal_months=p.renewal_months)
            for p in session.scalars(select(RenewalPolicy).order_by(RenewalPolicy.municipality, RenewalPolicy.category)
                                     .limit(limit).offset(offset))]


@router.put("/renewal-policies/{category}/{municipality}", response_model=RenewalPolicyResult,
            responses={202: {"model": RenewalPolicyResult, "description": "stored; the running devices are still "
                             "being re-armed (follow GET …/rearm)"}, 404: {}, 422: {}, 503: {}})
async def set_renewal_policy(category: Category, municipality: str, request: RenewalPolicyRequest,
                             actor: ActorDep, path: ProcessDep, response: Response) -> RenewalPolicyResult:
    """Rule EQ-5: a new period (e.g. from a new price-list year) applies to new orders and, by default,
    re-arms the renewal timer of every running device of that category in that municipality. The re-arm is a
    durable job (workflows/renewals.py): 200 with the devices once it is done within the update wait, else
    202 at once while it goes on. Safe to repeat: the same period joins the running job."""
    if category is Category.SHORT_TERM_LAPTOP:
        raise HTTPException(422, "category: short-term laptops are rented per week, not renewed (rule EQ-4)")

    def store(session: Session) -> None:
        if session.get(Municipality, municipality) is None:
            raise HTTPException(404, f"municipality: no municipality {municipality!r}")
        before = row_dict(session.get(RenewalPolicy, (category.value, municipality)))
        session.merge(RenewalPolicy(category=category.value, municipality=municipality,
                                    renewal_months=request.renewal_months))
        record_reference_change(session, actor, "renewal_policy", f"{category.value}/{municipality}", before,
                                {"category": category.value, "municipality": municipality,
                                 "renewal_months": request.renewal_months}, request.reason)
        session.commit()

    await path.db(store)
    result = RenewalPolicyResult(category=category, municipality=municipality,
                                 renewal_months=request.renewal_months, devices_updated=[])
    if not request.apply_to_running:
        return result
    job = RearmRequest(periods=[RenewalPeriodUpdate(category=category, municipality=municipality,
                                                    renewal_months=request.renewal_months)],
                       actor=actor, reason=request.reason or "renewal policy changed")
    done, updated = await path.run_once(RenewalPolicyRearmWorkflow.run, job,
                                        rearm_workflow_id(category, municipality, request.renewal_months),
                                        f"renewal policy: {category.value}/{municipality}")
    if done:
        result.devices_updated = updated
    else:  # a large fleet: the job goes on, durable; the caller follows it (or repeats the PUT: it joins it)
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = f"{PREFIX}/renewal-policies/{category.value}/{municipality}/rearm"
        result.rearm = await rearm_status(category, municipality, path)
    return result


@router.get("/renewal-policies/{category}/{municipality}/rearm", response_model=RenewalRearm,
            responses={404: {}, 503: {}})
async def rearm_status(category: Category, municipality: str, path: ProcessDep) -> RenewalRearm:
    """Rule EQ-5: the re-arm of the period in force, and how far the running devices have taken it."""
    def read(session: Session) -> tuple[int | None, int, int]:
        if session.get(RenewalPolicy, (category.value, municipality)) is None:
            raise HTTPException(404, f"renewal policy: none for {category.value} in {municipality!r}")
        return (renewal_months_now(session, category.value, municipality),
                *rearm_progress(session, category.value, municipality))

    months, running, on_policy = await path.db(read)
    workflow_id = rearm_workflow_id(category, municipality, months)
    status_name = await path.job_status(workflow_id, f"renewal policy: no re-arm of {category.value}/{municipality}")
    return RenewalRearm(workflow_id=workflow_id, status=status_name, devices_running=running,
                        devices_on_policy=on_policy)
