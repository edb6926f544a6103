"""The import job's contracts (issue 22): what workflows/device_import.py passes to its activity and returns,
and what the API shows of an import's progress."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel


def import_workflow_id(import_id: str) -> str:
    """One job per file (its SHA-256): the same file again joins or finds the same job."""
    return f"device-import-{import_id}"


class ImportJob(BaseModel):
    import_id: str
    renewal_lead_days: int = 30
    buyout_answer_days: int = 14


class ImportSummary(BaseModel):
    import_id: str
    started: int
    unchanged: int
    failed: int
    skipped: int


class ImportRowResult(BaseModel):
    row: int
    order_number: str | None
    outcome: Literal["pending", "started", "unchanged", "failed", "skipped"]
    message: str | None = None
    renewal_not_before: datetime | None = None


class ImportProgress(BaseModel):
    """GET /imports/{id}: how far the job has come, per row."""

    id: str
    workflow_id: str
    source: str
    actor: str
    cutover: date
    status: Literal["running", "done"]
    created_at: datetime
    finished_at: datetime | None
    rows: int
    done: int  # started or unchanged
    failed: int  # failed, or skipped as invalid at commit
    remaining: int
    results: list[ImportRowResult]
