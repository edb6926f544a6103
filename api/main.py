"""The Ramflow HTTP API (OpenAPI at /docs)."""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from api.routes import agreements, billing, calendar, catalogue, devices, governance, outbox, reference, tickets
from config import Settings, get_settings
from db.session import make_sessionmaker


def create_app(settings: Settings | None = None, client: Client | None = None,
               sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """Build the app; tests pass their own client and database, production connects in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.client is None:  # one client per process, not per request
            from worker import connect

            app.state.client = await connect(app.state.settings)
        yield

    app = FastAPI(
        title="Ramflow",
        version="0.1.0",
        description="Workflow orchestration for the joint IT unit of Tranemo and Ulricehamn (Ramuppdrag IT). "
        "Every mutating call needs the `X-Actor` header: it is recorded in the process's audit log.",
        lifespan=lifespan,
    )
    app.state.settings = settings or get_settings()
    app.state.client = client
    app.state.sessions = sessions or make_sessionmaker(app.state.settings.database_url)
    for module in (devices, catalogue, reference, outbox, tickets, calendar, agreements, governance, billing):
        app.include_router(module.router, prefix="/api/v1")

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


app = create_app()  # uvicorn api.main:app
