"""The erasure vendor's report imported in one request (rule EQ-12; issue 25). Each line whose device waits
for erasure at that vendor gets its certificate through the device's own `record_erasure` event (the EQ-12
gate of its workflow); a mismatch (unknown serial, wrong vendor, a device not sent, a line without a
certificate) is listed and changes nothing. A dry run (the default) answers what would happen."""
from __future__ import annotations

import hashlib
from collections import Counter
from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import ActorDep, ProcessDep
from api.routes.files import file_body
from api.routes.imports import _file as uploaded_file
from db.models import Device, ErasureRecord, ErasureVendor
from domain.equipment import AWAITING_ERASURE, DeviceCommand, RecordErasure, device_workflow_id
from files.erasure_report import ReportError, ReportLine, read_report
from workflows.equipment import DeviceLifecycleWorkflow

router = APIRouter(tags=["erasure"])
Outcome = Literal["would_record", "recorded", "unchanged", "mismatch"]


class LineResult(BaseModel):
    line: int
    serial: str
    certificate_id: str
    vendor: str
    order_number: str | None
    outcome: Outcome
    problem: str | None = None


class ReportResult(BaseModel):
    report_id: str  # SHA-256 of the file
    dry_run: bool
    lines: int
    recorded: int
    would_record: int
    unchanged: int
    mismatches: int
    results: list[LineResult]


def _match(session: Session, line: ReportLine, twice: set[str]) -> LineResult:
    result = LineResult(line=line.line, serial=line.serial, certificate_id=line.certificate_id, vendor=line.vendor,
                        order_number=None, outcome="mismatch")
    if line.problem:
        return result.model_copy(update={"problem": line.problem})
    if line.serial in twice:
        return result.model_copy(update={"problem": "serial: more than one line in the report"})
    devices = session.scalars(select(Device).where(Device.serial_number == line.serial)).all()
    if len(devices) != 1:
        why = "unknown serial" if not devices else "several devices have it"
        return result.model_copy(update={"problem": f"serial: {line.serial!r}: {why}"})
    device = devices[0]
    result.order_number = device.order_number
    vendor = session.get(ErasureVendor, line.vendor)
    if vendor is None or not vendor.certified:
        return result.model_copy(update={"problem": f"vendor: {line.vendor!r} is not a certified erasure vendor "
                                                    "(rule EQ-12)"})
    record = session.get(ErasureRecord, device.order_number)
    if record is not None and record.certificate_id:
        if record.certificate_id == line.certificate_id and record.vendor == line.vendor:
            return result.model_copy(update={"outcome": "unchanged"})
        return result.model_copy(update={"problem": f"certificate_id: the device has certificate "
                                                    f"{record.certificate_id!r} already"})
    if device.state != AWAITING_ERASURE or record is None:
        return result.model_copy(update={"problem": f"device not sent to erasure (state {device.state})"})
    if record.vendor != line.vendor:
        return result.model_copy(update={"problem": f"vendor: the device was sent to {record.vendor!r}, not "
                                                    f"{line.vendor!r} (wrong vendor)"})
    return result.model_copy(update={"outcome": "would_record"})


@router.post("/erasure-reports", response_model=ReportResult,
             openapi_extra=file_body("the vendor's report, CSV or XML", "text/csv"))
async def import_report(request: Request, path: ProcessDep, actor: ActorDep,
                        dry_run: bool = Query(True, description="answer what would happen, record nothing"),
                        vendor: str | None = Query(None, max_length=80,
                                                   description="the vendor of lines that name none")) -> ReportResult:
    """The report as the request body or a form's `file` (CSV or XML)."""
    content, _ = await uploaded_file(request)
    report_id = hashlib.sha256(content).hexdigest()
    try:
        lines = read_report(content, vendor)
    except ReportError as error:
        raise HTTPException(422, str(error)) from None
    counts = Counter(line.serial for line in lines if line.serial)
    twice = {serial for serial, n in counts.items() if n > 1}
    results = await path.db(lambda s: [_match(s, line, twice) for line in lines])
    by_line = {line.line: line for line in lines}
    if not dry_run:
        for index, result in enumerate(results):
            if result.outcome != "would_record":
                continue
            line = by_line[result.line]
            reason = (f"Raderingsintyg {line.certificate_id} från {line.vendor}"
                      f"{f', metod {line.method}' if line.method else ''}"
                      f"{f', raderad {line.erased_on.isoformat()}' if line.erased_on else ''} (rapport {report_id[:12]})")
            command = DeviceCommand(actor=actor, reason=reason[:500],
                                    action=RecordErasure(vendor=line.vendor, certificate_id=line.certificate_id))
            try:
                await path.apply(device_workflow_id(result.order_number), DeviceLifecycleWorkflow.apply, command,
                                 f"order_number: no device {result.order_number!r}",
                                 update_id=f"erasure-report:{report_id}:{result.order_number}")
                results[index] = result.model_copy(update={"outcome": "recorded"})
            except HTTPException as error:  # the device's workflow refused it (EQ-12 gate): listed, nothing changed
                results[index] = result.model_copy(update={"outcome": "mismatch", "problem": str(error.detail)})
    tally = Counter(r.outcome for r in results)
    return ReportResult(report_id=report_id, dry_run=dry_run, lines=len(results), recorded=tally["recorded"],
                        would_record=tally["would_record"], unchanged=tally["unchanged"],
                        mismatches=tally["mismatch"], results=results)
