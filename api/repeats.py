"""A create whose business key exists already (issue 20): the answer is the existing object only for a caller
who may see it, and only when the request is the same as the one that created it.

- A caller who may not see the existing object gets 409 naming only the key field: nothing of the object
  (its unit, its people, its log) is disclosed; numbers are sequential, so a 200 with the view was a leak.
- A caller who may see it and sends another body gets 409 naming the fields that differ: a repeat that
  silently answers 200 orders nothing, and the caller believed it had.
- The same body again is the idempotent repeat it always was: 200 with the existing object.

The comparison covers the fields the caller set and the object shows (`original`: where the view keeps what
was sent, e.g. a process's `request`); a field the process changes later (a ticket's classification) is
left out by the route (`ignore`).
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel


def _everyone(_view: Any) -> bool:
    return True


def _itself(view: Any) -> Any:
    return view


@dataclass(frozen=True)
class Repeat:
    sent: dict[str, Any]  # the fields the caller set, as JSON
    key: str  # the business key's field, e.g. "number"
    what: str  # e.g. "ticket"
    visible: Callable[[Any], bool] = _everyone  # object-level: may the caller see the existing object
    original: Callable[[Any], Any] = _itself  # where the view keeps what the creating request sent
    ignore: Collection[str] = field(default_factory=tuple)

    @classmethod
    def of(cls, request: BaseModel, key: str, what: str, *, exclude: Collection[str] = (), **options: Any) -> "Repeat":
        sent = request.model_dump(mode="json", exclude_unset=True, exclude=set(exclude) or None)
        return cls(sent=sent, key=key, what=what, **options)

    def hidden(self) -> HTTPException:
        """409 that reveals nothing of the existing object."""
        return HTTPException(409, f"{self.key}: already in use; leave it out to get a new one, or choose another")

    def check(self, view: Any) -> Any:
        """The existing object's view for a repeat the caller may see with the same body; else 409."""
        if not self.visible(view):
            raise self.hidden()
        shown = self.original(view)
        differ = [name for name in differing_fields(self.sent, shown) if name not in self.ignore]
        if differ:
            raise HTTPException(409, f"{', '.join(differ)}: the {self.what} under this {self.key} was created with "
                                     f"another {'value' if len(differ) == 1 else 'values'}; a repeated create sends "
                                     "the same body (to change it, use its events)")
        return view


def differing_fields(sent: dict[str, Any], shown: Any) -> list[str]:
    """The names of the fields in `sent` that `shown` (a model or a dict) keeps with another value."""
    if isinstance(shown, BaseModel):
        shown = shown.model_dump(mode="json")
    if not isinstance(shown, dict):
        return []
    return [name for name, value in sent.items() if name in shown and not same(value, shown[name])]


def same(sent: Any, shown: Any) -> bool:
    """Equal as the caller meant it: a nested object on the fields it set, numbers by value, instants as
    instants (an offset or its absence is how they were written, not what they are)."""
    if isinstance(sent, dict) and isinstance(shown, dict):
        return not differing_fields(sent, shown)
    if isinstance(sent, list) and isinstance(shown, list):
        return len(sent) == len(shown) and all(map(same, sent, shown))
    if sent == shown:
        return True
    if isinstance(sent, (str, int, float)) and isinstance(shown, (str, int, float)) and not isinstance(sent, bool) \
            and not isinstance(shown, bool):
        try:
            return Decimal(str(sent)) == Decimal(str(shown))
        except InvalidOperation:
            pass
    if isinstance(sent, str) and isinstance(shown, str):
        try:
            a, b = datetime.fromisoformat(sent), datetime.fromisoformat(shown)
        except ValueError:
            return False
        return (a.tzinfo is None) == (b.tzinfo is None) and a == b
    return False
