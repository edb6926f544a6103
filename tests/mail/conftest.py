"""Fixtures of the mail tests: a real SMTP server on loopback, and settings (also the worker's and the API's)
that deliver to it."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from config import Settings
from tests.mail.smtp_server import LoopbackSmtp

PUBLIC_URL = "https://ramflow.tranemo-ulricehamn.example"


@pytest.fixture
def smtp() -> Iterator[LoopbackSmtp]:
    server = LoopbackSmtp().start()
    yield server
    server.stop()


@pytest.fixture
def settings(database_url: str, issuer, smtp: LoopbackSmtp) -> Settings:  # noqa: ANN001
    """The shared `settings` with delivery on: the worker's mail goes to this test's SMTP server."""
    return Settings(database_url=database_url, temporal_task_queue=f"test-{uuid.uuid4()}", oidc_issuer=issuer.url,
                    oidc_audience=issuer.audience, mail_transport="smtp", mail_smtp_port=smtp.port,
                    mail_smtp_timeout_seconds=5.0, public_base_url=PUBLIC_URL)


@pytest.fixture
def mail_settings(settings: Settings) -> Settings:
    return settings
