"""Reorganisations (issue 22, part 3; rules EQ-7, EQ-8): units merge into another from a date, and what they
hold moves with them from that day. Pure: the contracts of the reorganisation process, which the API, the
activities and the workflow import."""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel

# Devices moved per activity attempt (each chunk heartbeats; a retried attempt resumes after the last chunk)
REORG_CHUNK = 50


def reorg_workflow_id(reorg_id: str) -> str:
    """One process per reorganisation: a repeated merge request starts none."""
    return f"reorg-{reorg_id}"


def merge_id(unit_id: str, target: str, on: date) -> str:
    return f"merge-{unit_id}-into-{target}-{on.isoformat()}"


class ReorgStart(BaseModel):
    """A merge: `unit_id` closes on `on`; what it holds moves to `target` from that day."""

    reorg_id: str
    unit_id: str
    target: str
    on: date
    actor: str
    reason: str


class MoveChunk(BaseModel):
    """One chunk of a reorganisation's device moves."""

    start: ReorgStart
    order_numbers: list[str]


class ItemResult(BaseModel):
    """One item of a bulk move: moved, unchanged (already there) or refused (with the reason)."""

    key: str
    outcome: str
    detail: str | None = None


class ReorgOutcome(BaseModel):
    """What the merge moved (and what it could not move, with the reason)."""

    devices: list[ItemResult] = []
    tickets: list[ItemResult] = []
    # rule AG-4: the owning unit is part of an agreement's versioned content, changed by a revision only: the
    # merge lists the closing unit's agreements in force for their next revision instead of rewriting them
    agreements_to_revise: list[str] = []
