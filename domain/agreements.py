"""Application agreements (rules AG-1 … AG-6): their content, kept versions and what a unit pays,
and the agreement process (drawing up, yearly revision). Pure and deterministic: the workflows and
the API share it."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, model_validator

from domain.common import KEY_PATTERN, REF_PATTERN, SYSTEM_ACTOR, start_of_year
from domain.costing import CostBreakdown, CostComponent, CostLine, PriceList, compute_cost
from domain.process import (action_of, GuardedProcess, LiveView, Move, ProcessCommand, ProcessDefinition,
                            TransitionRecord, person_of, same_person)


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
    person: str | None = Field(None, description="the approver's employee number, when known")


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


class AgreementCommand(ProcessCommand):
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
    separation_of_duties: bool = True  # False only while replaying histories from before it (workflow.patched)

    def _approved_parties(self) -> set[str]:
        return {a.party for a in self.snapshot.approvals}

    def party_may_approve(self, command: Any = None) -> bool:
        action = action_of(command)
        if action is None:
            return len(self._approved_parties()) < len(PARTIES)
        if action.party in self._approved_parties() and action.event == "approve":
            return False
        content = self.snapshot.content
        # rule AG-4: the system owner approves for the unit, in person (by employee number: issue 20)
        return action.party != "system_owner" or (content is not None and person_of(command) == content.system_owner_ref)

    def refusal(self, trigger: str, command: Any = None) -> str | None:
        """Rule AG-4 also refuses one person acting for both parties: checked by the workflow under its lock,
        so two concurrent requests cannot both pass (issue 20)."""
        refused = super().refusal(trigger, command)
        action = action_of(command)
        if refused is not None or not self.separation_of_duties or getattr(action, "party", None) is None:
            return refused
        if any(same_person(a.actor, a.person, command) and a.party != action.party for a in self.snapshot.approvals):
            return (f"event {trigger!r} refused: party: rule AG-4: you approved for the other party already; one "
                    f"person does not act for both parties")
        return None

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
                snap.approvals.append(Approval(party=action.party, actor=command.actor, at=now,
                                               person=getattr(command, "person", None)))
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


class AgreementProcessView(LiveView, AgreementProcessSnapshot):
    reminder_due_at: datetime | None
    effective_at: datetime | None
    sketch_mermaid: str | None


# --- activity contracts -----------------------------------------------------------------------
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
