"""Renewal of equipment (rule EQ-5): renewal periods that change for running devices, the
replacement's order number and model, and the states whose renewal timer a new period re-arms."""
from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, Field

from domain.catalogue import Category
from domain.equipment import ACTIVE_STATES, CALLED_OFF, DELIVERED, ORDERED
from domain.process import ProcessCommand

# rule EQ-5: ordered or running, not yet returned: a changed renewal period still applies
REARMABLE_STATES = (ORDERED, CALLED_OFF, DELIVERED, *ACTIVE_STATES)


class RenewalPeriodChange(ProcessCommand):
    renewal_months: int | None = Field(None, ge=1, le=120, description="None: no automatic renewal")


class RenewalPeriodUpdate(BaseModel):
    """A renewal period that changed (a policy or a framework version): running devices re-arm (EQ-5)."""

    category: Category
    municipality: str
    renewal_months: int | None = Field(None, ge=1, le=120)


class RearmRequest(BaseModel):
    """What `equipment.rearm_renewals` sends to running devices."""

    periods: list[RenewalPeriodUpdate]
    actor: str
    reason: str


def rearm_workflow_id(category: Category, municipality: str, renewal_months: int | None) -> str:
    """One re-arm per policy value (rule EQ-5): a repeated PUT joins the running one; a different value is
    another re-arm (no personal data in the id)."""
    return f"renewal-rearm-{category.value}-{municipality}-{renewal_months or 'none'}"


def renewal_order_number(order_number: str) -> str:
    """The replacement's order number: ORD-1 → ORD-1-R1 → ORD-1-R2 (rule EQ-5)."""
    match = re.fullmatch(r"(.*)-R(\d+)", order_number)
    if match:
        return f"{match.group(1)}-R{int(match.group(2)) + 1}"
    return f"{order_number}-R1"


class ReplacementDelivered(BaseModel):
    order_number: str


class ReplacementModelRequest(BaseModel):
    category: Category
    municipality: str
    on: date
    replaces_model: str | None = None  # rule EQ-5: keep its form factor
    chosen_model: str | None = None  # IT chose otherwise
