"""The console is a client of the API: every read and every action is an HTTP call to /api/v1 inside the
same process, with the signed-in user's access token. So the console goes through the same HTTP→process
path (api/processes.py), the same access policy (api/policy.py) and the same object-level rules
(api/access.py) as any other caller — no rule lives in the console."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from console.refusals import refusal_text

TIMEOUT = 30.0


@dataclass
class Answer:
    status: int
    body: Any
    headers: httpx.Headers
    lang: str = "sv"

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def message(self) -> str:
        """The API's message for a refusal (the rule's words, its id kept), in Swedish when the console knows it
        (console.refusals, issue 23)."""
        return refusal_text(self.body, self.status, self.lang)


class Api:
    def __init__(self, app: FastAPI, token: str, lang: str = "sv") -> None:
        self.lang = lang
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.internal",
                                      headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)

    async def __aenter__(self) -> "Api":
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.aclose()

    async def _answer(self, response: httpx.Response) -> Answer:
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return Answer(response.status_code, body, response.headers, self.lang)

    async def get(self, path: str, **params: Any) -> Answer:
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        return await self._answer(await self.http.get(f"/api/v1{path}", params=clean))

    async def get_bytes(self, path: str) -> Answer:
        """A file as the API answers it (the body kept as bytes: SIE files are CP437, issue 25)."""
        response = await self.http.get(f"/api/v1{path}")
        if response.status_code >= 300:
            return await self._answer(response)
        return Answer(response.status_code, response.content, response.headers)

    async def post(self, path: str, body: dict, idempotency_key: str | None = None) -> Answer:
        # a form posted twice (double click, back button) applies once: one key per rendered form
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        return await self._answer(await self.http.post(f"/api/v1{path}", json=body, headers=headers))
