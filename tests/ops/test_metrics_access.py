"""Issue 20: /metrics answers only the bearer METRICS_TOKEN (without one set: loopback callers only), a
refused scrape never computes the page, and many scrapes at once compute it once (METRICS_CACHE_SECONDS)."""
from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import SecretStr

from api.main import create_app
from config import Settings
from observability.business import BusinessCollector
from observability.http import CachedPage

TOKEN = "scrape-token-0123456789"


@pytest.fixture
def collections(monkeypatch) -> list[int]:
    """Counts the business gauges' computations (each reads the database)."""
    calls: list[int] = []
    real = BusinessCollector.collect

    def counted(self):
        calls.append(1)
        return real(self)
    monkeypatch.setattr(BusinessCollector, "collect", counted)
    return calls


def _client(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                             base_url="http://ramflow.test", timeout=60)


def _app(database_url, sessions, **options):
    return create_app(settings=Settings(database_url=database_url, rate_limit_per_minute=100_000, **options),
                      sessions=sessions)


@pytest.mark.asyncio
async def test_metrics_without_a_token_set_answer_loopback_only(database_url, sessions, collections):
    app = _app(database_url, sessions)
    async with _client(app, "127.0.0.1") as local, _client(app, "198.51.100.7") as remote:
        assert (await local.get("/metrics")).status_code == 200
        assert (await remote.get("/metrics")).status_code == 403
    assert len(collections) == 1


@pytest.mark.asyncio
async def test_metrics_need_the_bearer_metrics_token(database_url, sessions, collections):
    app = _app(database_url, sessions, metrics_token=SecretStr(TOKEN))
    async with _client(app, "198.51.100.7") as http:
        missing = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert len(collections) == 0  # a refused scrape computes nothing
        right = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == wrong.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert right.status_code == 200 and "ramflow_business_metrics_up 1.0" in right.text


@pytest.mark.asyncio
async def test_250_concurrent_scrapes_compute_the_page_once_and_unauthorised_ones_never(database_url, sessions,
                                                                                      collections):
    app = _app(database_url, sessions, metrics_token=SecretStr(TOKEN), metrics_cache_seconds=60)
    async with _client(app, "198.51.100.7") as http:
        scrapes = await asyncio.gather(*(http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
                                         for _ in range(150)), *(http.get("/metrics") for _ in range(100)))
    assert sorted({s.status_code for s in scrapes}) == [200, 401]
    assert len(collections) == 1


def test_cached_page_is_computed_again_after_its_seconds():
    now, computed = [0.0], []
    page = CachedPage(lambda: computed.append(1) or b"page", 5, clock=lambda: now[0])
    page.get(), page.get()
    now[0] = 5.0
    page.get()
    assert len(computed) == 2
