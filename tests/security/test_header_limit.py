"""Issue 24: the request head limit is the documented one, ``service.max_header_bytes`` (65,536 bytes
by default) to the byte; one 100,000-byte header used to be answered 200 (431 only at 120,000)."""

from __future__ import annotations

import pytest

from tests.security.conftest import Serve, raw_request

LIMIT = 65_536


def _head(size: int, *, headers: int = 1) -> bytes:
    """A ``GET /health`` head of exactly ``size`` bytes, padded over ``headers`` headers."""
    start = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    lines = [b"X-Pad-%d: " % i for i in range(headers)]
    room = size - len(start) - sum(len(line) + 2 for line in lines) - 2
    share, extra = divmod(room, headers)
    padded = [line + b"a" * (share + (i < extra)) + b"\r\n" for i, line in enumerate(lines)]
    head = start + b"".join(padded) + b"\r\n"
    assert len(head) == size
    return head


@pytest.mark.parametrize("headers", [1, 40])
def test_a_head_at_the_limit_is_served_and_one_byte_more_gets_431(served: Serve, headers: int) -> None:
    with served(max_header_bytes=LIMIT) as (base_url, _, _):
        assert raw_request(base_url, _head(LIMIT, headers=headers)) == b"HTTP/1.1 200 OK"
        assert raw_request(base_url, _head(LIMIT + 1, headers=headers)).startswith(b"HTTP/1.1 431")
        assert raw_request(base_url, _head(100_000, headers=headers)).startswith(b"HTTP/1.1 431")


def test_a_smaller_configured_limit_holds_too(served: Serve) -> None:
    with served(max_header_bytes=10_000) as (base_url, _, _):
        assert raw_request(base_url, _head(10_000)) == b"HTTP/1.1 200 OK"
        assert raw_request(base_url, _head(10_001)).startswith(b"HTTP/1.1 431")
