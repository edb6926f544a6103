"""FastAPI dependencies: one Temporal client and one session factory per process, the acting user."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

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


def get_actor(
    x_actor: Annotated[str, Header(min_length=1, max_length=80, description="who acts: the staff member's user id")],
) -> str:
    return x_actor


ClientDep = Annotated[Client, Depends(get_client)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
ActorDep = Annotated[str, Depends(get_actor)]
