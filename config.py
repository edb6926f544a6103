"""Ramflow settings: every knob comes from an environment variable (pydantic-settings)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Validated settings; the environment variable of each field is its name in upper case."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    temporal_address: str = Field("127.0.0.1:7233", description="host:port of the Temporal frontend")
    temporal_namespace: str = Field("default", description="Temporal namespace")
    temporal_task_queue: str = Field("ramflow", description="task queue the worker polls")
    database_url: str = Field("sqlite:///var/ramflow.db", description="SQLAlchemy URL (SQLite or postgresql+psycopg)")
    api_host: str = Field("127.0.0.1", description="address the HTTP API binds")
    api_port: int = Field(8000, ge=1, le=65535, description="port of the HTTP API")
    renewal_lead_days: int = Field(30, ge=0, le=365, description="rule EQ-5: order the replacement this many days early")
    buyout_answer_days: int = Field(14, ge=1, le=90, description="rule EQ-11: days the employee has to answer a buyout offer")
    timezone: str = Field("Europe/Stockholm", description="local time of the municipalities")
    intefunktion_warning_share: float = Field(0.75, gt=0, lt=1, description="rule TK-5: warn when this share of the fix time is used")
    on_call_minimum_minutes: int = Field(30, ge=0, le=480, description="rule TK-8: least chargeable on-call time")
    on_call_increment_minutes: int = Field(30, ge=1, le=240, description="rule TK-8: on-call time is charged in started increments")
    on_call_hourly_rate: Decimal = Field(Decimal("950.00"), ge=0, description="rule TK-8: price per on-call hour when the price list of the year (service_prices) has none")
    move_hourly_rate: Decimal = Field(Decimal("650.00"), ge=0, description="rule TK-12: price per hour of a physical move when the price list of the year has none")
    move_increment_minutes: int = Field(30, ge=1, le=240, description="rule TK-12: a move is charged in started increments")
    survey_share: float = Field(0.25, ge=0, le=1, description="rule TK-6: share of closed tickets that get the survey")
    extra_closed_days: list[date] = Field(default_factory=list, description="rule TK-1: extra days support is closed (JSON list)")
    agreement_reminder_weeks: int = Field(4, ge=1, le=52, description="rule AG-4: remind IT and the system owner every this many weeks until the revision meeting is recorded")
    agreement_revision_month: int = Field(9, ge=1, le=12, description="rule AG-4: month the yearly agreement revision round starts (schedule)")
    agreement_revision_day: int = Field(1, ge=1, le=28, description="rule AG-4: day of month the yearly agreement revision round starts")
    framework_revision_month: int = Field(2, ge=1, le=12, description="rule GV-1: month the yearly framework change proposal is opened (schedule)")
    framework_revision_day: int = Field(1, ge=1, le=28, description="rule GV-1: day of month the yearly framework proposal is opened")
    development_case_threshold: Decimal = Field(Decimal("100000.00"), ge=0, description="rule GV-3: estimated cost (SEK) from which it-styrgrupp prioritises a development case")
    import_renewals_per_day: int = Field(50, ge=1, le=10000, description="issue 22: imported devices already past "
                                         "their renewal date are due now, this many per day (the wave is spread, EQ-5)")
    import_strict_people: bool = Field(False, description="issue 22: an import row whose user is not in the people "
                                       "register is an error (default: a warning)")
    # --- the API's front door (issue 7): bounded waits and connection pools -------------------------------
    db_pool_size: int = Field(10, ge=1, le=200, description="API: database connections kept open")
    db_max_overflow: int = Field(30, ge=0, le=500, description="API: extra connections under load")
    db_pool_timeout_seconds: float = Field(5.0, gt=0, le=120, description="API: wait for a free connection, then 503")
    db_busy_timeout_seconds: float = Field(10.0, gt=0, le=120, description="SQLite: wait for a write lock, then fail")
    temporal_rpc_timeout_seconds: float = Field(5.0, gt=0, le=120, description="API: deadline of one Temporal call (start, describe)")
    update_wait_seconds: float = Field(10.0, gt=0, le=300, description="API: longest wait for an event (Update) to be applied, then 503")
    query_wait_seconds: float = Field(2.0, gt=0, le=60, description="API: longest wait for a live view (Query) before the database mirror answers")
    retry_after_seconds: int = Field(5, ge=1, le=3600, description="API: Retry-After of a 503 while Temporal, the worker or the database is away")
    max_body_bytes: int = Field(1_000_000, ge=1024, le=2_000_000, description="API: largest request body (413 above); below Temporal's 2 MB payload limit")
    payload_encryption_keys: SecretStr | None = Field(None, description="issue 11: AES-256-GCM keys of the payload codec, "
        "'keyid=base64(32 bytes),…'; the first encrypts, all decrypt (rotation). Unset: payloads are not encrypted")
    codec_cors_origins: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8233", "http://localhost:8233"],
        description="issue 11: origins of the Temporal Web UI that may call POST /api/v1/codec/decode (JSON list)")
    schedules_enabled: bool = Field(True, description="create or update the yearly Temporal Schedules when the worker starts")
    # --- identity (OpenID Connect bearer tokens; Microsoft Entra ID in production) -------------------------
    oidc_issuer: str = Field("http://127.0.0.1:18900", description="the token issuer (`iss`); Entra ID: "
                             "https://login.microsoftonline.com/<tenant-id>/v2.0")
    oidc_audience: str = Field("api://ramflow", description="the API's audience (`aud`): on Entra ID (v2 tokens) "
                               "the Application (client) ID of the app registration")
    oidc_discovery_url: str | None = Field(None, description="default: <issuer>/.well-known/openid-configuration")
    oidc_jwks_url: str | None = Field(None, description="default: `jwks_uri` of the discovery document")
    oidc_jwks_refresh_seconds: int = Field(3600, ge=60, description="how long fetched signing keys are trusted; "
                                           "an unknown `kid` refreshes them sooner")
    oidc_unit_claim: str = Field("unit", description="claim naming a unit manager's unit (e.g. TR-KS)")
    oidc_team_claim: str = Field("team", description="claim naming an IT staff member's team")
    oidc_employee_claim: str = Field("employee_id", description="claim with the employee number; default: the subject")
    rate_limit_per_minute: int = Field(600, ge=1, description="requests per identity (or per address without a "
                                       "token) per minute, per API process; more answer 429")
    # --- the web console (issue 14): authorization-code flow with PKCE against the same issuer -------------
    console_client_id: str = Field("ramflow-console", description="console: OAuth client id (Entra ID: the "
                                   "console's app registration)")
    console_client_secret: str | None = Field(None, description="console: client secret of a confidential client "
                                              "(Entra ID web app); none for the local issuer")
    console_scope: str = Field("openid", description="console: scopes asked for (Entra ID: 'openid "
                               "api://ramflow/.default')")
    console_cookie_secure: bool = Field(True, description="console: session cookie only over HTTPS (switch off "
                                        "for http://127.0.0.1 on the embedded stack)")
    console_session_hours: float = Field(8.0, gt=0, le=24, description="console: a session lasts this long")
    api_docs_enabled: bool = Field(True, description="serve /docs, /redoc and /openapi.json (switch off in production)")
    # --- operations (issue 13): metrics, logs, traces ---------------------------------------------
    worker_metrics_host: str = Field("127.0.0.1", description="address the worker's Prometheus /metrics binds (Temporal SDK runtime)")
    worker_metrics_port: int = Field(9464, ge=0, le=65535, description="port of the worker's /metrics; 0 turns it off")
    log_format: Literal["text", "json"] = Field("text", description="text: readable lines (embedded stack); json: one JSON event per line (production)")
    log_level: str = Field("INFO", description="level of Ramflow's own loggers")
    otlp_endpoint: str | None = Field(None, description="OTLP/HTTP collector base URL (e.g. http://otel-collector:4318); unset: traces are not exported")

    @field_validator("codec_cors_origins", mode="before")
    @classmethod
    def _json_list(cls, value: object) -> object:
        """A JSON list also when given as a string (not only from the environment)."""
        import json

        return json.loads(value) if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
