"""The files economy takes and the figures it reconciles with (issue 25): a billing run as SIE 4I
vouchers, the ledger mapping behind it (economy reads, it-admin changes, audited), and the price lists
and hourly rates the units are invoiced by (AG-5, TK-8, TK-12, EQ-13)."""
from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import ActorDep, ProcessDep, SessionDep
from api.routes.files import DeliveryView, hand_over
from api.security import record_reference_change, row_dict
from db.billing_files import mappings_of, sie_file
from db.billing_models import BillingRunRow, LedgerMappingRow, ServicePriceRow
from db.models import PriceRow
from domain.common import MUNICIPALITIES
from domain.sie import ANY, UnmappedCharge

router = APIRouter(prefix="/billing", tags=["billing"])
RunId = Annotated[str, Path(min_length=1, max_length=120)]
MunicipalityCode = Annotated[str, Path(max_length=20)]
Account = Field(pattern=r"^[0-9]{4,6}$", description="an account of the municipality's chart (Kommun-Bas: 4 digits)")
Code = Annotated[str, Path(pattern=r"^(\*|[a-z_]{1,40})$", description="a charge kind or category, '*' for any")]


class LedgerMapping(BaseModel):
    charge_kind: str
    category: str
    cost_account: str = Account
    income_account: str = Account
    income_cost_centre: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$",
                                    description="IT's cost centre (SIE dim 1) the income is booked on")


class LedgerMappingChange(BaseModel):
    cost_account: str = Account
    income_account: str = Account
    income_cost_centre: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")


def _municipality(code: str) -> str:
    if code not in MUNICIPALITIES:
        raise HTTPException(404, f"municipality: unknown municipality {code!r}")
    return code


@router.get("/ledger-mappings/{municipality}", response_model=list[LedgerMapping])
def ledger_mappings(municipality: MunicipalityCode, session: SessionDep):
    """Which accounts each charge kind (and category) is booked on in the municipality's ledger."""
    rows = mappings_of(session, _municipality(municipality))
    return [LedgerMapping(**vars(m)) for _, m in sorted(rows.items())]


@router.put("/ledger-mappings/{municipality}/{charge_kind}/{category}", response_model=LedgerMapping)
def set_ledger_mapping(municipality: MunicipalityCode, charge_kind: Code, category: Code,
                       change: LedgerMappingChange, session: SessionDep, actor: ActorDep):
    """Set the accounts of a charge kind ('*' category: every category without its own row); recorded
    as a reference change (who, when, from what to what)."""
    key = (_municipality(municipality), charge_kind, category)
    if charge_kind == ANY:
        raise HTTPException(422, "charge_kind: name a charge kind (rent, service_fee, purchase, …)")
    row = session.get(LedgerMappingRow, key)
    record_reference_change(session, actor, "ledger_mapping", "/".join(key),
                            row_dict(row, ("cost_account", "income_account", "income_cost_centre")),
                            change.model_dump())
    if row is None:
        session.add(LedgerMappingRow(municipality=municipality, charge_kind=charge_kind, category=category,
                                     **change.model_dump()))
    else:
        row.cost_account, row.income_account = change.cost_account, change.income_account
        row.income_cost_centre = change.income_cost_centre
    session.commit()
    return LedgerMapping(charge_kind=charge_kind, category=category, **change.model_dump())


@router.get("/runs/{run_id}/sie", response_class=Response, responses={404: {}, 409: {}})
def run_sie(run_id: RunId, session: SessionDep) -> Response:
    """The published run as SIE type 4I (CP437): one voucher per unit basis, one per correction."""
    run, body = _published_sie(session, run_id)
    return Response(body, media_type="text/plain; charset=IBM437", headers={
        "Content-Disposition": f'attachment; filename="{sie_name(run)}"',
        "Digest": "sha-256=" + hashlib.sha256(body).hexdigest()})


def _published_sie(session, run_id: str) -> tuple[BillingRunRow, bytes]:
    run = session.get(BillingRunRow, run_id)
    if run is None:
        raise HTTPException(404, f"run_id: no billing run {run_id!r}")
    if run.status != "published":
        raise HTTPException(409, f"run_id: run {run_id} is {run.status}, not published")
    try:
        return run, sie_file(session, run)
    except UnmappedCharge as error:  # never a partial file
        raise HTTPException(409, str(error)) from error


def sie_name(run: BillingRunRow) -> str:
    return f"ramflow-{run.municipality}-{run.period}-{run.kind}.se"


@router.post("/runs/{run_id}/sie/delivery", response_model=DeliveryView, status_code=201,
             responses={404: {}, 409: {}, 503: {}})
async def deliver_sie(run_id: RunId, path: ProcessDep, actor: ActorDep) -> DeliveryView:
    """Hand the run's SIE file to the economy system (FILE_DELIVERY_TARGETS[economy]: a directory or SFTP) by
    the shared durable delivery (files/delivery.py); again: the same file and receipt, never a second copy."""
    def prepare(session) -> tuple[str, str, str, bytes]:
        run, body = _published_sie(session, run_id)
        return run.municipality, run.period, sie_name(run), body

    municipality, period, name, body = await path.db(prepare)
    return await hand_over(path, system="economy", kind="sie", name=name, content=body,
                           media_type="text/plain; charset=IBM437", actor=actor, municipality=municipality,
                           period=period)


class ServiceRate(BaseModel):
    year: int
    article: str
    unit: str
    unit_price: Decimal
    description: str | None
    model_config = {"from_attributes": True}


class DevicePrice(BaseModel):
    year: int
    model_code: str
    monthly_rent: Decimal | None
    purchase_price: Decimal | None
    monthly_service_fee: Decimal | None
    weekly_rent: Decimal | None
    installation_fee: Decimal | None
    model_config = {"from_attributes": True}


class PriceLists(BaseModel):
    year: int
    hourly_rates: list[ServiceRate]
    devices: list[DevicePrice]


@router.get("/price-lists/{year}", response_model=PriceLists)
def price_lists(year: Annotated[int, Path(ge=2000, le=2100)], session: SessionDep):
    """The price lists in force in `year` (AG-5: the latest list up to that year per article/model):
    the hourly rates (on-call, move, extra support) and the device prices units are invoiced by."""
    rates: dict[str, ServicePriceRow] = {}
    for rate in session.scalars(select(ServicePriceRow).where(ServicePriceRow.year <= year)
                                .order_by(ServicePriceRow.year)):
        rates[rate.article] = rate
    devices: dict[str, PriceRow] = {}
    for price in session.scalars(select(PriceRow).where(PriceRow.year <= year).order_by(PriceRow.year)):
        devices[price.model_code] = price
    return PriceLists(year=year, hourly_rates=[ServiceRate.model_validate(r) for _, r in sorted(rates.items())],
                      devices=[DevicePrice.model_validate(p) for _, p in sorted(devices.items())])

