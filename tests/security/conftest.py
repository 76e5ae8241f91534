"""The service attacked over real HTTP: an app built by the factory, served on 127.0.0.1 by the
server ``python -m service`` uses (granian, embedded, from a thread), with small limits so that each
attack is proven in a second or two."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import msgspec
import pytest

from indexer.embedding import Embedder
from service.app import create_app
from service.settings import AppSettings
from tests.service.helpers import FIRST, build, corpus_settings
from tests.service.server import serve

Serve = Callable[..., AbstractContextManager[tuple[str, AppSettings, Any]]]


@pytest.fixture
def served(tmp_path: Path, embedder: Embedder) -> Serve:
    """``served(**service_fields)``: a small index served with those ``service`` settings; yields
    (base URL, settings, app)."""

    @contextlib.contextmanager
    def start(**service: Any) -> Iterator[tuple[str, AppSettings, Any]]:
        settings = corpus_settings(tmp_path, **{"reload_poll_seconds": 0, **service})
        if not (settings.index_dir / "current").exists():
            build(settings, embedder, FIRST)
        app = create_app(settings, embedder=embedder)
        with serve(app) as base_url:
            yield base_url, settings, app

    return start


def raw_request(base_url: str, head: bytes, timeout: float = 10) -> bytes:
    """Send ``head`` (a request head, written by the test) and return the first line of the answer
    (``b""`` if the server closed the connection without one).

    The answer is read as soon as it arrives, while ``head`` is still being sent: a server that
    refuses a large head early answers, then closes with the rest unread (a reset), and reading
    only after sending everything would find the reset instead of the answer."""
    host, port = base_url.removeprefix("http://").split(":")
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.setblocking(False)
        sent = 0
        while (remaining := deadline - time.monotonic()) > 0:
            sending = [sock] if sent < len(head) else []
            readable, writable, _ = select.select([sock], sending, [], remaining)
            if readable:
                try:
                    return sock.recv(200).split(b"\r\n")[0]
                except ConnectionResetError:
                    return b""
            if writable:
                try:
                    sent += sock.send(head[sent : sent + 65_536])
                except (BrokenPipeError, ConnectionResetError):
                    sent = len(head)  # refused early: what it said (if anything) is still to be read
        raise TimeoutError(f"no answer within {timeout} s")


def with_service(settings: AppSettings, **fields: Any) -> AppSettings:
    return msgspec.structs.replace(settings, service=msgspec.structs.replace(settings.service, **fields))
