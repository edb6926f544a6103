"""The Ramflow HTTP API (OpenAPI at /docs)."""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import Depends, FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from api import security
from api.auth import Jwks
from api.policy import RateLimiter, enforce
from api.routes import agreements, calendar, catalogue, devices, governance, outbox, reference, tickets
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

    settings = settings or get_settings()
    docs = settings.api_docs_enabled
    app = FastAPI(
        title="Ramflow",
        version="0.1.0",
        description="Workflow orchestration for the joint IT unit of Tranemo and Ulricehamn (Ramuppdrag IT). "
        "Every call but /health needs an OpenID Connect bearer token (`Authorization: Bearer …`); its subject "
        "is the acting user in every audit record, its roles decide what it may do (docs/security.md).",
        lifespan=lifespan,
        # one access policy for every route (api.policy): 401 without a valid token, 403 without the role
        dependencies=[Depends(enforce)],
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.add_middleware(security.SecurityHeaders)
    app.add_exception_handler(StarletteHTTPException, security.record_refusal)
    app.state.settings = settings
    app.state.jwks = Jwks(settings)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.client = client
    app.state.sessions = sessions or make_sessionmaker(app.state.settings.database_url)
    for module in (devices, catalogue, reference, outbox, tickets, calendar, agreements, governance, security):
        app.include_router(module.router, prefix="/api/v1")

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


app = create_app()  # uvicorn api.main:app
