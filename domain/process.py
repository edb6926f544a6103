"""The pattern every Ramflow process shares: a `transitions` machine over a pydantic
snapshot, a transition table that names the rule deciding each move, and an audit log."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

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

    def is_system_trigger(self, trigger: str) -> bool:
        return all(m.by_system for m in self._by_trigger.get(trigger, ()))

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


def summarise(records: Sequence[TransitionRecord]) -> list[str]:
    return [f"{r.seq}: {r.from_state} -[{r.event}/{r.rule}]-> {r.to_state} by {r.actor}" for r in records]
