"""A body field the API does not know is refused (issue 20): whatever a create or an event accepts is stored
and shown, or refused with 422 naming the field, never silently dropped (a misspelt `descripton`, a field of
another version of the API).

One app-wide dependency, after the access policy (an unauthenticated caller learns nothing of the bodies): it
reads the route's body model from the route itself and compares the JSON sent with what the model took,
recursively (nested objects, lists, the chosen variant of an event's `action`). The models stay as they are:
they are also the workflows' data, whose stored histories must keep reading."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError

_adapters: dict[Any, TypeAdapter] = {}  # per body model: as many as the API has


def _adapter(route: Any) -> TypeAdapter | None:
    """The body model's validator of a route with one body parameter (None: no body, or several)."""
    params = getattr(getattr(route, "dependant", None), "body_params", None)
    if not params or len(params) != 1:
        return None
    annotation = params[0].field_info.annotation
    if annotation not in _adapters:
        _adapters[annotation] = TypeAdapter(annotation)
    return _adapters[annotation]


def unknown_fields(sent: Any, taken: Any, at: tuple = ()) -> Iterator[tuple]:
    """The locations of the keys in `sent` (parsed JSON) that the validated value `taken` has no field for."""
    if isinstance(taken, BaseModel) and isinstance(sent, dict):
        if taken.model_config.get("extra") == "allow":
            return
        names = {(field.alias or name): name for name, field in type(taken).model_fields.items()}
        for key, value in sent.items():
            if key not in names:
                yield (*at, key)
            else:
                yield from unknown_fields(value, getattr(taken, names[key]), (*at, key))
    elif isinstance(taken, (list, tuple)) and isinstance(sent, list):
        for index, (value, item) in enumerate(zip(sent, taken)):
            yield from unknown_fields(value, item, (*at, index))
    elif isinstance(taken, dict) and isinstance(sent, dict):
        for key, value in sent.items():
            if key in taken:
                yield from unknown_fields(value, taken[key], (*at, key))


async def refuse_unknown_fields(request: Request) -> None:
    """422 naming every body field the route's model does not have (`extra_forbidden`, as pydantic names it)."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    adapter = _adapter(request.scope.get("route"))
    if adapter is None:
        return
    try:
        sent = json.loads(await request.body())
        taken = adapter.validate_python(sent)
    except (ValueError, ValidationError):
        return  # not JSON, or invalid: the route's own validation answers (415/422)
    unknown = list(unknown_fields(sent, taken))
    if unknown:
        raise RequestValidationError([{"type": "extra_forbidden", "loc": ("body", *loc),
                                       "msg": "Extra inputs are not permitted: this field is not stored",
                                       "input": None} for loc in unknown[:20]])
