"""Ramflow settings: every knob comes from an environment variable (pydantic-settings)."""
from __future__ import annotations

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

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
