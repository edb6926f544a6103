"""The equipment lifecycle (rules EQ-1 … EQ-14): states, moves, commands and the device snapshot."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field, model_validator

from domain.catalogue import Category, Charging, OrderTerms, add_months, rules_of
from domain.common import REF_PATTERN
from domain.process import GuardedProcess, Move, ProcessCommand, ProcessDefinition, TransitionRecord, action_of

ORDER_NUMBER_PATTERN = r"^[A-Z0-9][A-Z0-9-]{2,39}$"


def device_workflow_id(order_number: str) -> str:
    """Workflow ID from the business key, so a repeated order never starts a second workflow."""
    return f"device-{order_number}"


# --- states ---------------------------------------------------------------------------------
ORDERED, CALLED_OFF, DELIVERED, IN_USE = "ordered", "called_off", "delivered", "in_use"
NOTICE_GIVEN, RENEWAL_DUE, RETURNED = "notice_given", "renewal_due", "returned"
RETURNED_UNDER_NOTICE = "returned_under_notice"  # rule EQ-8: at IT, still charged to the old unit
BUYOUT_OFFERED, AVAILABLE_FOR_BUYOUT, BUYOUT_ACCEPTED = "buyout_offered", "available_for_buyout", "buyout_accepted"
AWAITING_ERASURE, ERASED = "awaiting_erasure", "erased"
SOLD_TO_EMPLOYEE, SOLD, RECYCLED, DISPOSED = "sold_to_employee", "sold", "recycled", "disposed"
STOLEN, DAMAGED, LOST, SETTLED, WRITTEN_OFF = "stolen", "damaged", "lost", "settled", "written_off"
CANCELLED = "cancelled"

ACTIVE_STATES = (IN_USE, NOTICE_GIVEN, RENEWAL_DUE)  # rule EQ-6: delivered and charged
# rule EQ-8: a device under notice returned to IT stays charged until reassignment or the term's end
CHARGED_STATES = (*ACTIVE_STATES, RETURNED_UNDER_NOTICE)
FINAL_STATES = frozenset({SOLD_TO_EMPLOYEE, SOLD, RECYCLED, DISPOSED, SETTLED, WRITTEN_OFF, CANCELLED})

EQUIPMENT = ProcessDefinition(
    name="equipment",
    states=(
        ORDERED, CALLED_OFF, DELIVERED, IN_USE, NOTICE_GIVEN, RENEWAL_DUE, RETURNED, RETURNED_UNDER_NOTICE,
        BUYOUT_OFFERED, AVAILABLE_FOR_BUYOUT, BUYOUT_ACCEPTED, AWAITING_ERASURE, ERASED,
        SOLD_TO_EMPLOYEE, SOLD, RECYCLED, DISPOSED, STOLEN, DAMAGED, LOST, SETTLED, WRITTEN_OFF, CANCELLED,
    ),
    initial=ORDERED,
    final=FINAL_STATES,
    moves=(
        Move("call_off", (ORDERED,), CALLED_OFF, "EQ-2", by_system=True),
        Move("cancel", (ORDERED, CALLED_OFF), CANCELLED, "EQ-1"),
        Move("deliver", (CALLED_OFF,), DELIVERED, "EQ-1"),
        Move("activate", (DELIVERED,), IN_USE, "EQ-6", by_system=True),
        Move("reassign", (IN_USE, NOTICE_GIVEN, RETURNED_UNDER_NOTICE), IN_USE, "EQ-7"),
        Move("give_notice", (IN_USE,), NOTICE_GIVEN, "EQ-8", conditions=("is_rented",)),
        Move("withdraw_notice", (NOTICE_GIVEN,), IN_USE, "EQ-8"),
        Move("end_rental", (NOTICE_GIVEN, IN_USE, RETURNED_UNDER_NOTICE), RETURNED, "EQ-8", by_system=True),
        Move("renewal_due", (IN_USE,), RENEWAL_DUE, "EQ-5", by_system=True),
        Move("renew_now", (IN_USE,), RENEWAL_DUE, "EQ-5", conditions=("is_rented",)),
        Move("replacement_delivered", ACTIVE_STATES, RETURNED, "EQ-5", by_system=True),
        Move("return_device", (IN_USE, RENEWAL_DUE), RETURNED, "EQ-10"),
        Move("return_device", (NOTICE_GIVEN,), RETURNED_UNDER_NOTICE, "EQ-8", conditions=("keeps_notice_charge",)),
        # histories from before the EQ-8 fix (workflow.patched "rule-fidelity-eq8-eq11-eq12") replay this move
        Move("return_device", (NOTICE_GIVEN,), RETURNED, "EQ-10", conditions=("before_rule_fidelity",)),
        Move("offer_buyout", (RETURNED, AVAILABLE_FOR_BUYOUT), BUYOUT_OFFERED, "EQ-11",
             conditions=("is_computer", "rental_ended", "buyer_may_buy")),
        Move("accept_buyout", (BUYOUT_OFFERED,), BUYOUT_ACCEPTED, "EQ-11"),
        Move("decline_buyout", (BUYOUT_OFFERED,), AVAILABLE_FOR_BUYOUT, "EQ-11"),
        Move("buyout_expired", (BUYOUT_OFFERED,), AVAILABLE_FOR_BUYOUT, "EQ-11", by_system=True),
        Move("send_to_erasure", (RETURNED, AVAILABLE_FOR_BUYOUT, BUYOUT_ACCEPTED), AWAITING_ERASURE, "EQ-12"),
        Move("record_erasure", (AWAITING_ERASURE,), ERASED, "EQ-12", conditions=("certificate_from_sent_vendor",)),
        Move("complete_buyout", (ERASED,), SOLD_TO_EMPLOYEE, "EQ-11", conditions=("has_buyer",), by_system=True),
        Move("sell", (ERASED,), SOLD, "EQ-12", conditions=("has_no_buyer",)),
        Move("recycle", (ERASED,), RECYCLED, "EQ-10", conditions=("has_no_buyer", "is_recyclable")),
        Move("dispose", (ERASED,), DISPOSED, "EQ-10", conditions=("has_no_buyer",)),
        Move("report_stolen", ACTIVE_STATES, STOLEN, "EQ-9"),
        Move("report_damaged", ACTIVE_STATES, DAMAGED, "EQ-9"),
        Move("report_lost", ACTIVE_STATES, LOST, "EQ-9"),
        Move("record_police_report", (STOLEN,), STOLEN, "EQ-9"),
        Move("record_police_report", (DAMAGED,), DAMAGED, "EQ-9"),
        Move("settle", (STOLEN, DAMAGED), SETTLED, "EQ-9", conditions=("has_police_report",)),
        Move("found", (LOST,), IN_USE, "EQ-7"),
        Move("write_off", (LOST,), WRITTEN_OFF, "EQ-9"),
    ),
)

# Why a condition refused an event: the API's 409 names the rule.
CONDITION_MESSAGES = {
    "is_rented": "rule EQ-8: notice can only be given on rented equipment",
    "is_computer": "rule EQ-11: only computers can be bought out",
    "rental_ended": ("rule EQ-11: only a computer whose rental has ended, at hardware replacement, can be bought "
                     "out; an early return is not a buyout case"),
    "certificate_from_sent_vendor": "rule EQ-12: the erasure certificate must come from the vendor the device was sent to",
    "keeps_notice_charge": "rule EQ-8",
    "before_rule_fidelity": "rule EQ-8",
    "buyer_may_buy": "rule EQ-11: a computer is first offered to its own user; others may buy it once declined",
    "has_buyer": "rule EQ-11: no accepted buyer",
    "has_no_buyer": "rule EQ-11: an employee has accepted the buyout; the device goes to them",
    "is_recyclable": "rule EQ-10: only smartphones and tablets go to environmental recycling",
    "has_police_report": "rule EQ-9: record the police-report reference before the settlement",
}


# --- order and commands ---------------------------------------------------------------------


class DeviceOrder(BaseModel):
    """An order placed through support (rule EQ-1)."""

    order_number: str = Field(pattern=ORDER_NUMBER_PATTERN, description="business key, e.g. ORD-2026-0042")
    model_code: str = Field(min_length=1, max_length=40)
    unit_id: str = Field(pattern=REF_PATTERN, description="ordering unit = cost bearer")
    user_ref: str | None = Field(None, pattern=REF_PATTERN, description="employee number of the user")
    location: str | None = Field(None, max_length=120)
    rental_weeks: int | None = Field(None, ge=1, le=52, description="short-term laptops only (EQ-4, EQ-14)")
    replaces: str | None = Field(None, pattern=ORDER_NUMBER_PATTERN, description="order number of the renewed device")


class _Event(BaseModel):
    pass


class Deliver(_Event):
    event: Literal["deliver"] = "deliver"
    serial_number: str = Field(min_length=1, max_length=80)


class Cancel(_Event):
    event: Literal["cancel"] = "cancel"


class Reassign(_Event):
    event: Literal["reassign"] = "reassign"
    unit_id: str | None = Field(None, pattern=REF_PATTERN)
    user_ref: str | None = Field(None, pattern=REF_PATTERN)
    location: str | None = Field(None, max_length=120)

    @model_validator(mode="after")
    def _something(self) -> "Reassign":
        if self.unit_id is None and self.user_ref is None and self.location is None:
            raise ValueError("unit_id, user_ref or location: rule EQ-7 needs at least one to change")
        return self


class GiveNotice(_Event):
    event: Literal["give_notice"] = "give_notice"


class WithdrawNotice(_Event):
    event: Literal["withdraw_notice"] = "withdraw_notice"


class RenewNow(_Event):
    """Renew before the timer (e.g. broken beyond repair): the replacement is ordered at once (EQ-5)."""

    event: Literal["renew_now"] = "renew_now"
    model_code: str | None = Field(None, min_length=1, max_length=40,
                                   description="IT's choice of replacement model; default: same category and form factor")


class ReturnDevice(_Event):
    event: Literal["return_device"] = "return_device"


class OfferBuyout(_Event):
    event: Literal["offer_buyout"] = "offer_buyout"
    price: Decimal = Field(gt=0, max_digits=10, decimal_places=2, description="market price set by IT (SEK)")
    buyer_ref: str | None = Field(None, pattern=REF_PATTERN, description="defaults to the device's own user")
    answer_days: int | None = Field(None, ge=1, le=90)


class AcceptBuyout(_Event):
    event: Literal["accept_buyout"] = "accept_buyout"


class DeclineBuyout(_Event):
    event: Literal["decline_buyout"] = "decline_buyout"


class SendToErasure(_Event):
    event: Literal["send_to_erasure"] = "send_to_erasure"
    vendor: str = Field(min_length=1, max_length=80, description="certified erasure vendor (EQ-12)")


class RecordErasure(_Event):
    event: Literal["record_erasure"] = "record_erasure"
    vendor: str = Field(min_length=1, max_length=80)
    certificate_id: str = Field(min_length=1, max_length=80)


class Sell(_Event):
    event: Literal["sell"] = "sell"
    buyer: str = Field(min_length=1, max_length=120, description="the reseller (an organisation)")
    price: Decimal = Field(ge=0, max_digits=10, decimal_places=2)


class Recycle(_Event):
    event: Literal["recycle"] = "recycle"


class Dispose(_Event):
    event: Literal["dispose"] = "dispose"


class ReportStolen(_Event):
    event: Literal["report_stolen"] = "report_stolen"


class ReportDamaged(_Event):
    event: Literal["report_damaged"] = "report_damaged"


class ReportLost(_Event):
    event: Literal["report_lost"] = "report_lost"


class RecordPoliceReport(_Event):
    event: Literal["record_police_report"] = "record_police_report"
    police_report_ref: str = Field(min_length=3, max_length=40)


class Settle(_Event):
    event: Literal["settle"] = "settle"
    settlement: str = Field(min_length=1, max_length=500)
    amount: Decimal | None = Field(None, ge=0, max_digits=10, decimal_places=2)


class Found(_Event):
    event: Literal["found"] = "found"


class WriteOff(_Event):
    event: Literal["write_off"] = "write_off"


DeviceAction = Annotated[
    Union[
        Deliver, Cancel, Reassign, GiveNotice, WithdrawNotice, RenewNow, ReturnDevice, OfferBuyout, AcceptBuyout,
        DeclineBuyout, SendToErasure, RecordErasure, Sell, Recycle, Dispose, ReportStolen, ReportDamaged,
        ReportLost, RecordPoliceReport, Settle, Found, WriteOff,
    ],
    Field(discriminator="event"),
]


class DeviceCommand(ProcessCommand):
    """A staff member's event on a device: who, why, and the event with its data."""

    action: DeviceAction


# --- the device snapshot --------------------------------------------------------------------


class Buyout(BaseModel):
    buyer_ref: str
    price: Decimal
    deadline: datetime
    accepted: bool = False


class DeviceSnapshot(BaseModel):
    """Everything the lifecycle workflow knows; carried across continue-as-new."""

    order: DeviceOrder
    terms: OrderTerms | None = None
    state: str = ORDERED
    unit_id: str
    user_ref: str | None = None
    location: str | None = None
    serial_number: str | None = None
    delivered_at: datetime | None = None
    renewal_months: int | None = None
    buyout: Buyout | None = None
    erasure_vendor: str | None = None
    erasure_certificate: str | None = None
    police_report_ref: str | None = None
    replacement_order: str | None = None
    replacement_model_choice: str | None = None  # IT chose the replacement's model (EQ-5)
    mdm_profile: str | None = None  # rule EQ-13: enrolled at delivery
    mdm_enrolled_at: datetime | None = None
    # an imported device past its renewal date waits for its slot in the spread wave (domain/device_import.py)
    renewal_not_before: datetime | None = None
    log: list[TransitionRecord] = Field(default_factory=list)

    def renewal_due_at(self, lead: timedelta) -> datetime | None:
        """Rule EQ-5: the replacement is ordered `lead` before the renewal date (an imported device already
        past it: not before its slot in the spread wave)."""
        end = self.rental_end_at()
        if end is None or self.terms is None or self.terms.category is Category.SHORT_TERM_LAPTOP:
            return None
        if self.renewal_not_before is not None:
            return max(end - lead, self.renewal_not_before)
        return end - lead

    def rental_end_at(self) -> datetime | None:
        """End of the rental term: delivery + renewal period (weeks for short-term laptops)."""
        if self.delivered_at is None or self.terms is None:
            return None
        if self.terms.category is Category.SHORT_TERM_LAPTOP:
            return self.delivered_at + timedelta(weeks=self.order.rental_weeks or 1)
        if self.renewal_months is None:
            return None
        due = add_months(self.delivered_at.date(), self.renewal_months)
        return datetime.combine(due, self.delivered_at.timetz())


class DeviceProcess(GuardedProcess):
    """The model the `transitions` machine drives: state plus the conditions of the moves.
    Conditions receive the DeviceCommand being asked about (None when listing allowed events)."""

    definition = EQUIPMENT
    condition_messages = CONDITION_MESSAGES
    snapshot: DeviceSnapshot
    # False only while replaying histories from before the EQ-8/EQ-11/EQ-12 fixes (workflow.patched)
    rule_fidelity: bool = True

    def _rules(self):
        assert self.snapshot.terms is not None, "terms are set when the order is registered"
        return rules_of(self.snapshot.terms.category)

    def is_rented(self, command: object = None) -> bool:
        return self._rules().charging in (Charging.RENT, Charging.PRICE_LIST, Charging.PER_WEEK)

    def is_computer(self, command: object = None) -> bool:
        return self._rules().computer

    def is_recyclable(self, command: object = None) -> bool:
        return self._rules().recyclable

    def buyer_may_buy(self, command: object = None) -> bool:
        buyer = getattr(action_of(command), "buyer_ref", None) or self.snapshot.user_ref
        if buyer is None:
            return False
        if self.state == RETURNED:  # rule EQ-11: first its own user
            return buyer == self.snapshot.user_ref
        return True

    def rental_ended(self, command: object = None) -> bool:
        """Rule EQ-11: bought out only at hardware replacement: the rental ended (replacement delivered,
        renewal due, or the term ran out), not an early return."""
        if not self.rule_fidelity or self.state != RETURNED:  # available_for_buyout: checked at the first offer
            return True
        for record in reversed(self.snapshot.log):
            if record.to_state == RETURNED and record.from_state != RETURNED:
                return record.event in ("replacement_delivered", "end_rental") or record.from_state == RENEWAL_DUE
        return False

    def certificate_from_sent_vendor(self, command: object = None) -> bool:
        """Rule EQ-12: the certificate comes from the vendor the device was sent to."""
        action = action_of(command)
        return not self.rule_fidelity or action is None or action.vendor == self.snapshot.erasure_vendor

    def keeps_notice_charge(self, command: object = None) -> bool:
        return self.rule_fidelity

    def before_rule_fidelity(self, command: object = None) -> bool:
        return not self.rule_fidelity

    def has_buyer(self, command: object = None) -> bool:
        return self.snapshot.buyout is not None and self.snapshot.buyout.accepted

    def has_no_buyer(self, command: object = None) -> bool:
        return not self.has_buyer()

    def has_police_report(self, command: object = None) -> bool:
        return self.snapshot.police_report_ref is not None

    def record_data(self, trigger: str, command: object, now: datetime, context: dict) -> dict[str, str]:
        """Record the event's data on the snapshot; returns the details for the log."""
        snap, action = self.snapshot, action_of(command)
        details: dict[str, str] = {}
        match action:
            case Deliver():
                snap.serial_number, snap.delivered_at = action.serial_number, now
                details["serial_number"] = action.serial_number
            case RenewNow():
                snap.replacement_model_choice = action.model_code
                if action.model_code:
                    details["model_code"] = action.model_code
            case Reassign():
                for name in ("unit_id", "user_ref", "location"):
                    value = getattr(action, name)
                    if value is not None:
                        details[name] = f"{getattr(snap, name)} -> {value}"
                        setattr(snap, name, value)
            case OfferBuyout():
                buyer = action.buyer_ref or snap.user_ref or ""
                days = action.answer_days or context["buyout_answer_days"]
                snap.buyout = Buyout(buyer_ref=buyer, price=action.price, deadline=now + timedelta(days=days))
                details.update(buyer_ref=buyer, price=str(action.price), deadline=snap.buyout.deadline.isoformat())
            case AcceptBuyout():
                assert snap.buyout is not None
                snap.buyout.accepted = True
            case SendToErasure():
                snap.erasure_vendor = action.vendor
                details["vendor"] = action.vendor
            case RecordErasure():
                snap.erasure_vendor, snap.erasure_certificate = action.vendor, action.certificate_id
                details.update(vendor=action.vendor, certificate_id=action.certificate_id)
            case RecordPoliceReport():
                snap.police_report_ref = action.police_report_ref
                details["police_report_ref"] = action.police_report_ref
            case Settle():
                details["settlement"] = action.settlement
                if action.amount is not None:
                    details["amount"] = str(action.amount)
            case Sell():
                details.update(buyer=action.buyer, price=str(action.price))
        if trigger in ("decline_buyout", "buyout_expired"):
            snap.buyout = None
        return details

    def cost_bearer(self) -> str | None:
        """Rule EQ-6: only active (delivered) equipment is charged; rule EQ-8: notice does not stop it, nor
        a return to IT under notice (until reassignment or the end of the rental term)."""
        return self.snapshot.unit_id if self.state in CHARGED_STATES else None


# --- workflow input, view and activity contracts ----------------------------------------------


class ImportedDevice(BaseModel):
    """A device delivered before Ramflow (issue 22): it starts mid-life, in use since its delivery date."""

    serial_number: str = Field(min_length=1, max_length=80)
    delivered_at: datetime
    charges_from: date = Field(description="max(delivery, cut-over): the old system invoiced the periods before")
    source: str = Field(max_length=200, description="the imported file's name, for the audit log")
    import_id: str
    renewal_not_before: datetime | None = None  # rule EQ-5: its slot when the renewal wave is spread


class DeviceStart(BaseModel):
    """Workflow input: a new order, an imported device, or the snapshot carried across continue-as-new."""

    order: DeviceOrder
    snapshot: DeviceSnapshot | None = None
    renewal_lead_days: int = 30
    buyout_answer_days: int = 14
    ordered_by: str = "support"
    imported: ImportedDevice | None = None


class CallOffRequest(BaseModel):
    order_number: str
    agreement_ref: str
    model_code: str
    at: datetime


class MdmRequest(BaseModel):
    order_number: str
    serial_number: str
    category: Category
    at: datetime


class ErasureRequest(BaseModel):
    order_number: str
    vendor: str
    at: datetime
    certificate_id: str | None = None


class BuyoutCompletion(BaseModel):
    order_number: str
    employee_ref: str
    amount: Decimal
    original_os: str
    at: datetime
