"""Serve an app over real HTTP on 127.0.0.1 from a background thread, with the server and limits
``python -m service`` uses (granian, embedded), for socket-level tests."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator

import httpx
import msgspec
from litestar import Litestar

from service.runtime.serving import server
from service.settings import ServiceSettings
from tests.conftest import free_port


@contextlib.contextmanager
def serve(app: Litestar, timeout: float = 60, settings: ServiceSettings | None = None) -> Iterator[str]:
    """Run ``app`` (lifespan included) until the block ends; yields its base URL. ``settings``: the
    server's limits (default: the app's own ``service`` settings)."""
    port = free_port()
    service = settings if settings is not None else app.state.settings.service
    embedded = server(app, msgspec.structs.replace(service, host="127.0.0.1", port=port))
    loop = asyncio.new_event_loop()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(embedded.serve())
        except BaseException as exc:  # reported by the waiting loop below
            failure.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        assert not failure and thread.is_alive(), f"the server failed to start: {failure}"
        assert time.monotonic() < deadline, "the server did not start in time"
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{base}/health", timeout=1)
            break
        time.sleep(0.05)
    try:
        yield base
    finally:
        loop.call_soon_threadsafe(embedded.stop)
        thread.join(timeout=30)
