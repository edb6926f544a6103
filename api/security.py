"""Security around every answer: response headers, the routes auditors read the refused attempts
(recorded by api.refusals) and the changes to reference data through."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.bounds import Instant
from api.deps import SessionDep
from db.audit_models import RefusedAttempt
from db.security_models import ReferenceChange

router = APIRouter(tags=["security"])
log = logging.getLogger(__name__)


# --- headers ----------------------------------------------------------------------------------------
class SecurityHeaders:
    """nosniff on everything; API answers (personal data) are never cached and never framed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        personal = scope["path"].startswith("/api/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                if personal:
                    headers = [h for h in headers if h[0].lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                    headers.append((b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


# --- refused attempts (recorded by api.refusals.RefusalRecorder: one store with the auditors') --------------
class RefusedAttemptView(BaseModel):
    id: int
    at: datetime
    status: int
    subject: str | None = Field(validation_alias="actor", description="the validated token's subject")
    claimed_subject: str | None
    roles: list[str]
    method: str
    path: str
    workflow_id: str | None
    event: str | None
    reason: str = Field(validation_alias="message")
    client: str | None
    model_config = {"from_attributes": True}


@router.get("/security/refused-attempts", response_model=list[RefusedAttemptView])
def refused_attempts(session: SessionDep, subject: str | None = None,
                     status: Annotated[int | None, Query(ge=100, le=599)] = None,  # issue 20: a 500 beyond 64 bits
                     since: Instant | None = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[RefusedAttempt]:
    """Requests refused with 401 (no valid token), 403 (not allowed) or a command a process refused (409,
    422): who, what, when; newest first."""
    query = select(RefusedAttempt).order_by(RefusedAttempt.id.desc()).limit(limit)
    if subject is not None:
        query = query.where((RefusedAttempt.actor == subject) | (RefusedAttempt.claimed_subject == subject))
    if status is not None:
        query = query.where(RefusedAttempt.status == status)
    if since is not None:
        query = query.where(RefusedAttempt.at >= since)
    return list(session.scalars(query))


# --- reference data changes ---------------------------------------------------------------------------
def record_reference_change(session: Session, actor: str, entity: str, key: str, before: dict | None,
                            after: dict | None, reason: str | None = None) -> None:
    """Who changed which price, policy or catalogue entry, when, from what to what (committed with it)."""
    session.add(ReferenceChange(at=datetime.now(timezone.utc), actor=actor, entity=entity, key=key,
                                before=_jsonable(before), after=_jsonable(after), reason=reason))


def _jsonable(value: Any) -> Any:
    return None if value is None else json.loads(json.dumps(value, default=str))


def row_dict(row: Any, fields: tuple[str, ...] | None = None) -> dict | None:
    """The columns of an ORM row (the 'before' of a change)."""
    if row is None:
        return None
    names = fields or tuple(c.key for c in row.__table__.columns)
    return {name: getattr(row, name) for name in names}


class ReferenceChangeView(BaseModel):
    id: int
    at: datetime
    actor: str
    entity: str
    key: str
    before: dict | None
    after: dict | None
    reason: str | None
    model_config = {"from_attributes": True}


@router.get("/reference-changes", response_model=list[ReferenceChangeView])
def reference_changes(session: SessionDep, entity: str | None = None, key: str | None = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[ReferenceChange]:
    """Changes to the catalogue, equipment and application prices and renewal policies; newest first."""
    query = select(ReferenceChange).order_by(ReferenceChange.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(ReferenceChange.entity == entity)
    if key is not None:
        query = query.where(ReferenceChange.key == key)
    return list(session.scalars(query))
