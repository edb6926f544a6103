"""How Temporal, database and domain errors become HTTP answers that name the rule or the field.

One table (domain.errors.BUSINESS_ERRORS) maps a business error type to its status for workflows
(never retried) and the API alike. A dependency that is away (Temporal, the worker, the database) is a
503 with Retry-After, never a hang or a 500 (issue 7)."""
from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy import exc as sa_exc
from temporalio.client import (
    RPCTimeoutOrCancelledError,
    WorkflowFailureError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.refusals import record_refusal
from domain.errors import BUSINESS_ERRORS

log = logging.getLogger("ramflow.api")

# RPC statuses that mean "the server (or what it waits for) is away or overloaded": try again later.
TRANSIENT = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED,
                       RPCStatusCode.CANCELLED, RPCStatusCode.ABORTED, RPCStatusCode.UNKNOWN})
# Echoed input in a 422 is cut to this many characters (a 5 MB body is never sent back).
MAX_ECHO = 200


class AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: a lone surrogate in echoed input can never make encoding fail (a 500)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


class ErrorDetail(BaseModel):
    """Every refusal: `detail` names the field or the rule (a list of field errors for malformed input)."""

    detail: str | list[dict[str, Any]]


_ERROR = {"model": ErrorDetail}
# Documented on every route (api.main): what any call may answer besides its own success.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {**_ERROR, "description": "not found (the field says which)"},
    409: {**_ERROR, "description": "the state or the rule does not allow it"},
    413: {**_ERROR, "description": "request body too large"},
    422: {**_ERROR, "description": "invalid input: the field and the rule"},
    503: {**_ERROR, "description": "Temporal, the worker or the database is away: retry after Retry-After seconds "
                                  "(creating POSTs are safe to retry)",
          "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}},
}
# The same, for a route whose success is not JSON (text/plain, text/csv): its refusals still are.
JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": entry["description"],
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}}}
    for code, entry in COMMON_RESPONSES.items()}
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(char) <= 0xDFFF for char in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


async def reject_lone_surrogates(request: Request) -> None:
    """A JSON body whose text has a lone UTF-16 surrogate (`"\\ud800"`) cannot be stored, sent to Temporal or
    answered back: 422 before anything is done with it."""
    if request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()
        if _SURROGATE_ESCAPE.search(body):
            try:
                parsed = json.loads(body)
            except ValueError:
                return  # malformed JSON: FastAPI answers 422 itself
            if _has_lone_surrogate(parsed):
                raise HTTPException(422, "body: text must be valid Unicode (a lone surrogate escape was sent)")


class Unavailable(Exception):
    """A dependency did not answer in time: the API answers 503 with Retry-After."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def transient(error: BaseException) -> bool:
    return isinstance(error, RPCTimeoutOrCancelledError) or (
        isinstance(error, RPCError) and error.status in TRANSIENT)


def business_cause(error: BaseException) -> ApplicationError | None:
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    return cause


def http_error(error: Exception, not_found: str = "not found") -> Exception:
    """Translate what a Temporal call raised into an HTTPException (or Unavailable); unknown errors are
    returned as they are so that the caller re-raises them. A refused command (403/409/422) is noted for
    the refused-attempts record (issue 11: it leaves no trace in Temporal; api.refusals)."""
    answer = _translate(error, not_found)
    if isinstance(answer, HTTPException) and answer.status_code in (403, 409, 422):
        record_refusal(answer.status_code, str(answer.detail))  # (no-op outside a command's request)
    return answer


def _translate(error: Exception, not_found: str) -> Exception:
    if transient(error):
        return Unavailable(f"Temporal: {error}")
    if isinstance(error, (WorkflowUpdateFailedError, WorkflowFailureError)):
        cause = business_cause(error.cause)
        if cause is not None:
            return HTTPException(BUSINESS_ERRORS.get(cause.type or "", 409), cause.message)
        return HTTPException(409, str(error.cause or error))
    if isinstance(error, (WorkflowQueryFailedError, WorkflowQueryRejectedError)):
        return HTTPException(404, f"{not_found} (the process cannot answer this view)")
    if isinstance(error, RPCError):
        if error.status == RPCStatusCode.NOT_FOUND and "completed" not in error.message:
            return HTTPException(404, not_found)
        if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION) or "completed" in error.message:
            return HTTPException(409, f"{not_found.split(':')[0]}: the process has ended ({error.message})")
        if error.status == RPCStatusCode.INVALID_ARGUMENT:
            return HTTPException(422, f"{not_found.split(':')[0]}: {error.message[:MAX_ECHO]}")
    return error


def _unavailable(retry_after: int, what: str) -> JSONResponse:
    return AsciiJSONResponse({"detail": f"temporarily unavailable: {what}; retry after {retry_after} s "
                                   "(a creating POST is safe to retry with its business key or Idempotency-Key)"},
                        status_code=503, headers={"Retry-After": str(retry_after)})


def _short(value: object) -> object:
    if isinstance(value, (bytes, bytearray)):  # a body that was not parsed (not JSON): its text, JSON-safe
        value = bytes(value).decode("utf-8", "replace")
    text = repr(value) if not isinstance(value, str) else value
    return value if len(text) <= MAX_ECHO else f"{text[:MAX_ECHO]}… ({len(text)} characters)"


def _unparsed_body(error: RequestValidationError) -> bool:
    """FastAPI hands the raw bytes of a body it did not read as JSON (its Content-Type says otherwise)."""
    return any(tuple(item.get("loc", ()))[:1] == ("body",) and isinstance(item.get("input"), (bytes, bytearray))
               for item in error.errors())


def _short_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def install_error_handlers(app: FastAPI) -> None:
    def retry_after() -> int:
        return app.state.settings.retry_after_seconds

    @app.exception_handler(Unavailable)
    async def _on_unavailable(_request: Request, error: Unavailable) -> JSONResponse:
        return _unavailable(retry_after(), error.what)

    @app.exception_handler(RPCError)
    async def _on_rpc(_request: Request, error: RPCError) -> JSONResponse:
        if error.status in TRANSIENT:
            return _unavailable(retry_after(), "Temporal did not answer")
        log.exception("unexpected Temporal error", exc_info=error)
        return AsciiJSONResponse({"detail": f"Temporal refused the call: {error.message[:MAX_ECHO]}"}, status_code=502)

    @app.exception_handler(RPCTimeoutOrCancelledError)
    async def _on_rpc_timeout(_request: Request, _error: RPCTimeoutOrCancelledError) -> JSONResponse:
        return _unavailable(retry_after(), "Temporal did not answer in time")

    @app.exception_handler(sa_exc.TimeoutError)
    async def _on_pool(_request: Request, _error: sa_exc.TimeoutError) -> JSONResponse:
        return _unavailable(retry_after(), "no free database connection")

    @app.exception_handler(sa_exc.OperationalError)
    async def _on_db(_request: Request, error: sa_exc.OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", str(error)[:MAX_ECHO])
        return _unavailable(retry_after(), "the database did not answer")

    @app.exception_handler(RequestValidationError)
    async def _on_invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        """422 naming the field; the offending input is cut short, never echoed whole. A body sent as something
        other than JSON is 415 (issue 20: it was a 500)."""
        if _unparsed_body(error):
            return AsciiJSONResponse({"detail": "Content-Type: send the body as application/json"},
                                     status_code=415)
        detail = []
        for item in error.errors():
            entry = {key: item[key] for key in ("type", "loc", "msg") if key in item}
            if "input" in item:
                entry["input"] = _short(item["input"])
            if "ctx" in item:
                entry["ctx"] = {k: _short(str(v)) for k, v in item["ctx"].items()}
            detail.append(entry)
        return AsciiJSONResponse({"detail": detail[:20]}, status_code=422)

    @app.exception_handler(ValidationError)
    async def _on_model(_request: Request, error: ValidationError) -> JSONResponse:
        """A domain model built from the request (and its actor) refused a value: the caller's input, 422."""
        detail = [{"type": item["type"], "loc": [error.title, *item["loc"]], "msg": item["msg"],
                   "input": _short(item.get("input"))} for item in error.errors()]
        return AsciiJSONResponse({"detail": detail[:20]}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _on_http(_request: Request, error: HTTPException) -> JSONResponse:
        detail = error.detail if not isinstance(error.detail, str) else str(_short_text(error.detail, 1000))
        return AsciiJSONResponse({"detail": detail}, status_code=error.status_code, headers=error.headers)
