"""A real HTTP server on loopback for one app (uvicorn in a thread): answers reach the caller as they do in
production, before anything the app does after them."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.conftest import free_port


@contextmanager
def live_server(app: Any, **config: Any) -> Iterator[str]:
    """The app served on 127.0.0.1 (no lifespan: tests pass their own client and database); yields its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
