"""Ramflow settings: every knob comes from an environment variable (pydantic-settings)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache

from pydantic import Field, field_validator
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
    schedules_enabled: bool = Field(True, description="create or update the yearly Temporal Schedules when the worker starts")

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
