"""FastAPI dependencies: one Temporal client and one session factory per process, the caller (from the
bearer token), the HTTP→process path and the Idempotency-Key header."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from api.auth import Principal, authenticate
from api.processes import ProcessPath
from config import Settings


def get_client(request: Request) -> Client:
    return request.app.state.client


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """A session for a sync (`def`) endpoint: FastAPI runs it in a worker thread, never on the event loop.
    Async endpoints use `ProcessDep.db` instead (no connection held across an await on Temporal)."""
    maker: sessionmaker[Session] = request.app.state.sessions
    with maker() as session:
        yield session


def get_session_factory(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def get_process_path(request: Request) -> ProcessPath:
    state = request.app.state
    return ProcessPath(state.client, state.settings, state.sessions)


async def get_principal(request: Request) -> Principal:
    """The caller, from the validated bearer token (api.auth); api.policy.enforce has already checked it."""
    return await authenticate(request)


async def get_actor(principal: Annotated[Principal, Depends(get_principal)]) -> str:
    """The ONE place the acting user comes from (routes take `actor: ActorDep`): the token's subject
    (`oid` on Entra ID, else `sub`), never a header."""
    return principal.subject


def get_idempotency_key(
    idempotency_key: Annotated[str | None, Header(
        min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
        description="makes a creating POST safe to retry: the same key answers the same resource")] = None,
) -> str | None:
    return idempotency_key


ClientDep = Annotated[Client, Depends(get_client)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
ProcessDep = Annotated[ProcessPath, Depends(get_process_path)]
ActorDep = Annotated[str, Depends(get_actor)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
IdempotencyKeyDep = Annotated[str | None, Depends(get_idempotency_key)]

# Pagination of every list, done in SQL (LIMIT/OFFSET); bounded so that no value overflows the database.
Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many rows")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="skip this many rows")]
