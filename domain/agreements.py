"""Application agreements, their cost model and yearly revision; new services and cloud moves
(rules AG-1 … AG-8). Pure and deterministic: the workflows and the API share it."""
from __future__ import annotations

import zoneinfo
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, model_validator

from domain.process import GuardedProcess, Move, ProcessDefinition, TransitionRecord, action_of
from domain.support_calendar import LOCAL_TIMEZONE

# Built at import (outside the workflow sandbox, which refuses to construct a ZoneInfo).
LOCAL_TZ = zoneinfo.ZoneInfo(LOCAL_TIMEZONE)
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,39}$"
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
SERVICE_CODE_PATTERN = r"^svc-[a-z0-9][a-z0-9-]{1,35}$"
CENT = Decimal("0.01")
SYSTEM_ACTOR = "ramflow"


def start_of_year(year: int) -> datetime:
    """1 January 00:00 local time: when a price list and an agreement version take effect (AG-4, AG-5)."""
    return datetime(year, 1, 1, tzinfo=LOCAL_TZ)


def local_year(at: datetime) -> int:
    return at.astimezone(LOCAL_TZ).year


class ProcessMirror(BaseModel):
    """A process's row in the database after a transition, and the transition itself."""

    workflow_id: str
    process: str
    subject: str
    state: str
    record: TransitionRecord
    data: dict[str, Any]


# --- cost model (AG-2, AG-3, AG-5) ----------------------------------------------------------
class CostComponent(str, Enum):
    """The breakdown every agreement's operating cost follows (rule AG-2)."""

    SERVER = "server"
    DATABASE = "database"
    INTEGRATIONS = "integrations"
    STORAGE = "storage"
    COMMUNICATION = "communication"
    BACKUP = "backup"
    SUPPORT = "support"  # staff
    SUPPORT_TOOLS = "support_tools"


class PriceItem(BaseModel):
    """One unit price of one year's price list (rule AG-5): a standard component, or a service
    that tjänstefieringsgruppen priced (AG-7), classified under a component. Annual SEK per unit."""

    item: str = Field(description="the component's name, or a service code svc-…")
    component: CostComponent
    unit: str = Field(min_length=1, max_length=40)
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    year: int = Field(ge=2000, le=2100, description="the price list year this price was set in")
    description: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _item_matches(self) -> "PriceItem":
        if not self.item.startswith("svc-") and self.item != self.component.value:
            raise ValueError(f"item: {self.item!r} must be the component's name or a service code svc-…")
        return self


class PriceList(BaseModel):
    """The prices in force in `year`: per item, that year's price or the latest earlier one until
    the new list is decided (rule AG-5, as the equipment price list)."""

    year: int
    items: dict[str, PriceItem]

    @property
    def provisional(self) -> bool:
        return any(p.year < self.year for p in self.items.values())


class CostLine(BaseModel):
    """A cost component with its quantity; `service_code` prices it as a defined service (AG-7)."""

    component: CostComponent
    quantity: Decimal = Field(ge=0, max_digits=12, decimal_places=3)
    service_code: str | None = Field(None, pattern=SERVICE_CODE_PATTERN)
    note: str | None = Field(None, max_length=200)

    @property
    def item(self) -> str:
        return self.service_code or self.component.value


class CostedLine(BaseModel):
    item: str
    component: CostComponent
    quantity: Decimal
    unit: str
    unit_price: Decimal
    price_year: int
    amount: Decimal


class CostBreakdown(BaseModel):
    """Rule AG-3: cost = Σ quantity × that year's unit price, per component (SEK per year)."""

    year: int
    lines: list[CostedLine]
    per_component: dict[CostComponent, Decimal]
    total: Decimal
    provisional: bool = Field(description="some price is carried from an earlier year (AG-5)")


class MissingPrice(ValueError):
    """A cost line the price list has no unit price for (rule AG-3)."""


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def compute_cost(lines: list[CostLine], prices: PriceList) -> CostBreakdown:
    """Rule AG-3: each line's amount is quantity × unit price rounded to öre; the total is their sum."""
    costed: list[CostedLine] = []
    per_component = {component: Decimal("0.00") for component in CostComponent}
    for line in lines:
        price = prices.items.get(line.item)
        if price is None:
            raise MissingPrice(f"cost_lines: no unit price for {line.item!r} in the price list of {prices.year} "
                               f"(rule AG-3)")
        if price.component != line.component:
            raise MissingPrice(f"cost_lines: {line.item!r} is priced as {price.component.value}, "
                               f"not {line.component.value} (rule AG-2)")
        amount = money(line.quantity * price.unit_price)
        costed.append(CostedLine(item=line.item, component=line.component, quantity=line.quantity, unit=price.unit,
                                 unit_price=price.unit_price, price_year=price.year, amount=amount))
        per_component[line.component] += amount
    return CostBreakdown(year=prices.year, lines=costed, per_component=per_component,
                         total=sum((c.amount for c in costed), Decimal("0.00")),
                         provisional=any(c.price_year < prices.year for c in costed))


# --- the agreement itself (AG-1, AG-2) --------------------------------------------------------
class ApplicationKind(str, Enum):
    APPLICATION = "application"
    SMALL_APPLICATION = "small_application"
    INTEGRATION = "integration"
    CLOUD_SERVICE = "cloud_service"


class Variant(str, Enum):
    FULL = "full"  # rule AG-2: the full agreement
    LIGHT = "light"  # rule AG-1: a cost description only


LIGHT_ALLOWED = frozenset({ApplicationKind.SMALL_APPLICATION, ApplicationKind.INTEGRATION,
                           ApplicationKind.CLOUD_SERVICE})


class SketchComponent(BaseModel):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
    label: str = Field(min_length=1, max_length=80)
    kind: Literal["client", "server", "database", "integration", "storage", "external", "service"] = "server"


class SketchRelation(BaseModel):
    source: str
    target: str
    label: str | None = Field(None, max_length=80)


SHAPES = {"database": ('[("', '")]'), "storage": ('[("', '")]'), "external": ('{{"', '"}}'),
          "client": ('(["', '"])'), "integration": ('[/"', '"/]')}


class SystemSketch(BaseModel):
    """Rule AG-2: the application's components and how they relate, kept as data."""

    components: list[SketchComponent] = Field(min_length=1)
    relations: list[SketchRelation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> "SystemSketch":
        ids = [c.id for c in self.components]
        if len(ids) != len(set(ids)):
            raise ValueError("sketch.components: ids must be unique")
        unknown = sorted({n for r in self.relations for n in (r.source, r.target)} - set(ids))
        if unknown:
            raise ValueError(f"sketch.relations: unknown components {unknown}")
        return self

    def mermaid(self) -> str:
        """The sketch as a Mermaid flowchart."""
        lines = ["flowchart LR"]
        for c in self.components:
            left, right = SHAPES.get(c.kind, ('["', '"]'))
            lines.append(f"    {c.id}{left}{c.label.replace(chr(34), chr(39))}{right}")
        for r in self.relations:
            arrow = f"-->|{r.label.replace('|', '/')}|" if r.label else "-->"
            lines.append(f"    {r.source} {arrow} {r.target}")
        return "\n".join(lines)


class AgreementContent(BaseModel):
    """What an application agreement holds (rules AG-1, AG-2)."""

    agreement_id: str = Field(pattern=KEY_PATTERN, description="business key, e.g. APP-TRESERVA")
    application: str = Field(min_length=1, max_length=200)
    application_kind: ApplicationKind = ApplicationKind.APPLICATION
    variant: Variant = Variant.FULL
    description: str | None = Field(None, max_length=4000)
    unit_id: str = Field(pattern=REF_PATTERN, description="the unit that owns and pays (kostnadsbärare)")
    system_owner_ref: str = Field(pattern=REF_PATTERN, description="the system owner's employee number")
    cost_lines: list[CostLine] = Field(min_length=1)
    it_responsibilities: list[str] = Field(default_factory=list, description="technical system management")
    unit_responsibilities: list[str] = Field(default_factory=list, description="system management")
    sketch: SystemSketch | None = None

    @model_validator(mode="after")
    def _complete(self) -> "AgreementContent":
        if self.variant is Variant.LIGHT and self.application_kind not in LIGHT_ALLOWED:
            raise ValueError("variant: rule AG-1 allows a cost description only for small applications, "
                             "integrations and cloud services")
        if self.variant is Variant.FULL:
            missing = [name for name in ("description", "it_responsibilities", "unit_responsibilities", "sketch")
                       if not getattr(self, name)]
            if missing:
                raise ValueError(f"{', '.join(missing)}: rule AG-2 requires these in a full agreement")
        items = [line.item for line in self.cost_lines]
        if len(items) != len(set(items)):
            raise ValueError("cost_lines: one line per component or service (rule AG-2)")
        return self


class AgreementPatch(BaseModel):
    """Changes agreed at the revision meeting or asked for by a rejection (rule AG-4)."""

    application: str | None = Field(None, min_length=1, max_length=200)
    variant: Variant | None = None
    description: str | None = Field(None, max_length=4000)
    system_owner_ref: str | None = Field(None, pattern=REF_PATTERN)
    cost_lines: list[CostLine] | None = Field(None, min_length=1)
    it_responsibilities: list[str] | None = None
    unit_responsibilities: list[str] | None = None
    sketch: SystemSketch | None = None

    def applied_to(self, content: AgreementContent) -> AgreementContent:
        changes = self.model_dump(exclude_unset=True, exclude_none=True)
        return AgreementContent.model_validate(content.model_dump() | changes)

    def changed_fields(self) -> list[str]:
        return sorted(self.model_dump(exclude_unset=True, exclude_none=True))


class AgreementVersion(BaseModel):
    """One kept version of an agreement: what was approved, from when, at which cost (rule AG-4)."""

    agreement_id: str
    version: int
    for_year: int
    effective_from: date
    content: AgreementContent
    cost: CostBreakdown
    approved_by: dict[str, str] = Field(default_factory=dict)
    workflow_id: str | None = None
    created_at: datetime | None = None


class FieldChange(BaseModel):
    field: str
    before: Any
    after: Any


class LineChange(BaseModel):
    item: str
    component: CostComponent
    change: Literal["added", "removed", "changed", "unchanged"]
    quantity_before: Decimal | None
    quantity_after: Decimal | None
    unit_price_before: Decimal | None
    unit_price_after: Decimal | None
    amount_before: Decimal | None
    amount_after: Decimal | None
    amount_delta: Decimal


class VersionDiff(BaseModel):
    """What changed between two versions: content, quantities, prices and cost."""

    agreement_id: str
    base_version: int
    other_version: int
    base_price_year: int
    other_price_year: int
    fields: list[FieldChange]
    lines: list[LineChange]
    total_before: Decimal
    total_after: Decimal
    total_delta: Decimal


def compare_versions(base: AgreementVersion, other: AgreementVersion) -> VersionDiff:
    fields = []
    for name in ("application", "application_kind", "variant", "description", "unit_id", "system_owner_ref",
                 "it_responsibilities", "unit_responsibilities", "sketch"):
        before, after = getattr(base.content, name), getattr(other.content, name)
        if before != after:
            dump = lambda v: v.model_dump(mode="json") if isinstance(v, BaseModel) else v  # noqa: E731
            fields.append(FieldChange(field=name, before=dump(before), after=dump(after)))
    old = {line.item: line for line in base.cost.lines}
    new = {line.item: line for line in other.cost.lines}
    lines = []
    for item in list(old) + [i for i in new if i not in old]:
        a, b = old.get(item), new.get(item)
        change = "added" if a is None else "removed" if b is None else (
            "unchanged" if (a.quantity, a.unit_price, a.amount) == (b.quantity, b.unit_price, b.amount) else "changed")
        lines.append(LineChange(
            item=item, component=(a or b).component, change=change,
            quantity_before=a.quantity if a else None, quantity_after=b.quantity if b else None,
            unit_price_before=a.unit_price if a else None, unit_price_after=b.unit_price if b else None,
            amount_before=a.amount if a else None, amount_after=b.amount if b else None,
            amount_delta=(b.amount if b else Decimal("0.00")) - (a.amount if a else Decimal("0.00")),
        ))
    return VersionDiff(agreement_id=base.agreement_id, base_version=base.version, other_version=other.version,
                       base_price_year=base.cost.year, other_price_year=other.cost.year, fields=fields, lines=lines,
                       total_before=base.cost.total, total_after=other.cost.total,
                       total_delta=other.cost.total - base.cost.total)


# --- charging (AG-6) ------------------------------------------------------------------------
def version_charged(year: int, versions: list[AgreementVersion], terminated_on: date | None) -> AgreementVersion | None:
    """The version a unit pays for in `year`, or None. Rule AG-6: a new application is charged from
    the coming year (its first version takes effect on 1 January after it is drawn up); a
    terminated one is not charged from the year after its termination."""
    if terminated_on is not None and year > terminated_on.year:
        return None
    in_force = [v for v in versions if v.effective_from <= date(year, 1, 1)]
    return max(in_force, key=lambda v: (v.effective_from, v.version)) if in_force else None


class ApplicationCharge(BaseModel):
    agreement_id: str
    application: str
    version: int
    cost: CostBreakdown
    provisional: bool = Field(False, description="rule AG-6: approved, in force from the coming 1 January")


class UnitApplicationCharges(BaseModel):
    """What unit U pays for applications in year Y (rules AG-3, AG-6), for the billing work."""

    unit_id: str
    year: int
    charges: list[ApplicationCharge]
    total: Decimal
    provisional: bool


def unit_charges(unit_id: str, year: int, agreements: list[tuple[list[AgreementVersion], date | None]],
                 prices: PriceList, provisional: set[tuple[str, int]] | frozenset = frozenset()) -> UnitApplicationCharges:
    """Each charged agreement's quantities in force on 1 January, priced with that year's list (AG-3)."""
    charges = []
    for versions, terminated_on in agreements:
        version = version_charged(year, versions, terminated_on)
        if version is None or version.content.unit_id != unit_id:
            continue
        charges.append(ApplicationCharge(agreement_id=version.agreement_id, application=version.content.application,
                                         version=version.version, cost=compute_cost(version.content.cost_lines, prices),
                                         provisional=(version.agreement_id, version.version) in provisional))
    charges.sort(key=lambda c: c.agreement_id)
    return UnitApplicationCharges(unit_id=unit_id, year=year, charges=charges,
                                  total=sum((c.cost.total for c in charges), Decimal("0.00")),
                                  provisional=any(c.cost.provisional or c.provisional for c in charges))


# --- the agreement process: drawing up (AG-1) and the yearly revision (AG-4) ----------------
STARTED, CONVENED, PROPOSED, CHANGES_REQUESTED, APPROVED = "started", "convened", "proposed", "changes_requested", "approved"
EFFECTIVE, CANCELLED = "effective", "cancelled"
PARTIES = ("it", "system_owner")

AGREEMENT = ProcessDefinition(
    name="agreement",
    states=(STARTED, CONVENED, PROPOSED, CHANGES_REQUESTED, APPROVED, EFFECTIVE, CANCELLED),
    initial=STARTED,
    final=frozenset({EFFECTIVE, CANCELLED}),
    moves=(
        Move("draw_up", (STARTED,), PROPOSED, "AG-1", by_system=True),
        Move("convene", (STARTED,), CONVENED, "AG-4", by_system=True),
        Move("remind", (CONVENED,), CONVENED, "AG-4", by_system=True),
        Move("record_meeting", (CONVENED,), PROPOSED, "AG-4"),
        Move("approve", (PROPOSED,), APPROVED, "AG-4", conditions=("party_may_approve", "completes_approval")),
        Move("approve", (PROPOSED,), PROPOSED, "AG-4", conditions=("party_may_approve", "leaves_approval_pending")),
        Move("reject", (PROPOSED,), CHANGES_REQUESTED, "AG-4", conditions=("party_may_approve",)),
        Move("revise", (PROPOSED, CHANGES_REQUESTED), PROPOSED, "AG-3"),
        Move("take_effect", (APPROVED,), EFFECTIVE, "AG-6", by_system=True),
        Move("cancel", (STARTED, CONVENED, PROPOSED, CHANGES_REQUESTED, APPROVED), CANCELLED, "AG-4"),
    ),
)


def agreement_workflow_id(agreement_id: str, purpose: str = "new", for_year: int | None = None) -> str:
    """One drawing-up per agreement; one revision per agreement and year (idempotent fan-out)."""
    return f"agreement-{agreement_id}" if purpose == "new" else f"agreement-{agreement_id}-revision-{for_year}"


class Approval(BaseModel):
    party: Literal["it", "system_owner"]
    actor: str
    at: datetime


class Meeting(BaseModel):
    held_on: date
    participants: list[str] = Field(min_length=1)
    minutes_ref: str | None = Field(None, max_length=80)
    notes: str | None = Field(None, max_length=2000)


class RecordMeeting(BaseModel):
    event: Literal["record_meeting"] = "record_meeting"
    held_on: date
    participants: list[str] = Field(min_length=1, description="IT and the system owner at least")
    minutes_ref: str | None = Field(None, max_length=80)
    notes: str | None = Field(None, max_length=2000)
    changes: AgreementPatch | None = None


class Approve(BaseModel):
    event: Literal["approve"] = "approve"
    party: Literal["it", "system_owner"]


class Reject(BaseModel):
    event: Literal["reject"] = "reject"
    party: Literal["it", "system_owner"]
    reason: str = Field(min_length=3, max_length=500, description="why: recorded, the proposal loops back")


class Revise(BaseModel):
    event: Literal["revise"] = "revise"
    changes: AgreementPatch


class Cancel(BaseModel):
    event: Literal["cancel"] = "cancel"
    reason: str = Field(min_length=3, max_length=500)


AgreementAction = Annotated[Union[RecordMeeting, Approve, Reject, Revise, Cancel], Field(discriminator="event")]


class AgreementCommand(BaseModel):
    actor: str = Field(min_length=1, max_length=80)
    reason: str | None = Field(None, max_length=500)
    action: AgreementAction


class AgreementProcessSnapshot(BaseModel):
    agreement_id: str
    purpose: Literal["new", "revision"]
    for_year: int | None = None
    state: str = STARTED
    content: AgreementContent | None = None
    base_version: int | None = None
    proposal: CostBreakdown | None = None
    approvals: list[Approval] = Field(default_factory=list)
    meeting: Meeting | None = None
    convened_at: datetime | None = None
    reminders_sent: int = 0
    last_rejection: str | None = None
    effective_version: int | None = None
    log: list[TransitionRecord] = Field(default_factory=list)

    def next_reminder_at(self, weeks: int) -> datetime | None:
        """Rule AG-4: every `weeks` weeks without a recorded meeting, IT and the owner are reminded."""
        from datetime import timedelta

        if self.state != CONVENED or self.convened_at is None:
            return None
        return self.convened_at + timedelta(weeks=weeks * (self.reminders_sent + 1))

    def takes_effect_at(self) -> datetime | None:
        return start_of_year(self.for_year) if self.state == APPROVED and self.for_year else None


AGREEMENT_MESSAGES = {
    "party_may_approve": "rule AG-4: that party has already approved, or the actor is not the agreement's "
                         "system owner",
    "completes_approval": "rule AG-4: both IT and the system owner approve",
    "leaves_approval_pending": "rule AG-4: both IT and the system owner approve",
}


class AgreementProcess(GuardedProcess):
    definition = AGREEMENT
    condition_messages = AGREEMENT_MESSAGES

    def _approved_parties(self) -> set[str]:
        return {a.party for a in self.snapshot.approvals}

    def party_may_approve(self, command: Any = None) -> bool:
        action = action_of(command)
        if action is None:
            return len(self._approved_parties()) < len(PARTIES)
        if action.party in self._approved_parties() and action.event == "approve":
            return False
        content = self.snapshot.content
        # rule AG-4: the system owner approves for the unit, in person
        return action.party != "system_owner" or (content is not None and command.actor == content.system_owner_ref)

    def completes_approval(self, command: Any = None) -> bool:
        action = action_of(command)
        return action is not None and self._approved_parties() | {action.party} == set(PARTIES)

    def leaves_approval_pending(self, command: Any = None) -> bool:
        return not self.completes_approval(command)

    def record_data(self, trigger: str, command: Any, now: datetime, context: dict[str, Any]) -> dict[str, str]:
        snap, action, details = self.snapshot, action_of(command), {}
        if "content" in context:
            snap.content = context["content"]
        if "proposal" in context:
            snap.proposal = context["proposal"]
            snap.approvals = []  # rule AG-4: a changed proposal is approved anew by both
            details.update(cost_year=str(snap.proposal.year), total=str(snap.proposal.total))
        match action:
            case RecordMeeting():
                snap.meeting = Meeting(held_on=action.held_on, participants=action.participants,
                                       minutes_ref=action.minutes_ref, notes=action.notes)
                details.update(held_on=action.held_on.isoformat(), participants=", ".join(action.participants))
                if action.changes is not None:
                    details["changed"] = ", ".join(action.changes.changed_fields())
            case Approve():
                snap.approvals.append(Approval(party=action.party, actor=command.actor, at=now))
                details["party"] = action.party
            case Reject():
                snap.approvals, snap.last_rejection = [], action.reason
                details["party"] = action.party
            case Revise():
                details["changed"] = ", ".join(action.changes.changed_fields())
        if trigger == "convene":
            snap.convened_at = now
        elif trigger == "remind":
            snap.reminders_sent += 1
            details["reminder"] = str(snap.reminders_sent)
        elif trigger == "take_effect":  # priced with the list of the year it takes effect (AG-5)
            snap.effective_version, snap.proposal = context["version"], context["final"]
            details.update(version=str(context["version"]), total=str(snap.proposal.total),
                           effective_from=start_of_year(snap.for_year).date().isoformat())
        return details


class AgreementStart(BaseModel):
    """Workflow input: a new agreement (with its content) or a revision (content loaded), or the
    snapshot carried across continue-as-new."""

    agreement_id: str = Field(pattern=KEY_PATTERN)
    purpose: Literal["new", "revision"] = "new"
    for_year: int | None = Field(None, ge=2000, le=2100, description="new: the coming year (AG-6)")
    content: AgreementContent | None = None
    reminder_weeks: int = Field(4, ge=1, le=52)
    started_by: str = SYSTEM_ACTOR
    snapshot: AgreementProcessSnapshot | None = None


class AgreementProcessView(AgreementProcessSnapshot):
    workflow_id: str
    allowed_events: list[str]
    reminder_due_at: datetime | None
    effective_at: datetime | None
    sketch_mermaid: str | None


# --- activity contracts -----------------------------------------------------------------------
class PriceListRequest(BaseModel):
    year: int


class RegisterAgreement(BaseModel):
    content: AgreementContent
    workflow_id: str
    at: datetime


class CurrentAgreementRequest(BaseModel):
    agreement_id: str


class CurrentAgreement(BaseModel):
    version: int
    content: AgreementContent


class ActivateVersion(BaseModel):
    """Write the approved version, in force from 1 January of `for_year` (rules AG-4, AG-6)."""

    agreement_id: str
    workflow_id: str
    for_year: int
    content: AgreementContent
    cost: CostBreakdown
    approvals: list[Approval]
    at: datetime


class RevisionCandidates(BaseModel):
    for_year: int


# --- new or changed services (AG-7) -----------------------------------------------------------
S_STARTED, AWAITING_DESCRIPTION, AWAITING_PRICE, PRICED = "started", "awaiting_description", "awaiting_price", "priced"
AGREEMENT_STARTED, S_CANCELLED = "agreement_started", "cancelled"

SERVICE = ProcessDefinition(
    name="service_introduction",
    states=(S_STARTED, AWAITING_DESCRIPTION, AWAITING_PRICE, PRICED, AGREEMENT_STARTED, S_CANCELLED),
    initial=S_STARTED,
    final=frozenset({AGREEMENT_STARTED, S_CANCELLED}),
    moves=(
        Move("needs_definition", (S_STARTED,), AWAITING_DESCRIPTION, "AG-7", by_system=True),
        Move("describe", (AWAITING_DESCRIPTION, AWAITING_PRICE), AWAITING_PRICE, "AG-7"),
        Move("set_price", (AWAITING_PRICE,), PRICED, "AG-7"),
        Move("draw_up_agreement", (S_STARTED, PRICED), AGREEMENT_STARTED, "AG-7", by_system=True),
        Move("cancel", (S_STARTED, AWAITING_DESCRIPTION, AWAITING_PRICE, PRICED), S_CANCELLED, "AG-7"),
    ),
)


def service_workflow_id(service_code: str) -> str:
    return f"service-{service_code}"


class ServiceDelivery(BaseModel):
    """A new or changed service IT has delivered to a unit (rule AG-7)."""

    service_code: str = Field(pattern=SERVICE_CODE_PATTERN, description="e.g. svc-teams-rooms")
    name: str = Field(min_length=1, max_length=200)
    agreement: AgreementContent = Field(description="the agreement drawn up for the delivery")


class Describe(BaseModel):
    event: Literal["describe"] = "describe"
    description: str = Field(min_length=10, max_length=4000, description="text for the framework assignment")
    component: CostComponent
    unit: str = Field(min_length=1, max_length=40, description="what is counted, e.g. 'room'")


class SetPrice(BaseModel):
    event: Literal["set_price"] = "set_price"
    unit_price: Decimal = Field(ge=0, max_digits=12, decimal_places=2, description="annual SEK per unit")
    decided_on: date
    minutes_ref: str | None = Field(None, max_length=80, description="tjänstefieringsgruppen's minutes")


class CancelService(BaseModel):
    event: Literal["cancel"] = "cancel"
    reason: str = Field(min_length=3, max_length=500)


ServiceAction = Annotated[Union[Describe, SetPrice, CancelService], Field(discriminator="event")]


class ServiceCommand(BaseModel):
    actor: str = Field(min_length=1, max_length=80)
    reason: str | None = Field(None, max_length=500)
    action: ServiceAction


class ServiceDefinition(BaseModel):
    code: str
    name: str
    description: str | None = None
    component: CostComponent | None = None
    unit: str | None = None
    status: Literal["awaiting_description", "awaiting_price", "priced", "in_force"] = "awaiting_description"
    for_year: int | None = None
    unit_price: Decimal | None = None


class ServiceSnapshot(BaseModel):
    delivery: ServiceDelivery
    state: str = S_STARTED
    definition: ServiceDefinition | None = None
    agreement_workflow_id: str | None = None
    log: list[TransitionRecord] = Field(default_factory=list)


class ServiceProcess(GuardedProcess):
    definition = SERVICE

    def record_data(self, trigger: str, command: Any, now: datetime, context: dict[str, Any]) -> dict[str, str]:
        snap, action = self.snapshot, action_of(command)
        if "definition" in context:
            snap.definition = context["definition"]
        if "agreement_workflow_id" in context:
            snap.agreement_workflow_id = context["agreement_workflow_id"]
            return {"agreement_workflow_id": snap.agreement_workflow_id}
        match action:
            case Describe():
                return {"component": action.component.value, "unit": action.unit}
            case SetPrice():
                assert snap.definition is not None
                return {"unit_price": str(action.unit_price), "for_year": str(snap.definition.for_year),
                        "minutes_ref": action.minutes_ref or ""}
        return {}


class ServiceStart(BaseModel):
    delivery: ServiceDelivery
    started_by: str = SYSTEM_ACTOR
    snapshot: ServiceSnapshot | None = None


class ServiceView(ServiceSnapshot):
    workflow_id: str
    allowed_events: list[str]


class ServiceDefinitionUpsert(BaseModel):
    definition: ServiceDefinition
    workflow_id: str
    actor: str
    at: datetime


# --- cloud move / SaaS (AG-8) -----------------------------------------------------------------
CONSULTING, ASSESSING, MOVE_APPROVED, MOVE_REJECTED = "consulting", "assessing", "move_approved", "move_rejected"
COMPLETED, AGREEMENT_DRAWN_UP, WITHDRAWN = "completed", "agreement_drawn_up", "withdrawn"

CLOUD_MOVE = ProcessDefinition(
    name="cloud_move",
    states=(CONSULTING, ASSESSING, MOVE_APPROVED, MOVE_REJECTED, COMPLETED, AGREEMENT_DRAWN_UP, WITHDRAWN),
    initial=CONSULTING,
    final=frozenset({MOVE_REJECTED, COMPLETED, AGREEMENT_DRAWN_UP, WITHDRAWN}),
    moves=(
        Move("record_consultation", (CONSULTING,), ASSESSING, "AG-8"),
        Move("record_classification", (ASSESSING,), ASSESSING, "AG-8"),
        Move("record_security_analysis", (ASSESSING,), ASSESSING, "AG-8"),
        Move("record_legal_review", (ASSESSING,), ASSESSING, "AG-8"),
        Move("record_cost_analysis", (ASSESSING,), ASSESSING, "AG-8"),
        Move("approve_move", (ASSESSING,), MOVE_APPROVED, "AG-8", conditions=("assessment_complete", "reviews_clear")),
        Move("reject_move", (ASSESSING,), MOVE_REJECTED, "AG-8", conditions=("assessment_complete",)),
        Move("complete", (MOVE_APPROVED,), COMPLETED, "AG-8", conditions=("no_internal_costs",), by_system=True),
        Move("draw_up_agreement", (MOVE_APPROVED,), AGREEMENT_DRAWN_UP, "AG-8", conditions=("has_internal_costs",),
             by_system=True),
        Move("withdraw", (CONSULTING, ASSESSING), WITHDRAWN, "AG-8"),
    ),
)


def cloud_move_workflow_id(case_id: str) -> str:
    return f"cloud-move-{case_id}"


class CloudMoveRequest(BaseModel):
    case_id: str = Field(pattern=KEY_PATTERN, description="e.g. CM-2026-3")
    application: str = Field(min_length=1, max_length=200)
    unit_id: str = Field(pattern=REF_PATTERN)
    system_owner_ref: str = Field(pattern=REF_PATTERN)
    supplier: str = Field(min_length=1, max_length=200)
    agreement_id: str | None = Field(None, pattern=KEY_PATTERN,
                                     description="the agreement drawn up if internal costs remain")


class Consultation(BaseModel):
    held_on: date
    it_participants: list[str] = Field(min_length=1)
    unit_participants: list[str] = Field(min_length=1)
    notes: str | None = Field(None, max_length=2000)


class Classification(BaseModel):
    """Information classification in KLASSA: confidentiality, integrity, availability levels."""

    confidentiality: int = Field(ge=1, le=4)
    integrity: int = Field(ge=1, le=4)
    availability: int = Field(ge=1, le=4)
    klassa_ref: str = Field(min_length=1, max_length=80)


class Review(BaseModel):
    reference: str = Field(min_length=1, max_length=80)
    summary: str = Field(min_length=1, max_length=2000)
    acceptable: bool = Field(description="security: risks acceptable; legal: no legal obstacle")


class CostAnalysis(BaseModel):
    external_annual_cost: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    internal_cost_lines: list[CostLine] = Field(default_factory=list)
    internal: CostBreakdown | None = None


class RecordConsultation(Consultation):
    event: Literal["record_consultation"] = "record_consultation"


class RecordClassification(Classification):
    event: Literal["record_classification"] = "record_classification"


class RecordSecurityAnalysis(Review):
    event: Literal["record_security_analysis"] = "record_security_analysis"


class RecordLegalReview(Review):
    event: Literal["record_legal_review"] = "record_legal_review"


class RecordCostAnalysis(BaseModel):
    event: Literal["record_cost_analysis"] = "record_cost_analysis"
    external_annual_cost: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    internal_cost_lines: list[CostLine] = Field(default_factory=list,
                                               description="what still costs internally (AG-8)")


class ApproveMove(BaseModel):
    event: Literal["approve_move"] = "approve_move"
    decided_on: date


class RejectMove(BaseModel):
    event: Literal["reject_move"] = "reject_move"
    decided_on: date
    reason: str = Field(min_length=3, max_length=500)


class Withdraw(BaseModel):
    event: Literal["withdraw"] = "withdraw"
    reason: str = Field(min_length=3, max_length=500)


CloudMoveAction = Annotated[
    Union[RecordConsultation, RecordClassification, RecordSecurityAnalysis, RecordLegalReview, RecordCostAnalysis,
          ApproveMove, RejectMove, Withdraw],
    Field(discriminator="event"),
]


class CloudMoveCommand(BaseModel):
    actor: str = Field(min_length=1, max_length=80)
    reason: str | None = Field(None, max_length=500)
    action: CloudMoveAction


class CloudMoveSnapshot(BaseModel):
    request: CloudMoveRequest
    state: str = CONSULTING
    consultation: Consultation | None = None
    classification: Classification | None = None
    security_analysis: Review | None = None
    legal_review: Review | None = None
    cost_analysis: CostAnalysis | None = None
    decided_on: date | None = None
    agreement_workflow_id: str | None = None
    log: list[TransitionRecord] = Field(default_factory=list)

    def missing_assessments(self) -> list[str]:
        return [name for name in ("classification", "security_analysis", "legal_review", "cost_analysis")
                if getattr(self, name) is None]

    def internal_costs_remain(self) -> bool:
        analysis = self.cost_analysis
        return analysis is not None and analysis.internal is not None and analysis.internal.total > 0


CLOUD_MOVE_MESSAGES = {
    "assessment_complete": "rule AG-8: KLASSA classification, security analysis, legal review and economic cost "
                           "analysis must all be recorded before the decision",
    "reviews_clear": "rule AG-8: the security analysis or the legal review found an obstacle",
    "no_internal_costs": "rule AG-8: internal costs remain, an agreement is drawn up",
    "has_internal_costs": "rule AG-8: no internal costs remain",
}


class CloudMoveProcess(GuardedProcess):
    definition = CLOUD_MOVE
    condition_messages = CLOUD_MOVE_MESSAGES

    def assessment_complete(self, command: Any = None) -> bool:
        return not self.snapshot.missing_assessments()

    def reviews_clear(self, command: Any = None) -> bool:
        s = self.snapshot
        return bool(s.security_analysis and s.security_analysis.acceptable and s.legal_review
                    and s.legal_review.acceptable)

    def has_internal_costs(self, command: Any = None) -> bool:
        return self.snapshot.internal_costs_remain()

    def no_internal_costs(self, command: Any = None) -> bool:
        return not self.snapshot.internal_costs_remain()

    def refusal(self, trigger: str, command: Any = None) -> str | None:
        refused = super().refusal(trigger, command)
        if refused is not None and refused.endswith(CLOUD_MOVE_MESSAGES["assessment_complete"]):
            return f"{refused} (missing: {', '.join(self.snapshot.missing_assessments())})"
        return refused

    def record_data(self, trigger: str, command: Any, now: datetime, context: dict[str, Any]) -> dict[str, str]:
        snap, action = self.snapshot, action_of(command)
        match action:
            case RecordConsultation():
                snap.consultation = Consultation.model_validate(action.model_dump(exclude={"event"}))
                return {"held_on": action.held_on.isoformat()}
            case RecordClassification():
                snap.classification = Classification.model_validate(action.model_dump(exclude={"event"}))
                return {"klassa": f"K{action.confidentiality} R{action.integrity} T{action.availability}",
                        "klassa_ref": action.klassa_ref}
            case RecordSecurityAnalysis():
                snap.security_analysis = Review.model_validate(action.model_dump(exclude={"event"}))
                return {"reference": action.reference, "acceptable": str(action.acceptable)}
            case RecordLegalReview():
                snap.legal_review = Review.model_validate(action.model_dump(exclude={"event"}))
                return {"reference": action.reference, "acceptable": str(action.acceptable)}
            case RecordCostAnalysis():
                internal = context.get("internal")
                snap.cost_analysis = CostAnalysis(external_annual_cost=action.external_annual_cost,
                                                  internal_cost_lines=action.internal_cost_lines, internal=internal)
                return {"external_annual_cost": str(action.external_annual_cost),
                        "internal_annual_cost": str(internal.total if internal else Decimal("0.00"))}
            case ApproveMove() | RejectMove():
                snap.decided_on = action.decided_on
                return {"decided_on": action.decided_on.isoformat()}
        if "agreement_workflow_id" in context:
            snap.agreement_workflow_id = context["agreement_workflow_id"]
            return {"agreement_workflow_id": snap.agreement_workflow_id}
        return {}


class CloudMoveStart(BaseModel):
    request: CloudMoveRequest
    started_by: str = SYSTEM_ACTOR
    snapshot: CloudMoveSnapshot | None = None


class CloudMoveView(CloudMoveSnapshot):
    workflow_id: str
    allowed_events: list[str]
    missing: list[str]
