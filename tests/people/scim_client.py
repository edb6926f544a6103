"""scim2-tester and scim2-client are synchronous; the API runs on the test's event loop (with its Temporal
client). This transport lets a synchronous httpx client, in a worker thread, call the ASGI app in-process on
that loop."""
from __future__ import annotations

import asyncio

import httpx
from scim2_client import BaseSyncSCIMClient


class LoopTransport(httpx.BaseTransport):
    def __init__(self, app, loop: asyncio.AbstractEventLoop) -> None:  # noqa: ANN001
        self.inner = httpx.ASGITransport(app=app)
        self.loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def call() -> httpx.Response:
            forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=request.read())
            answer = await self.inner.handle_async_request(forwarded)
            return httpx.Response(answer.status_code, headers=answer.headers, content=await answer.aread())

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(60)


def scim_http(app, headers: dict[str, str], loop: asyncio.AbstractEventLoop) -> httpx.Client:  # noqa: ANN001
    """A synchronous client of /scim/v2 over the app on the test's loop (use it from a worker thread)."""
    return httpx.Client(transport=LoopTransport(app, loop),
                        base_url="http://ramflow.test/scim/v2", headers=headers, timeout=60)


class HttpxSCIMClient(BaseSyncSCIMClient):
    """scim2-client's synchronous client over httpx (its own engine uses the `httpx2` fork)."""

    def __init__(self, client: httpx.Client, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        url = self.client.build_request("GET", endpoint).url
        base = self.client.base_url
        return url.scheme == base.scheme and url.host == base.host and url.raw_path.startswith(base.raw_path)

    def _parse_json(self, response):  # noqa: ANN001, ANN202
        return response.json()

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:  # noqa: ANN003
        return self.client.request(method, url, **kwargs)
