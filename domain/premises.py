"""Premises projects (rules FC-1 … FC-4): a new or rebuilt unit address, from IT's invitation to the
property owner's project meetings until the address is ready for IT. Every step records who, when
and the document reference (minutes, drawing, delivery note)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, model_validator

from domain.common import KEY_PATTERN, REF_PATTERN, Municipality
from domain.process import GuardedProcess, Move, ProcessCommand, ProcessDefinition, TransitionRecord, action_of



def premises_workflow_id(project_id: str) -> str:
    """The business key is the project's id (no address or names in workflow IDs)."""
    return f"premises-{project_id}"


# --- site classes and their reserve power (FC-3) ----------------------------------------------
class SiteClass(str, Enum):
    CRISIS_COMMAND_POST = "crisis_command_post"  # Kommunhuset in Tranemo, Stadshuset in Ulricehamn
    NETWORK_NODE = "network_node"
    OPERATION_SITE = "operation_site"  # server rooms: IT's operation sites
    OTHER = "other"


class PowerRequirement(str, Enum):
    LOCAL_RESERVE_POWER = "local_reserve_power"
    FOUR_HOURS = "four_hours"
    DIESEL_AUTOMATIC_TAKEOVER = "diesel_automatic_takeover"
    NONE = "none"


# rule FC-3: reserve power by site class
POWER_BY_CLASS: dict[SiteClass, PowerRequirement] = {
    SiteClass.CRISIS_COMMAND_POST: PowerRequirement.LOCAL_RESERVE_POWER,
    SiteClass.NETWORK_NODE: PowerRequirement.FOUR_HOURS,
    SiteClass.OPERATION_SITE: PowerRequirement.DIESEL_AUTOMATIC_TAKEOVER,
    SiteClass.OTHER: PowerRequirement.NONE,
}
# rule FC-3: the only sites that need local reserve power (the crisis command posts)
CRISIS_COMMAND_POSTS = frozenset({("tranemo", "kommunhuset"), ("ulricehamn", "stadshuset")})


class ReservePower(BaseModel):
    """What the property owner installed and tested (rule FC-3)."""

    kind: Literal["none", "ups", "local_generator", "diesel"]
    hours: Decimal = Field(Decimal("0"), ge=0, le=720, max_digits=6, decimal_places=2)
    automatic_takeover: bool = Field(False, description="takes over without manual action")


def power_requirement_met(requirement: PowerRequirement, power: ReservePower | None) -> bool:
    """Rule FC-3: network nodes four hours; operation sites diesel that takes over by itself;
    crisis command posts local reserve power; other sites none."""
    if requirement is PowerRequirement.NONE:
        return True
    if power is None or power.kind == "none" or power.hours <= 0:
        return False
    if requirement is PowerRequirement.FOUR_HOURS:
        return power.hours >= 4
    if requirement is PowerRequirement.DIESEL_AUTOMATIC_TAKEOVER:
        return power.kind == "diesel" and power.automatic_takeover
    return True  # local reserve power of some kind at the crisis command post


# --- states and moves -------------------------------------------------------------------------
INVITED, REQUIREMENTS_RECORDED, DESIGN_SUBMITTED = "invited", "requirements_recorded", "design_submitted"
DESIGN_APPROVED, RACKS_INSTALLED, EQUIPMENT_MOUNTED = "design_approved", "racks_installed", "equipment_mounted"
READY, CANCELLED = "ready", "cancelled"
OPEN_STATES = (INVITED, REQUIREMENTS_RECORDED, DESIGN_SUBMITTED, DESIGN_APPROVED, RACKS_INSTALLED, EQUIPMENT_MOUNTED)
AFTER_REQUIREMENTS = OPEN_STATES[1:]


def _stays(trigger: str, sources: tuple[str, ...], rule: str) -> tuple[Move, ...]:
    """A fact recorded without moving on: one self-move per state."""
    return tuple(Move(trigger, (state,), state, rule) for state in sources)


PREMISES = ProcessDefinition(
    name="premises",
    states=(*OPEN_STATES, READY, CANCELLED),
    initial=INVITED,
    final=frozenset({READY, CANCELLED}),
    moves=(
        *_stays("attend_meeting", OPEN_STATES, "FC-1"),
        Move("record_requirements", (INVITED,), REQUIREMENTS_RECORDED, "FC-1"),
        Move("submit_design", (REQUIREMENTS_RECORDED,), DESIGN_SUBMITTED, "FC-4"),
        Move("approve_design", (DESIGN_SUBMITTED,), DESIGN_APPROVED, "FC-4"),
        Move("reject_design", (DESIGN_SUBMITTED,), REQUIREMENTS_RECORDED, "FC-4"),
        Move("install_racks", (DESIGN_APPROVED,), RACKS_INSTALLED, "FC-2", conditions=("racks_as_required",)),
        Move("mount_equipment", (RACKS_INSTALLED,), EQUIPMENT_MOUNTED, "FC-2"),
        *_stays("deliver_connection", AFTER_REQUIREMENTS, "FC-1"),
        *_stays("record_reserve_power", AFTER_REQUIREMENTS, "FC-3"),
        Move("declare_ready", (EQUIPMENT_MOUNTED,), READY, "FC-1",
             conditions=("connection_delivered", "power_requirement_met")),
        Move("cancel", OPEN_STATES, CANCELLED, "FC-1"),
    ),
)

CONDITION_MESSAGES = {
    "racks_as_required": "rule FC-2: the property owner installs the racks IT asked for",
    "connection_delivered": "rule FC-1: the address needs its fixed network connection delivered first",
    "power_requirement_met": "rule FC-3: the site class's reserve power is not in place",
}


# --- the project and its commands ---------------------------------------------------------------
class PremisesProjectRequest(BaseModel):
    """A property owner's building project at a new or rebuilt unit address; IT is invited (FC-1)."""

    project_id: str = Field(pattern=KEY_PATTERN, description="business key, e.g. FC-2026-TR-ANGA")
    kind: Literal["new", "rebuilt"]
    municipality: Municipality
    site_name: str = Field(min_length=1, max_length=120, description="e.g. Kommunhuset, Ängaskolan")
    address: str = Field(min_length=1, max_length=200)
    unit_id: str | None = Field(None, pattern=REF_PATTERN, description="the unit moving in, if known")
    property_owner: str = Field(min_length=1, max_length=120, description="an organisation, e.g. Tranemobostäder AB")
    site_class: SiteClass
    document_ref: str = Field(min_length=1, max_length=80, description="the invitation (FC-1)")
    first_meeting_on: date | None = None

    @model_validator(mode="after")
    def _fc3_crisis_command_posts(self) -> "PremisesProjectRequest":
        is_post = (self.municipality, self.site_name.strip().lower()) in CRISIS_COMMAND_POSTS
        if is_post != (self.site_class is SiteClass.CRISIS_COMMAND_POST):
            raise ValueError("site_class: rule FC-3: only Kommunhuset in Tranemo and Stadshuset in Ulricehamn are "
                             "crisis command posts (local reserve power), and they are always classed so")
        return self


class _Step(BaseModel):
    document_ref: str = Field(min_length=1, max_length=80, description="minutes, drawing or delivery note")


class AttendMeeting(_Step):
    event: Literal["attend_meeting"] = "attend_meeting"
    held_on: date


class RackRequirement(BaseModel):
    room: str = Field(min_length=1, max_length=80)
    count: int = Field(ge=1, le=20)
    height_units: int = Field(42, ge=6, le=52)


class RecordRequirements(_Step):
    """IT's requirements on the property owner (FC-1, FC-2, FC-3)."""

    event: Literal["record_requirements"] = "record_requirements"
    fibre: Literal[True] = Field(True, description="rule FC-1: a fixed network connection to the address")
    in_building_network: Literal[True] = True
    racks: list[RackRequirement] = Field(min_length=1, description="rule FC-2: the cabinets/racks IT wants")


class SubmitDesign(_Step):
    event: Literal["submit_design"] = "submit_design"
    cooling_ref: str = Field(min_length=1, max_length=80, description="the cooling design (FC-4)")
    fire_protection_ref: str = Field(min_length=1, max_length=80, description="the fire-protection design (FC-4)")


class ApproveDesign(_Step):
    event: Literal["approve_design"] = "approve_design"


class RejectDesign(_Step):
    event: Literal["reject_design"] = "reject_design"
    reason: str = Field(min_length=3, max_length=500)


class InstallRacks(_Step):
    event: Literal["install_racks"] = "install_racks"
    count: int = Field(ge=1, le=100)


class MountEquipment(_Step):
    event: Literal["mount_equipment"] = "mount_equipment"


class DeliverConnection(_Step):
    event: Literal["deliver_connection"] = "deliver_connection"


class RecordReservePower(_Step):
    event: Literal["record_reserve_power"] = "record_reserve_power"
    power: ReservePower


class DeclareReady(_Step):
    event: Literal["declare_ready"] = "declare_ready"


class CancelProject(_Step):
    event: Literal["cancel"] = "cancel"
    reason: str = Field(min_length=3, max_length=500)


PremisesAction = Annotated[
    Union[AttendMeeting, RecordRequirements, SubmitDesign, ApproveDesign, RejectDesign, InstallRacks,
          MountEquipment, DeliverConnection, RecordReservePower, DeclareReady, CancelProject],
    Field(discriminator="event"),
]


class PremisesCommand(ProcessCommand):
    action: PremisesAction


# --- snapshot and process ----------------------------------------------------------------------
class Requirements(BaseModel):
    fibre: bool
    in_building_network: bool
    paid_by: str  # rule FC-1: fibre and in-building network are paid by the municipality
    racks: list[RackRequirement]
    power: PowerRequirement  # rule FC-3, from the site class

    @property
    def rack_count(self) -> int:
        return sum(r.count for r in self.racks)


class PremisesSnapshot(BaseModel):
    project: PremisesProjectRequest
    state: str = INVITED
    requirements: Requirements | None = None
    design: SubmitDesign | None = None
    design_approved_by: str | None = None
    racks_installed: int = 0
    connection_delivered_at: datetime | None = None
    reserve_power: ReservePower | None = None
    meetings: list[AttendMeeting] = Field(default_factory=list)
    log: list[TransitionRecord] = Field(default_factory=list)

    @property
    def power_requirement(self) -> PowerRequirement:
        return POWER_BY_CLASS[self.project.site_class]

    @property
    def power_met(self) -> bool:
        return power_requirement_met(self.power_requirement, self.reserve_power)


class PremisesProcess(GuardedProcess):
    definition = PREMISES
    condition_messages = CONDITION_MESSAGES
    snapshot: PremisesSnapshot

    def racks_as_required(self, command: Any = None) -> bool:
        action = action_of(command)
        wanted = self.snapshot.requirements.rack_count if self.snapshot.requirements else 0
        return action is None or action.count >= wanted

    def connection_delivered(self, command: Any = None) -> bool:
        return self.snapshot.connection_delivered_at is not None

    def power_requirement_met(self, command: Any = None) -> bool:
        return self.snapshot.power_met

    def condition_message(self, condition: str, command: Any = None) -> str:
        snap = self.snapshot
        if condition == "power_requirement_met":
            return (f"rule FC-3: a {snap.project.site_class.value} needs {snap.power_requirement.value}; "
                    f"recorded: {snap.reserve_power.model_dump(mode='json') if snap.reserve_power else 'nothing'}")
        if condition == "racks_as_required" and snap.requirements is not None:
            return f"count: rule FC-2: IT asked for {snap.requirements.rack_count} racks"
        return super().condition_message(condition, command)

    def record_data(self, trigger: str, command: Any, now: datetime, context: dict[str, Any]) -> dict[str, str]:
        snap, action = self.snapshot, action_of(command)
        details = {"document_ref": action.document_ref} if action is not None else {}
        match action:
            case AttendMeeting():
                snap.meetings.append(action)
                details["held_on"] = action.held_on.isoformat()
            case RecordRequirements():
                snap.requirements = Requirements(fibre=action.fibre, in_building_network=action.in_building_network,
                                                 paid_by=snap.project.municipality, racks=action.racks,
                                                 power=snap.power_requirement)
                details.update(racks=str(snap.requirements.rack_count), paid_by=snap.project.municipality,
                               reserve_power=snap.power_requirement.value)
            case SubmitDesign():
                snap.design, snap.design_approved_by = action, None
                details.update(cooling_ref=action.cooling_ref, fire_protection_ref=action.fire_protection_ref)
            case ApproveDesign():
                snap.design_approved_by = command.actor
            case RejectDesign():
                details["reason"] = action.reason
            case InstallRacks():
                snap.racks_installed = action.count
                details["count"] = str(action.count)
            case DeliverConnection():
                snap.connection_delivered_at = now
            case RecordReservePower():
                snap.reserve_power = action.power
                details.update(kind=action.power.kind, hours=str(action.power.hours),
                               automatic_takeover=str(action.power.automatic_takeover).lower(),
                               requirement=snap.power_requirement.value, met=str(snap.power_met).lower())
            case CancelProject():
                details["reason"] = action.reason
        return details


# --- workflow contracts ---------------------------------------------------------------------------
class PremisesStart(BaseModel):
    project: PremisesProjectRequest
    started_by: str
    snapshot: PremisesSnapshot | None = None


class PremisesView(BaseModel):
    project: PremisesProjectRequest
    workflow_id: str
    state: str
    power_requirement: PowerRequirement
    power_requirement_met: bool
    requirements: Requirements | None
    design: SubmitDesign | None
    design_approved_by: str | None
    racks_installed: int
    connection_delivered_at: datetime | None
    reserve_power: ReservePower | None
    meetings: list[AttendMeeting]
    allowed_events: list[str]
    log: list[TransitionRecord]


class PremisesMirror(BaseModel):
    """The project's register row after a transition, and the transition itself."""

    workflow_id: str
    project: PremisesProjectRequest
    state: str
    power_requirement: PowerRequirement
    power_requirement_met: bool
    connection_delivered: bool
    requirements: dict[str, Any]
    record: TransitionRecord
