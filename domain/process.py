"""The pattern every Ramflow process shares: a `transitions` machine over a pydantic
snapshot, a transition table that names the rule deciding each move, and an audit log."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, ClassVar

from pydantic import BaseModel, Field
from transitions import Machine


@dataclass(frozen=True)
class Move:
    """One allowed move: `trigger` from any of `sources` to `dest`, decided by `rule`."""

    trigger: str
    sources: tuple[str, ...]
    dest: str
    rule: str
    conditions: tuple[str, ...] = ()
    by_system: bool = False  # fired by the workflow itself (timer, child, activity), never by the API

    def as_transitions(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "source": list(self.sources),
            "dest": self.dest,
            "conditions": list(self.conditions),
        }


@dataclass(frozen=True)
class ProcessDefinition:
    """States and moves of one process; builds machines and answers questions about them."""

    name: str
    states: tuple[str, ...]
    initial: str
    final: frozenset[str]
    moves: tuple[Move, ...]
    _by_trigger: dict[str, list[Move]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for move in self.moves:
            self._by_trigger.setdefault(move.trigger, []).append(move)
            unknown = {*move.sources, move.dest} - set(self.states)
            if unknown:
                raise ValueError(f"{self.name}: move {move.trigger} names unknown states {sorted(unknown)}")

    def attach(self, model: Any, state: str) -> Machine:
        """Attach a fresh machine to `model`, starting in `state` (restored snapshots start anywhere)."""
        return Machine(
            model=model,
            states=list(self.states),
            transitions=[m.as_transitions() for m in self.moves],
            initial=state,
            auto_transitions=False,
            send_event=False,
        )

    @property
    def final_states(self) -> tuple[str, ...]:
        """The states a process ends in, in declaration order (a stable tuple for queries)."""
        return tuple(s for s in self.states if s in self.final)

    @property
    def open_states(self) -> tuple[str, ...]:
        """The states a running process can be in: every state that is not final."""
        return tuple(s for s in self.states if s not in self.final)

    def states_where(self, predicate: Callable[[str], bool]) -> tuple[str, ...]:
        """The states, in declaration order, for which `predicate` holds."""
        return tuple(s for s in self.states if predicate(s))

    def triggers(self) -> list[str]:
        return list(self._by_trigger)

    def user_triggers(self) -> list[str]:
        return [t for t, moves in self._by_trigger.items() if not all(m.by_system for m in moves)]

    def rule_for(self, trigger: str, source: str) -> str:
        for move in self._by_trigger.get(trigger, ()):
            if source in move.sources:
                return move.rule
        return ""

    def sources_of(self, trigger: str) -> list[str]:
        return sorted({s for m in self._by_trigger.get(trigger, ()) for s in m.sources})

    def mermaid(self) -> str:
        """State diagram for the docs (Mermaid stateDiagram-v2)."""
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        seen: set[tuple[str, str, str]] = set()
        for move in self.moves:
            for source in move.sources:
                key = (source, move.dest, move.trigger)
                if key not in seen:
                    seen.add(key)
                    lines.append(f"    {source} --> {move.dest}: {move.trigger} ({move.rule})")
        for state in sorted(self.final):
            lines.append(f"    {state} --> [*]")
        return "\n".join(lines)


class TransitionRecord(BaseModel):
    """One line of a process's audit log: who moved it, when, why and under which rule."""

    seq: int
    at: datetime
    event: str
    from_state: str
    to_state: str
    actor: str
    reason: str | None = None
    rule: str
    details: dict[str, str] = Field(default_factory=dict)


class LiveView(BaseModel):
    """What a live view adds to its process's snapshot (workflows.base `_view_data`): the workflow ID and the
    events allowed now. Listed first among a view's bases, its fields follow the snapshot's:
    `class XView(LiveView, XSnapshot)`."""

    workflow_id: str
    allowed_events: list[str]


class ProcessCommand(BaseModel):
    """Who asks for an event and why; each process adds its `action` (the event and its data)."""

    actor: str = Field(min_length=1, max_length=80)
    reason: str | None = Field(None, max_length=500)
    person: str | None = Field(None, max_length=40, description="the actor's employee number (people register), "
                               "when known: who the person is, where the actor is a token subject (issue 20)")


def same_person(actor: str, person: str | None, command: Any) -> bool:
    """Whether a recorded act (its actor, and employee number where known) was done by the person who sends
    `command`: the same subject, or the same employee number (rules AG-4, GV-2: separation of duties)."""
    return actor == command.actor or (person is not None and person == getattr(command, "person", None))


def person_of(command: Any) -> str:
    """Who sends `command`, as the process's records name people: the employee number, else the actor."""
    return getattr(command, "person", None) or command.actor


class IllegalMove(Exception):
    """An event the current state does not allow (the API answers 409)."""


def illegal_move_message(definition: ProcessDefinition, state: str, trigger: str) -> str:
    if trigger not in definition.triggers():
        return f"unknown event {trigger!r} for {definition.name}"
    allowed = definition.sources_of(trigger)
    return (
        f"event {trigger!r} is not allowed in state {state!r} "
        f"(allowed from: {', '.join(allowed)}; rule {definition.rule_for(trigger, allowed[0]) if allowed else '-'})"
    )


# --- the guarded-process pattern shared by every process ------------------------------
class GuardedProcess:
    """A `transitions` machine over a pydantic snapshot with a `state` field: conditions receive
    the command, `refusal()` names the state or the rule, `apply()` fires the move and records the
    command's data on the snapshot.

    A condition that depends on the command gets None when the allowed events are listed: it then
    answers whether some command could make the move possible."""

    definition: ClassVar[ProcessDefinition]
    condition_messages: ClassVar[dict[str, str]] = {}

    def __init__(self, snapshot: Any) -> None:
        self.snapshot = snapshot
        self.definition.attach(self, snapshot.state)

    def refusal(self, trigger: str, command: Any = None) -> str | None:
        """None if `trigger` may fire now; otherwise why not."""
        definition = self.definition
        if trigger not in definition.triggers() or self.state not in definition.sources_of(trigger):
            return illegal_move_message(definition, self.state, trigger)
        if getattr(self, f"may_{trigger}")(command):
            return None
        for move in definition.moves:
            if move.trigger == trigger and self.state in move.sources:
                for condition in move.conditions:
                    if not getattr(self, condition)(command):
                        return (f"event {trigger!r} refused in state {self.state!r}: "
                                f"{self.condition_message(condition, command)}")
        return f"event {trigger!r} refused in state {self.state!r}"

    def condition_message(self, condition: str, command: Any = None) -> str:
        """Why `condition` failed, naming its rule; override for messages that depend on the snapshot."""
        return self.condition_messages[condition]

    def rule_for(self, trigger: str, source: str | None = None) -> str:
        """The rule that decides `trigger` from `source` (default: the current state)."""
        return self.definition.rule_for(trigger, self.state if source is None else source)

    def allowed_events(self) -> list[str]:
        return [t for t in self.definition.user_triggers() if self.refusal(t) is None]

    def apply(self, trigger: str, command: Any, now: datetime, context: dict[str, Any]) -> dict[str, str]:
        """Fire `trigger` (asked with refusal() first) and record its data; returns details for the log."""
        if not getattr(self, trigger)(command):
            raise AssertionError(f"{trigger} refused after validation")
        self.snapshot.state = self.state
        return self.record_data(trigger, command, now, context)

    def record_data(self, trigger: str, command: Any, now: datetime, context: dict[str, Any]) -> dict[str, str]:
        return {}


def action_of(command: Any) -> Any:
    return getattr(command, "action", None)
