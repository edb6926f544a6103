"""Billing (rules BL-1 … BL-6): runs and their status, invoice bases per unit with lines and the
change section, the CSV an economy system imports, an HTML basis, and the renewal/cost forecast (EQ-5)."""
from __future__ import annotations

import asyncio
import csv
import html
import io
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from temporalio.client import WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api import access
from api.deps import ActorDep, Limit, Offset, PrincipalDep, ProcessDep, SessionDep
from api.errors import Unavailable
from api.policy import ECONOMY
from api.security import record_reference_change, row_dict
from db import billing_queries as q
from db.billing_models import BillingRunRow, CentralCostRow, InvoiceBasisRow
from db.models import Unit
from domain.common import LOCAL_TZ, MUNICIPALITIES
from domain.billing import (
    BillingRunStart,
    ChangeSection,
    ForecastYear,
    Line,
    RunResult,
    billing_workflow_id,
    forecast,
    parse_period,
    period_kind,
)
from workflows.billing import BillingRunWorkflow

router = APIRouter(prefix="/billing", tags=["billing"])
RUN_WAIT_SECONDS = 20  # a run answers with its result when it finishes this fast, else 202 and its status
CSV_COLUMNS = ["period", "cost_centre", "article", "text", "quantity", "quantity_exact", "unit_price", "amount"]
MAX_AMOUNT = Decimal("9999999999.99")  # what Money (NUMERIC(12, 2)) holds: 1e20 is refused, not stored


class RunRequest(BaseModel):
    municipality: str = Field(description="tranemo or ulricehamn")
    period: str = Field(description="a closed period: YYYY-MM (Ulricehamn), YYYY-T1..T3 (Tranemo), YYYY (central)")
    kind: str = Field("regular", pattern="^(regular|central)$", description="central: the yearly central cost (BL-3)")


class RunView(BaseModel):
    run_id: str
    municipality: str
    period: str
    kind: str
    status: str
    requested_by: str
    units: int
    total: Decimal | None
    started_at: datetime
    finished_at: datetime | None
    model_config = {"from_attributes": True}


class BasisView(BaseModel):
    id: int
    municipality: str
    period: str
    kind: str
    unit_id: str
    unit_name: str | None = None
    run_id: str
    total: Decimal
    created_at: datetime
    published_at: datetime | None
    changes: ChangeSection
    lines: list[Line] = Field(default_factory=list)


class CentralCost(BaseModel):
    amount: Decimal = Field(ge=0, le=MAX_AMOUNT, decimal_places=2)
    text: str = Field("Central IT cost", min_length=1, max_length=200)


def _check_run(request: RunRequest) -> None:
    """Shape checks before anything starts (422 naming the field); closedness is the workflow's."""
    if request.municipality not in MUNICIPALITIES:
        raise HTTPException(422, f"municipality: unknown municipality {request.municipality!r}")
    try:
        period = parse_period(request.period)
    except ValueError as error:
        raise HTTPException(422, str(error)) from error
    wanted = "year" if request.kind == "central" else period_kind(request.municipality)
    if period.kind != wanted:
        raise HTTPException(422, f"period: {request.municipality} is billed per {wanted} (rule BL-2/BL-3)")
    if period.end > datetime.now(LOCAL_TZ).date():  # the municipalities' day, as the run's own check
        raise HTTPException(422, f"period: {period.label} is not closed yet (billing is in arrears)")


@router.post("/runs", status_code=201, responses={202: {"description": "still running: its status"}, 422: {},
                                                  503: {}})
async def start_run(request: RunRequest, actor: ActorDep, path: ProcessDep, response: Response) -> dict[str, Any]:
    """Start (or join) the run of a closed period. Safe to retry: the same period gives the same bases."""
    _check_run(request)
    workflow_id = billing_workflow_id(request.municipality, request.period, request.kind)
    start = BillingRunStart(municipality=request.municipality, period=request.period, kind=request.kind,
                            requested_by=actor)
    client, settings = path.client, path.settings
    try:
        handle = await asyncio.wait_for(client.start_workflow(
            BillingRunWorkflow.run, start, id=workflow_id, task_queue=settings.temporal_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE, rpc_timeout=path.rpc_timeout),
            settings.temporal_rpc_timeout_seconds)
    except WorkflowAlreadyStartedError:
        handle = client.get_workflow_handle(workflow_id)
    except (asyncio.TimeoutError, RPCError) as error:
        raise Unavailable(f"Temporal (start): {error}") from error
    try:
        result: RunResult = await asyncio.wait_for(handle.result(rpc_timeout=path.rpc_timeout), RUN_WAIT_SECONDS)
    except asyncio.TimeoutError:
        response.status_code = 202
        return {"run_id": workflow_id, "status": "running"}
    except WorkflowFailureError as error:
        cause = error.cause
        while cause is not None and not isinstance(cause, ApplicationError):
            cause = cause.cause
        raise HTTPException(422 if cause and cause.type == "InvalidRun" else 500, str(cause or error)) from error
    return {"run_id": workflow_id, "status": "published", **result.model_dump(mode="json")}


Text = Annotated[str | None, Query(max_length=20)]
RunId = Annotated[str, Path(min_length=1, max_length=120)]
Municipality = Annotated[str, Path(max_length=20)]
FromYear = Annotated[int | None, Query(ge=2000, le=2100)]
BasisId = Annotated[int, Path(ge=1, le=2_147_483_647, description="an invoice basis' id")]


@router.get("/runs", response_model=list[RunView])
def runs(session: SessionDep, municipality: Text = None, period: Text = None, limit: Limit = 200,
         offset: Offset = 0):
    query = select(BillingRunRow).order_by(BillingRunRow.started_at.desc()).limit(limit).offset(offset)
    if municipality:
        query = query.where(BillingRunRow.municipality == municipality)
    if period:
        query = query.where(BillingRunRow.period == period)
    return list(session.scalars(query))


@router.get("/runs/{run_id}", response_model=RunView, responses={404: {}})
def run(run_id: RunId, session: SessionDep):
    row = session.get(BillingRunRow, run_id)
    if row is None:
        raise HTTPException(404, f"run_id: no billing run {run_id!r}")
    return row


def _basis_view(session, basis: InvoiceBasisRow, with_lines: bool = True) -> BasisView:
    unit = session.get(Unit, basis.unit_id)
    return BasisView(id=basis.id, municipality=basis.municipality, period=basis.period, kind=basis.kind,
                     unit_id=basis.unit_id, unit_name=unit.name if unit else None, run_id=basis.run_id,
                     total=basis.total, created_at=basis.created_at, published_at=basis.published_at,
                     changes=ChangeSection.model_validate(basis.changes),
                     lines=q.basis_lines(session, basis) if with_lines else [])


def _bases(session, municipality: str, period: str, unit_id: str | None = None) -> list[InvoiceBasisRow]:
    query = select(InvoiceBasisRow).where(InvoiceBasisRow.municipality == municipality,
                                          InvoiceBasisRow.period == period).order_by(InvoiceBasisRow.unit_id)
    if unit_id:
        query = query.where(InvoiceBasisRow.unit_id == unit_id)
    return list(session.scalars(query))


def _sees_all(principal) -> bool:
    return access.sees_everything(principal) or principal.has(ECONOMY)


def _own_basis(session, principal, basis_id: int) -> InvoiceBasisRow:
    """The basis, if the caller may see it: a unit manager sees their own unit's only (another's is 404)."""
    row = session.get(InvoiceBasisRow, basis_id)
    if row is None or (not _sees_all(principal) and not access.manages(principal, row.unit_id)):
        raise HTTPException(404, f"basis_id: no invoice basis {basis_id}")
    return row


@router.get("/bases", response_model=list[BasisView])
def bases(session: SessionDep, principal: PrincipalDep, municipality: Annotated[str, Query(max_length=20)],
          period: Annotated[str, Query(max_length=20)], unit_id: Text = None, lines: bool = True):
    """Invoice bases of a municipality and period (one per unit, BL-5), with lines and changes (BL-4).
    A unit manager gets their own unit's."""
    if not _sees_all(principal):
        if not access.manages(principal, unit_id or principal.unit):  # no unit claim: nothing (fails closed)
            return []
        unit_id = principal.unit
    return [_basis_view(session, b, lines) for b in _bases(session, municipality, period, unit_id)]


@router.get("/bases/{basis_id}.html", response_class=HTMLResponse, responses={404: {}})
def basis_html(basis_id: BasisId, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
    """The basis as a unit manager reads it: what is charged, and what changed since last time."""
    row = _own_basis(session, principal, basis_id)
    return HTMLResponse(render_basis(_basis_view(session, row)))


@router.get("/bases/{basis_id}", response_model=BasisView, responses={404: {}})
def basis(basis_id: BasisId, session: SessionDep, principal: PrincipalDep):
    return _basis_view(session, _own_basis(session, principal, basis_id))


def kronor(amount: Decimal) -> str:
    """Swedish money format: 1150 → '1 150,00 kr' (space between thousands, decimal comma)."""
    whole, ore = f"{abs(amount):,.2f}".split(".")
    return f"{'-' if amount < 0 else ''}{whole.replace(',', ' ')},{ore} kr"


def swedish_number(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",")


def swedish_csv(header: list[str], rows: list[list]) -> Response:
    """Issue 25: what Swedish Excel reads as numbers: `;`-separated, decimal comma, UTF-8 with a BOM."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([f"{v:f}".replace(".", ",") if isinstance(v, Decimal) else v for v in row])
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8")


def render_basis(view: BasisView) -> str:
    """The basis a unit manager reads (BL-4, BL-5): unit, period, what changed, the lines and the total."""
    e = html.escape
    period = parse_period(view.period)
    last_day = period.end.toordinal() - 1
    rows = "".join(
        f"<tr><td>{e(line.article)}</td><td>{e(line.text)}</td><td class=n>{swedish_number(line.quantity)}"
        + (f" ({e(line.quantity_exact)})" if line.quantity_exact else "") + "</td>"
        f"<td class=n>{kronor(line.unit_price)}</td><td class=n>{kronor(line.amount)}</td></tr>" for line in view.lines)
    labels = {"added": "Added", "removed": "Removed", "moved_in": "Moved in from", "moved_out": "Moved to",
              "price_changed": "New price"}
    changes = "".join(
        f"<li>{labels[i.change]} {e(i.other_unit or '')} — {e(i.reference)} ({e(i.article)})"
        + (f": {kronor(i.unit_price_before)} → {kronor(i.unit_price_after)}" if i.change == "price_changed" else "")
        + "</li>" for i in view.changes.items) or "<li>No changes</li>"
    since = f" since {e(view.changes.previous_period)}" if view.changes.previous_period else " (first basis)"
    before = view.changes.total_before
    totals = (f"<p>Total {kronor(view.total)}" + ("" if before is None else f" (previous basis {kronor(before)})")
              + "</p>")
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>Invoice basis {e(view.unit_id)} "
            f"{e(view.period)}</title><style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}"
            f"table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ccc;padding:.3em}}"
            f".n{{text-align:right;white-space:nowrap}}</style><h1>Invoice basis {e(view.period)}</h1>"
            f"<p>Unit: {e(view.unit_id)} {e(view.unit_name or '')} — {e(view.municipality.capitalize())} — "
            f"period {period.start.isoformat()} – {date.fromordinal(last_day).isoformat()} — basis {view.id}</p>"
            f"{totals}<h2>What changed{since} (BL-4)</h2><ul>{changes}</ul><h2>Lines</h2><table><tr><th>Article</th>"
            f"<th>Text</th><th class=n>Quantity</th><th class=n>Unit price</th><th class=n>Amount</th>"
            f"</tr>{rows}<tr><th colspan=4 class=n>Total</th><th class=n>{kronor(view.total)}</th></tr></table></html>")


# a period as billing labels it (YYYY-MM, YYYY-T1..T3, YYYY): it names the file, so nothing else gets into the
# header (issue 20: a 500)
PERIOD_PATH = r"^20\d\d(-(T[1-3]|0[1-9]|1[0-2]))?$"


@router.get("/{municipality}/{period}/export.csv")
def export_csv(municipality: Municipality, period: Annotated[str, Path(max_length=20, pattern=PERIOD_PATH)],
               session: SessionDep) -> Response:
    """One row per line: period, cost centre (unit), article, text, quantity (rounded and exact), unit price,
    amount (SEK); Swedish CSV (issue 25)."""
    if municipality not in MUNICIPALITIES:
        raise HTTPException(404, f"municipality: unknown municipality {municipality!r}")
    rows = [[period, b.unit_id, line.article, line.text, line.quantity.normalize(), line.quantity_exact or "",
             line.unit_price, line.amount]
            for b in _bases(session, municipality, period) for line in q.basis_lines(session, b)]
    response = swedish_csv(CSV_COLUMNS, rows)
    response.headers["Content-Disposition"] = f'attachment; filename="ramflow-{municipality}-{period}.csv"'
    return response


@router.put("/central-costs/{year}/{unit_id}", response_model=CentralCost, responses={409: {}, 422: {}})
def set_central_cost(year: Annotated[int, Path(ge=2000, le=2100)], unit_id: Annotated[str, Path(max_length=40)],
                     cost: CentralCost, session: SessionDep, actor: ActorDep):
    """Rule BL-3: the unit's share of the year's central cost, billed once a year (who changed it, when, from
    what to what is recorded with the change); refused (409) once the year's central run has started."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise HTTPException(422, f"unit_id: unknown unit {unit_id!r}")
    # rule BL-3 (issue 25): an invoiced year is closed; a change would reach no invoice, so it is refused
    # (a correction is agreed with the unit and set on a year not invoiced yet; docs/billing-files.md)
    invoiced = session.scalar(select(BillingRunRow.run_id).where(
        BillingRunRow.municipality == unit.municipality, BillingRunRow.period == str(year),
        BillingRunRow.kind == "central", BillingRunRow.status.in_(("collecting", "stored", "published"))))
    if invoiced is not None:
        raise HTTPException(409, f"year: the central cost of {year} is invoiced (run {invoiced}); a change "
                                 f"would reach no invoice (rule BL-3)")
    row = session.get(CentralCostRow, (year, unit_id))
    record_reference_change(session, actor, "central_cost", f"{year}/{unit_id}", row_dict(row, ("amount", "text")),
                            cost.model_dump(mode="json"))
    if row is None:
        session.add(CentralCostRow(year=year, unit_id=unit_id, amount=cost.amount, text=cost.text))
    else:
        row.amount, row.text = cost.amount, cost.text
    session.commit()
    return cost


# --- forecast (EQ-5) -------------------------------------------------------------------------
def _forecast(session, municipality: str, from_year: int | None) -> list[ForecastYear]:
    if municipality not in MUNICIPALITIES:
        raise HTTPException(404, f"municipality: unknown municipality {municipality!r}")
    first = from_year or datetime.now(LOCAL_TZ).year
    years = [first + i for i in range(4)]
    return forecast(q.fleet(session, municipality), years, q.replacement_models(session, first),
                    q.price_book(session))


@router.get("/forecast/{municipality}.csv")
def forecast_csv(municipality: Municipality, session: SessionDep, from_year: FromYear = None) -> Response:
    return swedish_csv(["year", "cost_centre", "devices_due", "replacement_cost", "rent"],
                       [[row.year, row.unit_id, len(row.due), row.replacement_cost, row.rent]
                        for row in _forecast(session, municipality, from_year)])


@router.get("/forecast/{municipality}.svg")
def forecast_svg(municipality: Municipality, session: SessionDep, from_year: FromYear = None) -> Response:
    """A bar chart per year: replacement cost and rent of the whole municipality."""
    return Response(render_forecast_svg(municipality, _forecast(session, municipality, from_year)),
                    media_type="image/svg+xml")


@router.get("/forecast/{municipality}", response_model=list[ForecastYear])
def forecast_json(municipality: Municipality, session: SessionDep, from_year: FromYear = None):
    """Per unit and year, the next four years: devices due for renewal, their replacements' cost, the rent."""
    return _forecast(session, municipality, from_year)


def render_forecast_svg(municipality: str, rows: list[ForecastYear]) -> str:
    years = sorted({r.year for r in rows})
    sums = {y: (sum((r.replacement_cost for r in rows if r.year == y), Decimal(0)),
                sum((r.rent for r in rows if r.year == y), Decimal(0))) for y in years}
    top = max([v for pair in sums.values() for v in pair] + [Decimal(1)])
    width, height, base = 120 * max(len(years), 1) + 80, 320, 280
    bars = []
    for i, year in enumerate(years):
        x = 60 + i * 120
        for j, (value, colour, name) in enumerate(zip(sums[year], ("#c0392b", "#2980b9"), ("replacement", "rent"))):
            h = int(Decimal(220) * value / top)
            bars.append(f'<rect x="{x + j * 45}" y="{base - h}" width="40" height="{h}" fill="{colour}">'
                        f"<title>{year} {name}: SEK {value}</title></rect>")
        bars.append(f'<text x="{x + 42}" y="{base + 18}" text-anchor="middle">{year}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
            f'font-size="12"><text x="10" y="20" font-size="14">Forecast {html.escape(municipality)}: '
            f'replacement cost (red) and rent (blue), SEK</text>'
            f'<line x1="50" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#333"/>{"".join(bars)}</svg>')
