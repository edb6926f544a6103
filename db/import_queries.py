"""Reads and writes of the device register's import (issue 22), shared by its activity and the API: what
validation needs to know, the stored import and its rows, the job's progress."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from db.equipment_queries import price_for
from db.import_models import DeviceImportRowRecord, DeviceImportRun
from db.models import CatalogueModelRow, Device, RenewalPolicy, Unit
from db.people_models import Person
from domain.device_import import Reference, RegisteredDevice, Validated
from domain.device_import_job import ImportProgress, ImportRowResult, import_workflow_id

DONE = ("started", "unchanged")
FAILED = ("failed", "skipped")


def reference(s: Session, cutover: date) -> Reference:
    """Catalogue, units, people, the register and the renewal periods in force, for validation."""
    models = {row.code: (row.category, row.active, price_for(s, row.code, cutover.year) is not None)
              for row in s.scalars(select(CatalogueModelRow))}
    register: dict[str, RegisteredDevice] = {}
    serials: dict[str, str] = {}
    for number, serial, model, unit, user, delivered in s.execute(select(
            Device.order_number, Device.serial_number, Device.model_code, Device.unit_id, Device.user_ref,
            Device.delivered_at)):
        register[number] = RegisteredDevice(serial, model, unit, user, delivered.date() if delivered else None)
        if serial:
            serials[serial] = number
    return Reference(
        models=models, units={u: m for u, m in s.execute(select(Unit.id, Unit.municipality))},
        people=set(s.scalars(select(Person.employee_ref).where(Person.active.is_(True)))),
        register=register, serials=serials,
        renewal_months={(p.category, p.municipality): p.renewal_months for p in s.scalars(select(RenewalPolicy))})


def store_import(s: Session, import_id: str, source: str, actor: str, cutover: date, skip_invalid: bool,
                 validated: Validated, slots: dict[int, datetime], now: datetime) -> None:
    """The import and every row of its file, in one transaction: the rows to start are pending, the
    invalid ones skipped (only with skip_invalid), the unchanged ones done."""
    s.add(DeviceImportRun(id=import_id, source=source[:200], actor=actor, cutover=cutover, skip_invalid=skip_invalid,
                          status="running", created_at=now))
    s.flush()
    for report in validated.reports:
        row = validated.rows.get(report.row)
        outcome = {"start": "pending", "unchanged": "unchanged", "error": "skipped"}[report.outcome]
        s.add(DeviceImportRowRecord(
            import_id=import_id, row=report.row, order_number=report.order_number,
            data=row.model_dump(mode="json") if row else {}, outcome=outcome,
            message="; ".join(report.errors) or None, renewal_not_before=slots.get(report.row)))


def pending_rows(s: Session, import_id: str, after_row: int, limit: int) -> list[DeviceImportRowRecord]:
    return list(s.scalars(select(DeviceImportRowRecord).where(
        DeviceImportRowRecord.import_id == import_id, DeviceImportRowRecord.outcome == "pending",
        DeviceImportRowRecord.row > after_row).order_by(DeviceImportRowRecord.row).limit(limit)))


def record_outcomes(s: Session, import_id: str, outcomes: dict[int, tuple[str, str | None]]) -> None:
    for row, (outcome, message) in outcomes.items():
        s.execute(update(DeviceImportRowRecord).where(
            DeviceImportRowRecord.import_id == import_id, DeviceImportRowRecord.row == row)
            .values(outcome=outcome, message=message))


def finish_import(s: Session, import_id: str) -> dict[str, int]:
    """Mark the import done; its counts per outcome."""
    run = s.get(DeviceImportRun, import_id)
    assert run is not None
    if run.status != "done":
        run.status, run.finished_at = "done", datetime.now(timezone.utc)
    return dict(s.execute(select(DeviceImportRowRecord.outcome, func.count()).where(
        DeviceImportRowRecord.import_id == import_id).group_by(DeviceImportRowRecord.outcome)).all())


def progress(s: Session, import_id: str, limit: int, offset: int) -> ImportProgress | None:
    run = s.get(DeviceImportRun, import_id)
    if run is None:
        return None
    counts = dict(s.execute(select(DeviceImportRowRecord.outcome, func.count()).where(
        DeviceImportRowRecord.import_id == import_id).group_by(DeviceImportRowRecord.outcome)).all())
    rows = s.scalars(select(DeviceImportRowRecord).where(DeviceImportRowRecord.import_id == import_id)
                     .order_by(DeviceImportRowRecord.row).limit(limit).offset(offset))
    return ImportProgress(
        id=run.id, workflow_id=import_workflow_id(run.id), source=run.source, actor=run.actor, cutover=run.cutover,
        status=run.status, created_at=run.created_at, finished_at=run.finished_at, rows=sum(counts.values()),
        done=sum(counts.get(k, 0) for k in DONE), failed=sum(counts.get(k, 0) for k in FAILED),
        remaining=counts.get("pending", 0),
        results=[ImportRowResult(row=r.row, order_number=r.order_number, outcome=r.outcome, message=r.message,
                                 renewal_not_before=r.renewal_not_before) for r in rows])


def spread_slot_pending(today: date) -> Select:
    """Order numbers of imported devices whose renewal slot is after `today` (rule EQ-5: the spread wave);
    the renewal safety net leaves them to their own timer."""
    tomorrow = datetime.combine(today + timedelta(days=1), time.min, tzinfo=timezone.utc)
    return select(DeviceImportRowRecord.order_number).where(  # never NULL: NOT IN over a NULL matches nothing
        DeviceImportRowRecord.renewal_not_before >= tomorrow, DeviceImportRowRecord.order_number.is_not(None))
