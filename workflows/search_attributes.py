"""Typed custom search attributes of every Ramflow process (issue 11): what an auditor filters on in
Temporal's visibility and Web UI. Business keys and reference codes only, never personal data."""
from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

PROCESS_TYPE = SearchAttributeKey.for_keyword("RamflowProcessType")
BUSINESS_KEY = SearchAttributeKey.for_keyword("RamflowBusinessKey")
STATE = SearchAttributeKey.for_keyword("RamflowState")
UNIT = SearchAttributeKey.for_keyword("RamflowUnit")
MUNICIPALITY = SearchAttributeKey.for_keyword("RamflowMunicipality")
ALL_KEYS = (PROCESS_TYPE, BUSINESS_KEY, STATE, UNIT, MUNICIPALITY)

# Where a snapshot keeps the unit and the municipality (the first one found wins).
_PARTS = ("terms", "order", "report", "request", "content", "delivery", "proposal")


def _text(value: Any) -> str | None:
    value = getattr(value, "value", value)  # enums
    return None if value is None else str(value)


def _find(snapshot: Any, field: str) -> str | None:
    for holder in (snapshot, *(getattr(snapshot, part, None) for part in _PARTS)):
        value = _text(getattr(holder, field, None)) if holder is not None else None
        if value:
            return value
    return None


def updates(process_type: str, business_key: str, snapshot: Any) -> list[SearchAttributeUpdate]:
    """The values after a move; unknown unit or municipality are unset rather than guessed."""
    pairs: list[SearchAttributeUpdate] = [PROCESS_TYPE.value_set(process_type),
                                          BUSINESS_KEY.value_set(business_key), STATE.value_set(snapshot.state)]
    for key, field in ((UNIT, "unit_id"), (MUNICIPALITY, "municipality")):
        value = _find(snapshot, field)
        pairs.append(key.value_set(value) if value else key.value_unset())
    return pairs
