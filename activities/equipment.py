"""Side effects of the equipment lifecycle. Every activity is idempotent (key: workflow id + step);
business errors are non-retryable ApplicationErrors."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError

from activities.adapters import (
    NotCertified,
    RecordingErasureVendor,
    RecordingMdm,
    RecordingPayroll,
    RecordingProcurement,
)
from activities.audit_trail import mirror_into_register
from activities.effects import WithSessions, apply_once, refusals
from db.equipment_queries import InvalidOrder, price_for, resolve_terms
from db.models import CatalogueModelRow, Charge, Device, DeviceTransition
from domain.catalogue import (
    CatalogueModel,
    Category,
    OrderTerms,
    Price,
    delivery_charges,
    monthly_recurring,
    preferred_model,
    rules_of,
)
from domain.device_register import CostBearerChange, RegisterMirror, RegisterOrderInput
from domain.equipment import BuyoutCompletion, CallOffRequest, ErasureRequest, MdmRequest
from domain.renewals import ReplacementModelRequest
from workflows.equipment import (
    CALL_OFF,
    CHANGE_COST_BEARER,
    COMPLETE_BUYOUT,
    ENROL_MDM,
    MIRROR_DEVICE,
    ORDER_ERASURE,
    RECORD_ERASURE_CERTIFICATE,
    REGISTER_ORDER,
    REPLACEMENT_MODEL,
)


def _update_device(device: Device, mirror: RegisterMirror) -> None:
    device.state = mirror.record.to_state
    device.unit_id, device.cost_bearer_unit_id = mirror.unit_id, mirror.cost_bearer_unit_id
    device.user_ref, device.location = mirror.user_ref, mirror.location
    device.serial_number, device.delivered_at = mirror.serial_number, mirror.delivered_at
    device.renewal_months, device.replaced_by = mirror.renewal_months, mirror.replaced_by
    device.updated_at = mirror.record.at


NOT_CERTIFIED = {NotCertified: "NotCertified"}


class EquipmentActivities(WithSessions):
    """Holds the session factory and the adapters to procurement, MDM, payroll and erasure."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__(sessions)
        self.procurement = RecordingProcurement(sessions)
        self.mdm = RecordingMdm(sessions)
        self.payroll = RecordingPayroll(sessions)
        self.erasure = RecordingErasureVendor(sessions)

    @REGISTER_ORDER.defn
    def register_order(self, request: RegisterOrderInput) -> OrderTerms:
        """Rule EQ-1: every device in the register traces back to an order."""
        order = request.order
        with self.sessions.begin() as s:
            with refusals({InvalidOrder: "InvalidOrder"}):
                terms = resolve_terms(s, order, request.ordered_at)
            if s.get(Device, order.order_number) is None:
                s.add(Device(
                    order_number=order.order_number, workflow_id=request.workflow_id, model_code=order.model_code,
                    category=terms.category.value, agreement_ref=terms.agreement_ref,
                    municipality=terms.municipality, unit_id=order.unit_id, user_ref=order.user_ref,
                    location=order.location, state="ordered", ordered_at=request.ordered_at,
                    renewal_months=terms.renewal_months, replaces=order.replaces, updated_at=request.ordered_at,
                    rental_weeks=order.rental_weeks,
                ))
            return terms

    @CALL_OFF.defn
    def call_off(self, request: CallOffRequest) -> str:
        """Rule EQ-2: the purchase is a call-off under the model's procured agreement."""
        return self.procurement.call_off(request.order_number, request.agreement_ref, request.model_code, request.at)

    @MIRROR_DEVICE.defn
    def mirror_transition(self, mirror: RegisterMirror) -> None:
        """Keep the inventory register and its transition log in step with the workflow (rule EQ-7)."""
        mirror_into_register(self.sessions, Device, mirror.order_number, DeviceTransition, "order_number",
                             mirror.record, lambda device: _update_device(device, mirror))

    @CHANGE_COST_BEARER.defn
    def change_cost_bearer(self, change: CostBearerChange) -> None:
        """Rules EQ-4, EQ-6, EQ-8: close the open charge periods and open one for the new cost bearer."""
        with self.sessions.begin() as s:
            if not apply_once(s, change.key, datetime.now(timezone.utc)):
                return
            device = s.get(Device, change.order_number)
            assert device is not None
            open_periods = s.scalars(select(Charge).where(
                Charge.order_number == change.order_number, Charge.recurring.is_(True), Charge.ends_on.is_(None)))
            for period in open_periods:
                if period.unit_id != change.unit_id:
                    period.ends_on = change.on
            if change.unit_id is None:
                return
            category = Category(device.category)
            row = price_for(s, device.model_code, change.on.year)
            if row is None:
                raise ApplicationError(f"no price for {device.model_code} in {change.on.year}", non_retryable=True)
            price = Price.model_validate(row, from_attributes=True)
            already_open = s.scalar(select(Charge.id).where(
                Charge.order_number == change.order_number, Charge.recurring.is_(True), Charge.ends_on.is_(None),
                Charge.unit_id == change.unit_id))
            monthly = monthly_recurring(category, price)
            if monthly is not None and already_open is None:
                kind = "service_fee" if rules_of(category).charging.value == "purchase_and_service_fee" else "rent"
                s.add(Charge(order_number=change.order_number, unit_id=change.unit_id, kind=kind, amount=monthly,
                             recurring=True, starts_on=change.on))
            if change.delivery:
                # rule EQ-4 one-off charges; a phone's purchase, an accessory, a short-term rental, an installation
                for charge in delivery_charges(category, price, change.rental_weeks):
                    s.add(Charge(order_number=change.order_number, unit_id=change.unit_id, kind=charge.kind,
                                 amount=charge.amount, recurring=False, starts_on=change.on, ends_on=change.on))

    @ENROL_MDM.defn
    def enrol_mdm(self, request: MdmRequest) -> None:
        """Rule EQ-13: network and e-mail configuration through MDM at delivery."""
        self.mdm.enrol(request.order_number, request.serial_number, f"standard-{request.category.value}", request.at)

    @ORDER_ERASURE.defn
    def order_erasure(self, request: ErasureRequest) -> None:
        """Rule EQ-12: erasure is ordered from a certified vendor only."""
        with refusals(NOT_CERTIFIED):
            self.erasure.order(request.order_number, request.vendor, request.at)

    @RECORD_ERASURE_CERTIFICATE.defn
    def record_erasure_certificate(self, request: ErasureRequest) -> None:
        """Rule EQ-12: the certificate of a certified vendor is what lets a device leave."""
        with refusals(NOT_CERTIFIED):
            self.erasure.record_certificate(request.order_number, request.vendor, request.certificate_id or "",
                                            request.at)

    @COMPLETE_BUYOUT.defn
    def complete_buyout(self, request: BuyoutCompletion) -> None:
        """Rule EQ-11: reinstall the original OS only, then the net salary deduction."""
        with refusals(NOT_CERTIFIED):
            self.erasure.reinstall(request.order_number, request.original_os)
        self.payroll.deduct(request.order_number, request.employee_ref, request.amount, request.at)

    @REPLACEMENT_MODEL.defn
    def replacement_model(self, request: ReplacementModelRequest) -> str:
        """Rules EQ-2, EQ-5: the replacement is the category's preferred model with a price this year."""
        with self.sessions() as s:
            rows = s.scalars(select(CatalogueModelRow).where(
                CatalogueModelRow.category == request.category.value, CatalogueModelRow.active.is_(True)))
            candidates = [
                CatalogueModel.model_validate(row, from_attributes=True)
                for row in rows if price_for(s, row.code, request.on.year) is not None
            ]
            old = s.get(CatalogueModelRow, request.replaces_model) if request.replaces_model else None
        if request.chosen_model is not None:  # IT chose otherwise: any priced model of the category
            chosen = next((m for m in candidates if m.code == request.chosen_model), None)
            if chosen is None:
                raise ApplicationError(f"model_code: {request.chosen_model!r} is not an active {request.category.value} "
                                       f"model with a price (rules EQ-2, EQ-5)", type="NoModel", non_retryable=True)
            return chosen.code
        # rule EQ-5: a laptop stays a laptop, a desktop a desktop
        chosen = preferred_model(candidates, old.form_factor if old is not None else None)
        if chosen is None:
            raise ApplicationError(f"no active {request.category.value} model with a price", type="NoModel",
                                   non_retryable=True)
        return chosen.code

    def all(self) -> list:
        return [self.register_order, self.call_off, self.mirror_transition, self.change_cost_bearer, self.enrol_mdm,
                self.order_erasure, self.record_erasure_certificate, self.complete_buyout, self.replacement_model]
