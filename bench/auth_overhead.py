"""What checking the caller costs per request (issue 8): the same read with a bearer token validated against
the local OpenID Connect issuer (signature, claims, policy, rate limit, refusal record) compared in one run
with the public liveness route and with a refused call (401, recorded in the database).

    python -m bench.auth_overhead [N]
"""
from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.main import create_app  # noqa: E402
from config import Settings  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.seed import load_reference_data  # noqa: E402
from db.session import make_sessionmaker  # noqa: E402
from scripts.local_issuer import LocalIssuer  # noqa: E402
from tests.conftest import free_port  # noqa: E402


async def timed(client: httpx.AsyncClient, path: str, headers: dict, n: int, expect: int) -> list[float]:
    latencies = []
    for _ in range(n):
        start = time.perf_counter()
        response = await client.get(path, headers=headers)
        latencies.append(time.perf_counter() - start)
        assert response.status_code == expect, response.text
    return latencies


def summary(name: str, latencies: list[float]) -> float:
    p50 = statistics.median(latencies) * 1000
    p95 = sorted(latencies)[int(len(latencies) * 0.95) - 1] * 1000
    print(f"{name:<42} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   {len(latencies) / sum(latencies):7.0f} req/s")
    return p50


async def main(n: int) -> None:
    port = free_port()
    issuer = LocalIssuer(f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(issuer.app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        await asyncio.sleep(0.02)
    url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    sessions = make_sessionmaker(url)
    load_reference_data(sessions, 2026)
    settings = Settings(database_url=url, oidc_issuer=issuer.url, rate_limit_per_minute=10**9)
    app = create_app(settings=settings, sessions=sessions)
    token = {"Authorization": f"Bearer {issuer.mint('it.anna', ['it-staff'])}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        await timed(client, "/api/v1/units", token, 20, 200)  # warm: JWKS fetched once here
        public = summary("GET /health (public, no token)", await timed(client, "/health", {}, n, 200))
        units = summary("GET /api/v1/units (token validated)", await timed(client, "/api/v1/units", token, n, 200))
        refused = summary("GET /api/v1/units (no token: 401, recorded)", await timed(client, "/api/v1/units", {}, n, 401))
    print(f"validated read / public route: {units / public:.1f}x; refused / validated: {refused / units:.2f}x")
    server.should_exit = True


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
