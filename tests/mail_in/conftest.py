"""Fixtures of the support-mailbox tests: a private Dovecot, mails to append to it, the intake over this
test's database and Temporal server."""
from __future__ import annotations

import shutil
import uuid
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Settings
from domain.support_calendar import default_calendar
from tests.mail_in.dovecot import Dovecot, DovecotMissing, running_dovecot


@pytest.fixture(scope="session", autouse=True)
def warm_calendar():
    """Rule TK-1: holidays and the time zone load here, never inside a workflow."""
    return default_calendar()


@pytest.fixture
def settings(database_url: str, issuer, tmp_path: Path) -> Settings:  # noqa: ANN001
    """The shared `settings` with the development source on: the worker's poll reads this test's Maildir."""
    return Settings(database_url=database_url, temporal_task_queue=f"test-{uuid.uuid4()}", oidc_issuer=issuer.url,
                    oidc_audience=issuer.audience, mail_in_source="maildir",
                    mail_support_maildir=str(tmp_path / "support"))


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """Its own directory outside pytest's basetemp, which concurrent pytest runs of the same user prune."""
    root = Path(tempfile.mkdtemp(prefix="ramflow-dovecot-"))
    try:
        with running_dovecot(root / "server") as server:
            yield server
    except DovecotMissing as missing:
        pytest.skip(str(missing))
    finally:
        shutil.rmtree(root, ignore_errors=True)
