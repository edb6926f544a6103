"""Adapters to the external systems. The default implementations record to Ramflow's database,
so the whole flow runs on one machine; production swaps in real clients with the same methods.
Each call is idempotent per order: a retried call returns what the first one did."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from activities.effects import WithSessions
from db.models import CallOff, ErasureRecord, ErasureVendor, MdmEnrolment, SalaryDeduction


class NotCertified(Exception):
    """Rule EQ-12: the vendor is not a certified erasure vendor."""


class RecordingProcurement(WithSessions):
    """Procurement system: places the avrop under the procured agreement (rule EQ-2)."""

    def call_off(self, order_number: str, agreement_ref: str, model_code: str, at: datetime) -> str:
        with self.sessions.begin() as s:
            existing = s.get(CallOff, order_number)
            if existing:
                return existing.reference
            reference = f"AVROP-{agreement_ref}-{order_number}"
            s.add(CallOff(order_number=order_number, agreement_ref=agreement_ref, model_code=model_code,
                          reference=reference, at=at))
            return reference


class RecordingMdm(WithSessions):
    """Mobile device management (rule EQ-13)."""

    def enrol(self, order_number: str, serial_number: str, profile: str, at: datetime) -> None:
        with self.sessions.begin() as s:
            if s.get(MdmEnrolment, order_number) is None:
                s.add(MdmEnrolment(order_number=order_number, serial_number=serial_number, profile=profile, at=at))


class RecordingPayroll(WithSessions):
    """Payroll: net salary deduction for a buyout (rule EQ-11)."""

    def deduct(self, order_number: str, employee_ref: str, amount: Decimal, at: datetime) -> None:
        with self.sessions.begin() as s:
            if s.get(SalaryDeduction, order_number) is None:
                s.add(SalaryDeduction(order_number=order_number, employee_ref=employee_ref, amount=amount, at=at))


class RecordingErasureVendor(WithSessions):
    """The certified erasure vendor's order portal (rule EQ-12) and the reinstall service (EQ-11)."""

    def _certified(self, s: Session, vendor: str) -> ErasureVendor:
        row = s.get(ErasureVendor, vendor)
        if row is None or not row.certified:
            raise NotCertified(f"vendor: {vendor!r} is not a certified erasure vendor (rule EQ-12)")
        return row

    def order(self, order_number: str, vendor: str, at: datetime) -> None:
        with self.sessions.begin() as s:
            self._certified(s, vendor)
            record = s.get(ErasureRecord, order_number)
            if record is None:
                s.add(ErasureRecord(order_number=order_number, vendor=vendor, ordered_at=at))
            elif record.certificate_id is None:
                record.vendor = vendor

    def record_certificate(self, order_number: str, vendor: str, certificate_id: str, at: datetime) -> None:
        with self.sessions.begin() as s:
            self._certified(s, vendor)
            record = s.get(ErasureRecord, order_number)
            if record is None:
                record = ErasureRecord(order_number=order_number, vendor=vendor, ordered_at=at)
                s.add(record)
            record.vendor, record.certificate_id, record.certified_at = vendor, certificate_id, at

    def reinstall(self, order_number: str, os_name: str) -> None:
        with self.sessions.begin() as s:
            record = s.get(ErasureRecord, order_number)
            if record is None or record.certificate_id is None:
                raise NotCertified(f"order {order_number}: no erasure certificate before reinstall (rule EQ-12)")
            record.reinstalled_os = os_name
