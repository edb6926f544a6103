"""Fixtures of the mail tests: a real SMTP server on loopback, settings that send to it."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from config import Settings
from tests.mail.smtp_server import LoopbackSmtp


@pytest.fixture
def smtp() -> Iterator[LoopbackSmtp]:
    server = LoopbackSmtp().start()
    yield server
    server.stop()


@pytest.fixture
def mail_settings(settings: Settings, smtp: LoopbackSmtp) -> Settings:
    return settings.model_copy(update={"mail_transport": "smtp", "mail_smtp_port": smtp.port,
                                       "mail_smtp_timeout_seconds": 5.0,
                                       "public_base_url": "https://ramflow.tranemo-ulricehamn.example"})
