"""Importing the existing device register (issue 22; rules EQ-1, EQ-5 … EQ-7, BL-6).

`POST /imports/devices` takes a CSV or XLSX file in the template's columns (`GET …/template.csv|.xlsx`).
A dry run (the default) validates every row and answers what would happen to it, writing nothing; the
commit (`dry_run=false`) stores the rows and starts the durable job `device-import-<sha256 of the file>`,
which starts each device mid-life; `GET /imports/{id}` follows it. The same file again changes nothing."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import ActorDep, Limit, Offset, ProcessDep, SettingsDep
from api.errors import ErrorDetail
from api.policy import PREFIX
from db.import_models import DeviceImportRun
from db.import_queries import progress, reference, store_import
from domain.common import LOCAL_TZ
from domain.device_import import (
    ImportFileError,
    RowReport,
    Validated,
    file_id,
    read_table,
    spread_renewals,
    template_csv,
    template_xlsx,
    validate,
)
from domain.device_import_job import ImportJob, ImportProgress, import_workflow_id
from workflows.device_import import DeviceImportWorkflow

router = APIRouter(tags=["imports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ImportId = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="the SHA-256 of the imported file")]


class ImportReport(BaseModel):
    """What the file would do (dry run), or why it was refused (422)."""

    import_id: str
    dry_run: bool
    cutover: date
    rows: int
    would_start: int
    unchanged: int
    errors: int
    warnings: int
    report: list[RowReport]


def _cutover(text: str) -> date:
    """`YYYY-MM` (the first billing period the old system did not invoice) or `YYYY-MM-DD`."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}", text):
            return date.fromisoformat(f"{text}-01")
        return date.fromisoformat(text)
    except ValueError:
        raise HTTPException(422, f"cutover: {text!r} is not a period (YYYY-MM) or a date (YYYY-MM-DD)") from None


async def _file(request: Request) -> tuple[bytes, str | None]:
    """The file: a multipart form's `file` field, or the request body as it is."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(422, "file: the form needs a `file` field with the CSV or XLSX file")
        return await upload.read(), upload.filename
    return await request.body(), None


def _report(import_id: str, dry_run: bool, cutover: date, validated: Validated) -> ImportReport:
    reports = validated.reports
    return ImportReport(
        import_id=import_id, dry_run=dry_run, cutover=cutover, rows=len(reports),
        would_start=sum(r.outcome == "start" for r in reports), unchanged=sum(r.outcome == "unchanged" for r in reports),
        errors=validated.errors, warnings=sum(bool(r.warnings) for r in reports), report=reports)


@router.get("/imports/devices/template.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "the template (UTF-8 with BOM, `;`)"}})
def template_as_csv() -> Response:
    """The import template: its columns and an example row, as Excel on Swedish Windows opens a CSV."""
    return Response(template_csv(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="enheter-mall.csv"'})


@router.get("/imports/devices/template.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "the template, with a sheet per column's meaning"}})
def template_as_xlsx() -> Response:
    """The import template as a workbook: sheet `enheter` (columns, example) and `kolumner` (what each means)."""
    return Response(template_xlsx(), media_type=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="enheter-mall.xlsx"'})


class ImportRefusal(ErrorDetail):
    """422: what is wrong; when rows have errors, the per-row report of the refused commit."""

    import_report: ImportReport | None = None


FILE_BODY = {"requestBody": {"required": True, "description": "the register: a CSV or XLSX file as the body (any "
                             "content type, e.g. text/csv), or the `file` field of a multipart form", "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                       "properties": {"file": {"type": "string", "format": "binary"}}}}}}}


@router.post("/imports/devices", response_model=ImportReport | ImportProgress, openapi_extra=FILE_BODY,
             responses={202: {"model": ImportProgress, "description": "committed; the import job goes on"},
                        422: {"model": ImportRefusal}})
async def import_devices(
    request: Request, actor: ActorDep, path: ProcessDep, settings: SettingsDep, response: Response,
    cutover: Annotated[str, Query(description="cut-over: the first period (YYYY-MM) or day the old system did not "
                                              "invoice; charges start at max(delivery, cut-over) (BL-6)")],
    dry_run: Annotated[bool, Query(description="validate and report only (the default); false: commit")] = True,
    skip_invalid: Annotated[bool, Query(description="commit the valid rows even if others have errors")] = False,
    source: Annotated[str | None, Query(max_length=200, description="the file's name for the audit log "
                                                                     "(default: the upload's name)")] = None,
) -> ImportReport | ImportProgress | JSONResponse:
    """Issue 22: import the existing device register. Dry run: per row what would happen or why not, nothing
    written. Commit: refused (422, the per-row report) while a row has an error unless `skip_invalid`; then
    each device starts mid-life in use since its delivery date (EQ-1, EQ-5, EQ-6), as a durable job: 200 once
    it is done within the update wait, else 202 (follow `Location`). The same file again changes nothing."""
    day = _cutover(cutover)
    content, filename = await _file(request)
    if not content:
        raise HTTPException(422, "file: empty request body; send the CSV or XLSX file")
    import_id, name = file_id(content), (source or filename or "upload")[:200]
    now = datetime.now(timezone.utc)

    def check(session: Session) -> tuple[Validated, dict[int, datetime]]:
        try:
            table = read_table(content)
        except ImportFileError as error:
            raise HTTPException(422, str(error)) from None
        validated = validate(table, reference(session, day), now.astimezone(LOCAL_TZ).date(), day,
                             settings.import_strict_people)
        slots = spread_renewals(validated.reports, now, settings.renewal_lead_days, settings.import_renewals_per_day)
        return validated, slots

    def commit(session: Session) -> Literal["new", "running", "done"]:
        earlier = session.get(DeviceImportRun, import_id)
        if earlier is not None:
            if earlier.cutover != day:
                raise HTTPException(409, f"cutover: this file was imported with cut-over {earlier.cutover} "
                                         f"(import {import_id})")
            return earlier.status  # the same file: nothing new to write
        validated, slots = check(session)
        if validated.errors and not skip_invalid:
            raise _Refused(_report(import_id, False, day, validated))
        try:
            store_import(session, import_id, name, actor, day, skip_invalid, validated, slots, now)
            session.commit()
        except IntegrityError:  # the same file committed at the same moment by another request: that one wins
            session.rollback()
            return "running"
        return "new"

    if dry_run:
        validated, _ = await path.db(check)
        return _report(import_id, True, day, validated)
    try:
        state = await path.db(commit)
    except _Refused as refused:
        return JSONResponse(status_code=422, content=ImportRefusal(
            detail=f"{refused.report.errors} row(s) have errors (rule EQ-1); nothing imported "
                   f"(skip_invalid=true imports the others)", import_report=refused.report).model_dump(mode="json"))
    if state != "done":
        job = ImportJob(import_id=import_id, renewal_lead_days=settings.renewal_lead_days,
                        buyout_answer_days=settings.buyout_answer_days)
        done, _ = await path.run_once(DeviceImportWorkflow.run, job, import_workflow_id(import_id),
                                      f"import {import_id}")
        if not done:  # a large register: the job goes on, durable
            response.status_code = status.HTTP_202_ACCEPTED
            response.headers["Location"] = f"{PREFIX}/imports/{import_id}"
    return await import_progress(import_id, path, limit=1000, offset=0)


class _Refused(Exception):
    def __init__(self, report: ImportReport) -> None:
        super().__init__("refused")
        self.report = report


@router.get("/imports/{import_id}", response_model=ImportProgress)
async def import_progress(import_id: ImportId, path: ProcessDep, limit: Limit = 1000,
                          offset: Offset = 0) -> ImportProgress:
    """Issue 22: the import job's progress: rows done (started or unchanged), failed, remaining, per row."""
    found = await path.db(progress, import_id, limit, offset)
    if found is None:
        raise HTTPException(404, f"import_id: no import {import_id}")
    return found
