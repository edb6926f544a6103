"""The device register's import (issue 22): one row per imported file (keyed by its SHA-256) and one per
row of the file, with what became of it. The import job (workflows/device_import.py) works through the
pending rows in order; the API's progress view reads these tables."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base, UTCDateTime


class DeviceImportRun(Base):
    __tablename__ = "device_imports"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the file: the same file is one import
    source: Mapped[str] = mapped_column(String(200))  # the file's name, in the audit log of each device
    actor: Mapped[str] = mapped_column(String(80))
    cutover: Mapped[date] = mapped_column(Date)  # rule BL-6: charges from here; the old system invoiced before
    skip_invalid: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20))  # running, done
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeviceImportRowRecord(Base):
    __tablename__ = "device_import_rows"
    import_id: Mapped[str] = mapped_column(ForeignKey("device_imports.id"), primary_key=True)
    row: Mapped[int] = mapped_column(Integer, primary_key=True)  # line in the file (the header is line 1)
    order_number: Mapped[str | None] = mapped_column(String(40), index=True)
    data: Mapped[dict] = mapped_column(JSON)  # the validated row (domain.device_import.ImportRow)
    # pending → started | unchanged | failed; skipped: invalid at commit (skip_invalid)
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    message: Mapped[str | None] = mapped_column(Text)
    renewal_not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)  # rule EQ-5: its slot in the wave
