"""The Ramflow HTTP API (OpenAPI at /docs)."""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from api.routes import agreements, calendar, catalogue, devices, governance, outbox, reference, tickets
from config import Settings, get_settings
from db.session import make_sessionmaker
from observability.http import instrument_app, untraced


def create_app(settings: Settings | None = None, client: Client | None = None,
               sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """Build the app; tests pass their own client and database, production connects in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.client is None:  # one client per process, not per request
            from observability.logging import configure_logging
            from observability.temporal_metrics import api_runtime
            from observability.tracing import instrument_database, setup_tracing
            from worker import connect

            configure_logging(app.state.settings, "api")  # issue 13: production logging and tracing
            instrument_database(app.state.sessions, setup_tracing(app.state.settings, "ramflow-api"))
            app.state.client = await connect(app.state.settings, api_runtime())
        yield

    app = FastAPI(
        title="Ramflow",
        version="0.1.0",
        description="Workflow orchestration for the joint IT unit of Tranemo and Ulricehamn (Ramuppdrag IT). "
        "Every mutating call needs the `X-Actor` header: it is recorded in the process's audit log.",
        lifespan=lifespan,
        telemetry={"exclude": untraced},  # issue 13: request spans (native), none for /metrics and /health
    )
    app.state.settings = settings or get_settings()
    app.state.client = client
    app.state.sessions = sessions or make_sessionmaker(app.state.settings.database_url)
    for module in (devices, catalogue, reference, outbox, tickets, calendar, agreements, governance):
        app.include_router(module.router, prefix="/api/v1")

    instrument_app(app)  # issue 13: GET /metrics, request metrics, spans and request logs

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


app = create_app()  # uvicorn api.main:app
