"""What the inventory register and a query show of a device (rules EQ-6, EQ-7): the register row
after each transition, the cost-bearer changes billing reads, and the view a query answers."""
from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from domain.catalogue import Category
from domain.equipment import Buyout, DeviceOrder
from domain.process import TransitionRecord


class DevicePlacement(BaseModel):
    """Where a device is and who bears its cost, as the register row and the view both show it (EQ-6, EQ-7)."""

    unit_id: str
    cost_bearer_unit_id: str | None
    user_ref: str | None
    location: str | None
    serial_number: str | None
    delivered_at: datetime | None
    renewal_months: int | None


class _ViewHead(BaseModel):
    order_number: str
    workflow_id: str
    state: str
    category: Category | None
    model_code: str


# Pydantic orders a model's fields by its bases, last base first: the head, the placement, then the view's own
# fields, as the API has always answered them.
class DeviceView(DevicePlacement, _ViewHead):
    """What a Query answers: the current state, the live deadlines and the transition log."""

    renewal_due_at: datetime | None
    rental_end_at: datetime | None
    rental_weeks: int | None = None  # as ordered (EQ-4, EQ-14; issue 20)
    replaces: str | None
    replacement_order: str | None
    buyout: Buyout | None
    erasure_vendor: str | None
    erasure_certificate: str | None
    police_report_ref: str | None
    mdm_profile: str | None = None
    mdm_enrolled_at: datetime | None = None
    allowed_events: list[str]
    log: list[TransitionRecord]


class RegisterOrderInput(BaseModel):
    workflow_id: str
    order: DeviceOrder
    ordered_at: datetime


class _MirrorHead(BaseModel):
    order_number: str
    record: TransitionRecord


class RegisterMirror(DevicePlacement, _MirrorHead):
    """The register row after a transition, plus the transition itself (rule EQ-7: register kept current)."""

    replaced_by: str | None


class CostBearerChange(BaseModel):
    key: str
    order_number: str
    unit_id: str | None
    on: date
    delivery: bool = False
    rental_weeks: int | None = None
