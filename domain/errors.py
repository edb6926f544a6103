"""The one table of business errors (pure data): the ApplicationError type a workflow or an activity raises
for a refusal → the HTTP status the API answers. Workflows never retry these (workflows/base.py: retrying
cannot fix a refusal, nor a lookup of something that does not exist — `LookupError` raised by an activity,
issue 7); the API translates them (api/errors.py)."""
from __future__ import annotations

BUSINESS_ERRORS: dict[str, int] = {
    "IllegalTransition": 409,
    "InvalidOrder": 422,
    "InvalidCommand": 422,
    "NotCertified": 422,
    "Forbidden": 403,
    "NoModel": 409,
    "NotFound": 404,
    "LookupError": 422,
}
