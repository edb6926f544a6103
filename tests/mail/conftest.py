"""Fixtures of the support-mailbox tests: a private Dovecot, mails to append to it, the intake over this
test's database and Temporal server."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.support_calendar import default_calendar
from tests.mail.dovecot import Dovecot, running_dovecot


@pytest.fixture(scope="session", autouse=True)
def warm_calendar():
    """Rule TK-1: holidays and the time zone load here, never inside a workflow."""
    return default_calendar()


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    with running_dovecot(tmp_path / "dovecot") as server:
        yield server
