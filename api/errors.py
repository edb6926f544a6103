"""How Temporal and domain errors become HTTP answers that name the rule or the field."""
from __future__ import annotations

from fastapi import HTTPException
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.refusals import record_refusal

# ApplicationError types raised by workflows and activities, and the status the API answers.
STATUS_BY_ERROR_TYPE = {
    "IllegalTransition": 409,
    "NotCertified": 422,
    "InvalidOrder": 422,
    "InvalidCommand": 422,
    "Forbidden": 403,
    "NoModel": 409,
}


def http_error(error: Exception, not_found: str = "not found") -> HTTPException:
    """Translate what a Temporal call raised; unknown errors are re-raised by the caller."""
    answer = _translate(error, not_found)
    if answer.status_code in (403, 409, 422):  # issue 11: a refused command leaves no trace in Temporal
        record_refusal(answer.status_code, str(answer.detail))  # (no-op outside a command's request)
    return answer


def _translate(error: Exception, not_found: str) -> HTTPException:
    if isinstance(error, WorkflowUpdateFailedError):
        cause = error.cause
        while cause is not None and not isinstance(cause, ApplicationError):
            cause = cause.cause
        if isinstance(cause, ApplicationError):
            return HTTPException(STATUS_BY_ERROR_TYPE.get(cause.type or "", 409), cause.message)
        return HTTPException(409, str(error.cause or error))
    if isinstance(error, RPCError):
        if error.status == RPCStatusCode.NOT_FOUND:
            return HTTPException(404, not_found)
        if error.status == RPCStatusCode.FAILED_PRECONDITION or "completed" in error.message:
            return HTTPException(409, f"{not_found.split(':')[0]}: the process has ended ({error.message})")
    raise error
