"""Issue 19, items 1 and 2: header floods and slowloris are stopped by the server, before the app."""

from __future__ import annotations

import os
import socket
import threading
import time

import httpx

from tests.security.conftest import Serve, raw_request

HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def test_a_huge_header_is_refused_with_431_at_once(served: Serve) -> None:
    # Today's uvicorn+httptools parsed headers of any size (64 MB: 4.7 s; 500 MB: 9 minutes, +1 GB).
    with served() as (base_url, _, _):
        slowest: list[float] = []
        statuses: list[int | str] = []  # checked below: an assert in the thread would only warn
        stop = threading.Event()

        def probe() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    statuses.append(httpx.get(f"{base_url}/health", timeout=10).status_code)
                except httpx.HTTPError as exc:
                    statuses.append(repr(exc))
                slowest.append(time.perf_counter() - started)
                time.sleep(0.02)

        prober = threading.Thread(target=probe)
        prober.start()
        started = time.perf_counter()
        answer = raw_request(base_url, HEAD + b"X-Big: " + b"a" * (4 << 20) + b"\r\n\r\n")
        elapsed = time.perf_counter() - started
        stop.set()
        prober.join()
    assert answer == b"HTTP/1.1 431 Request Header Fields Too Large", answer
    assert elapsed < 2, elapsed
    assert statuses and set(statuses) == {200}, statuses  # the service kept answering meanwhile
    assert max(slowest) < 1, max(slowest)


def test_too_many_headers_get_431(served: Serve) -> None:
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(200))
    with served() as (base_url, _, _):
        assert raw_request(base_url, HEAD + many + b"\r\n").startswith(b"HTTP/1.1 431")
        assert raw_request(base_url, HEAD + b"X-Fine: yes\r\n\r\n").startswith(b"HTTP/1.1 200")


def test_a_half_sent_request_is_closed_after_the_header_timeout(served: Serve) -> None:
    # Today's server kept 19,800 half-sent requests open indefinitely.
    with served(header_timeout_seconds=1.0) as (base_url, _, _):
        host, port = base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(HEAD + b"X-Slow: ")
            started = time.perf_counter()
            data = b"?"
            while data and time.perf_counter() - started < 8:
                try:
                    sock.sendall(b"a")  # one more byte a while: never completes the head
                    sock.settimeout(0.25)
                    data = sock.recv(100)
                except TimeoutError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    data = b""
            closed_after = time.perf_counter() - started
    assert closed_after < 4, closed_after


def _server_sockets(port: int) -> int:
    """Sockets of this process (the server runs in a thread of it) accepted on ``port``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            sock = socket.socket(fileno=os.dup(int(fd)))
        except OSError:
            continue
        try:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.getsockname()[1] == port:
                count += sock.getpeername() is not None
        except OSError:
            pass
        finally:
            sock.close()
    return count


def test_connections_are_capped(served: Serve) -> None:
    # Today's server accepted connections until the file-descriptor limit; then new clients got resets.
    with served(max_connections=20, header_timeout_seconds=30) as (base_url, _, _):
        host, port = base_url.removeprefix("http://").split(":")
        idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(60)]
        try:
            time.sleep(0.5)
            accepted = _server_sockets(int(port))
        finally:
            for sock in idle:
                sock.close()
        assert 0 < accepted <= 22, accepted  # 20, plus a connection the server may be closing
        assert httpx.get(f"{base_url}/health", timeout=10).status_code == 200  # slots free again
