"""Files handed to the municipalities' other systems (issue 25) and their receipts: one row per file, with the
bytes (downloadable from the API), its SHA-256, who made it, and where and when it was delivered."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base, UTCDateTime


class FileDelivery(Base):
    """A file for a receiving system (economy, payroll, ordering) and its delivery receipt. The name is unique
    per system: delivering it again is the same file (same checksum) or a conflict."""

    __tablename__ = "file_deliveries"
    __table_args__ = (UniqueConstraint("system", "file_name", name="uq_file_deliveries_system_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    system: Mapped[str] = mapped_column(String(20), index=True)  # economy / payroll / ordering
    kind: Mapped[str] = mapped_column(String(20))  # sie / paxml / order
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    media_type: Mapped[str] = mapped_column(String(80))
    municipality: Mapped[str | None] = mapped_column(String(20), index=True)
    period: Mapped[str | None] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # --- the receipt, written by the delivery activity ---
    state: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending / delivered / failed
    destination: Mapped[str | None] = mapped_column(String(300))  # where it went (no credentials)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
