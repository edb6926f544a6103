"""FastAPI dependencies: one Temporal client and one session factory per process, the caller (from the bearer token)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from api.auth import Principal, authenticate
from config import Settings


def get_client(request: Request) -> Client:
    return request.app.state.client


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    maker: sessionmaker[Session] = request.app.state.sessions
    with maker() as session:
        yield session


def get_session_factory(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


async def get_principal(request: Request) -> Principal:
    """The caller, from the validated bearer token (api.auth); api.policy.enforce has already checked it."""
    return await authenticate(request)


async def get_actor(principal: Annotated[Principal, Depends(get_principal)]) -> str:
    """The acting user of every audit record: the token's subject (`oid` on Entra ID, else `sub`)."""
    return principal.subject


ClientDep = Annotated[Client, Depends(get_client)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
ActorDep = Annotated[str, Depends(get_actor)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
