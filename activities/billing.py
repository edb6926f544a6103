"""Side effects of a billing run (rules BL-1 … BL-6) and the renewal safety net (EQ-5). Every
activity is idempotent: a basis is stored once per municipality + period + unit; publishing marks
each basis once; a retried or re-run step finds what the first one wrote."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities.outbox import OutboxNotifier
from db import billing_queries as q
from db.billing_changes_sql import store_change_section
from db.billing_models import BillingRunRow, InvoiceBasisRow, InvoiceLineRow
from db.billing_rent_sql import insert_rent_lines, rent_lines_sql, year_prices
from db.models import Municipality
from domain.billing import (
    BasisSummary,
    BillingRunStart,
    Line,
    Period,
    RunPlan,
    RunResult,
    UnitBasisRequest,
    adjustment_lines,
    application_lines,
    one_off_lines,
    parse_period,
    period_due,
    period_kind,
    total,
)
from domain.common import SYSTEM_ACTOR
from domain.equipment import DeviceCommand, RenewNow
from workflows.billing import COLLECT, MARK_FAILED, PUBLISH, RENEWAL_SAFETY_NET, STORE_BASIS


class InvalidRun(ValueError):
    """A run the rules refuse (422 in the API): unknown municipality, a period not closed, a wrong kind."""


def stockholm_today(at: datetime) -> date:
    from domain.support_calendar import default_calendar  # ZoneInfo: outside the workflow sandbox

    return at.astimezone(default_calendar().tz).date()


def resolve_period(start: BillingRunStart, today: date) -> Period:
    """The period a run bills; raises InvalidRun naming the field (rules BL-2, BL-3)."""
    if start.municipality not in ("tranemo", "ulricehamn"):
        raise InvalidRun(f"municipality: unknown municipality {start.municipality!r}")
    kind = "year" if start.kind == "central" else period_kind(start.municipality)
    try:
        period = period_due(kind, today) if start.period is None else parse_period(start.period)
    except ValueError as error:
        raise InvalidRun(str(error)) from error
    if period.kind != kind:
        raise InvalidRun(f"period: {start.municipality} is billed per {kind} (rule BL-2/BL-3), got {period.label!r}")
    if period.end > today:
        raise InvalidRun(f"period: {period.label} is not closed yet (billing is in arrears, ends {period.end})")
    return period


def other_lines(s: Session, request: UnitBasisRequest, period: Period) -> list[Line]:
    """The lines of one unit's basis besides rent (stored set-based in SQL by insert_rent_lines): one-offs
    and hourly work as they occurred, applications in force, corrections of the previous period (BL-1,
    BL-4, AG-6), or the yearly central cost (BL-3)."""
    unit = request.unit_id
    if request.kind == "central":  # rule BL-3
        return q.central_cost_items(s, unit, period.year)
    lines = one_off_lines(q.one_off_items(s, unit, period), period)
    lines += application_lines(q.application_items(s, unit, period.year), period)
    earlier = period.previous()
    billed = q.billed_for_period(s, request.municipality, unit, earlier)
    if billed is not None:
        recomputed = rent_lines_sql(s, unit, earlier, year_prices(s, earlier.year))
        recomputed += application_lines(q.application_items(s, unit, earlier.year), earlier)
        lines += adjustment_lines(billed, recomputed, earlier)
    return lines


def store_basis(s: Session, request: UnitBasisRequest, at: datetime) -> BasisSummary:
    """Build, compare (BL-4) and store one unit's basis in one transaction, once (BL-5). Rent lines go
    straight from the charge periods into invoice_lines (one INSERT … SELECT); the rest from Python."""
    period = parse_period(request.period)
    existing = s.scalars(select(InvoiceBasisRow).where(
        InvoiceBasisRow.municipality == request.municipality, InvoiceBasisRow.period == period.label,
        InvoiceBasisRow.unit_id == request.unit_id)).first()
    if existing is not None:
        count = s.scalar(select(func.count()).where(InvoiceLineRow.basis_id == existing.id))
        return BasisSummary(unit_id=request.unit_id, basis_id=existing.id, lines=count, total=existing.total,
                            created=False)
    others = other_lines(s, request, period)
    previous = q.previous_basis(s, request.unit_id, request.kind, period)
    basis = InvoiceBasisRow(municipality=request.municipality, period=period.label, kind=request.kind,
                            unit_id=request.unit_id, run_id=request.run_id, total=total([]), changes={},
                            created_at=at)
    s.add(basis)
    s.flush()
    count = 0 if request.kind == "central" else insert_rent_lines(s, basis.id, request.unit_id, period,
                                                                 year_prices(s, period.year))
    if not count and not others and not (previous is not None and q.holds_anything(s, previous.id)):
        s.delete(basis)
        return BasisSummary(unit_id=request.unit_id, basis_id=None, lines=0, total=total([]), created=False)
    if others:
        fields = [name for name in Line.model_fields if name != "unit_id"]
        s.connection().execute(insert(InvoiceLineRow.__table__), [
            {**{name: getattr(line, name) for name in fields}, "basis_id": basis.id} for line in others])
    # rule BL-4 and the exact total, in SQL: no line of the basis is read back into Python
    basis.total = q.basis_total(s, basis.id)
    since = parse_period(previous.period).start if previous is not None else period.start
    store_change_section(s, basis.id, request.unit_id, previous.id if previous is not None else None,
                         previous.period if previous is not None else None,
                         q.basis_total(s, previous.id) if previous is not None else None, basis.total,
                         since, period.end)
    return BasisSummary(unit_id=request.unit_id, basis_id=basis.id, lines=count + len(others), total=basis.total,
                        created=True)


class BillingActivities:
    """Holds the session factory and the outbox the bases are published through."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.notifier = OutboxNotifier(sessions)

    @COLLECT.defn
    def collect(self, start: BillingRunStart) -> RunPlan:
        """Resolve the period, record the run and list the municipality's units (BL-2, BL-5)."""
        info = activity.info()
        now = datetime.now(timezone.utc)
        try:
            period = resolve_period(start, stockholm_today(start.as_of or now))
        except InvalidRun as error:
            raise ApplicationError(str(error), type="InvalidRun", non_retryable=True) from error
        run_id = info.workflow_id
        with self.sessions.begin() as s:
            if s.get(Municipality, start.municipality) is None:
                raise ApplicationError(f"municipality: unknown {start.municipality!r}", type="InvalidRun",
                                       non_retryable=True)
            row = s.get(BillingRunRow, run_id)
            if row is not None and row.status == "failed":  # the same period run again: it starts afresh
                row.status, row.started_at, row.finished_at = "collecting", now, None
            if row is None:
                s.add(BillingRunRow(run_id=run_id, municipality=start.municipality, period=period.label,
                                    kind=start.kind, status="collecting", requested_by=start.requested_by,
                                    units=0, started_at=now))
            units = q.unit_ids(s, start.municipality)
        return RunPlan(run_id=run_id, municipality=start.municipality, period=period.label, kind=start.kind,
                       units=units)

    @STORE_BASIS.defn
    def store_basis(self, request: UnitBasisRequest) -> BasisSummary:
        with self.sessions.begin() as s:
            return store_basis(s, request, datetime.now(timezone.utc))

    @PUBLISH.defn
    def publish(self, result: RunResult) -> None:
        """Publish each new basis to its unit and the run to the municipality's economy (outbox), once."""
        now = datetime.now(timezone.utc)
        with self.sessions.begin() as s:
            run = s.get(BillingRunRow, result.run_id)
            assert run is not None
            run.status, run.units, run.total, run.finished_at = "published", len(result.bases), result.total, now
            ids = [b.basis_id for b in result.bases if b.basis_id is not None]
            fresh = list(s.scalars(select(InvoiceBasisRow).where(InvoiceBasisRow.id.in_(ids),
                                                                 InvoiceBasisRow.published_at.is_(None))))
            for basis in fresh:
                basis.published_at = now
        for basis in fresh:
            self.notifier.send(f"billing:{basis.id}", "invoice_basis", f"unit:{basis.unit_id}",
                               f"Invoice basis {basis.period} for {basis.unit_id}",
                               f"Total SEK {basis.total}; see /api/v1/billing/bases/{basis.id}", result.run_id, now)
        self.notifier.send(f"billing-run:{result.run_id}:{result.period}", "billing_run",
                           f"economy:{result.municipality}", f"Billing {result.municipality} {result.period}",
                           f"{len(ids)} invoice bases, total SEK {result.total}; CSV at /api/v1/billing/"
                           f"{result.municipality}/{result.period}/export.csv", result.run_id, now)

    @MARK_FAILED.defn
    def mark_failed(self, run_id: str, reason: str) -> None:
        """The run failed after it was recorded: the failed-runs gauge counts it from now on."""
        with self.sessions.begin() as s:
            run = s.get(BillingRunRow, run_id)
            if run is not None and run.status != "published":
                run.status, run.finished_at = "failed", datetime.now(timezone.utc)
                activity.logger.warning("billing run %s failed: %s", run_id, reason)

    def all(self) -> list:
        return [self.collect, self.store_basis, self.publish, self.mark_failed]


class RenewalSafetyNetActivities:
    """Rule EQ-5: a daily look for devices whose renewal is due but whose workflow has none pending."""

    def __init__(self, client: Client, sessions: sessionmaker[Session], lead_days: int) -> None:
        self.client = client
        self.sessions = sessions
        self.lead_days = lead_days

    @RENEWAL_SAFETY_NET.defn
    async def renewal_safety_net(self, today: date) -> list[str]:
        """Renew each missed device now; idempotent (a renewed device is no longer in use)."""
        from workflows.equipment import DeviceLifecycleWorkflow

        with self.sessions() as s:
            due = q.due_for_renewal(s, today, self.lead_days)
        renewed = []
        for order_number, workflow_id in due:
            command = DeviceCommand(actor=SYSTEM_ACTOR, reason="renewal safety net: renewal date passed (rule EQ-5)",
                                    action=RenewNow())
            try:
                await self.client.get_workflow_handle(workflow_id).execute_update(DeviceLifecycleWorkflow.apply,
                                                                                  command)
                renewed.append(order_number)
            except (WorkflowUpdateFailedError, RPCError) as error:
                activity.logger.warning("safety net could not renew %s: %s", order_number, error)
        return renewed
