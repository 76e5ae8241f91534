"""Issue 19, item 9: an MCP tool error carries the reason a REST client gets, without a traceback."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

from tests.security.conftest import Serve


async def _calls(url: str) -> list[Any]:
    from mcp import Client

    async with Client(url, read_timeout_seconds=60) as client:
        return [
            await client.call_tool("search", {"query": "   "}),
            await client.call_tool("search", {"query": "x" * 3000}),
            await client.call_tool("fetch", {"id": "no/such.txt"}),
        ]


def test_tool_errors_say_why_and_log_no_traceback(served: Serve, caplog: pytest.LogCaptureFixture) -> None:
    # Today: only "Error executing tool ..." and a 100-line traceback in the log.
    with caplog.at_level(logging.INFO), served() as (base_url, _, _):
        empty, long, missing = anyio.run(_calls, f"{base_url}/mcp")
    texts = [call.content[0].text for call in (empty, long, missing)]
    assert all(call.is_error for call in (empty, long, missing))
    assert "query must not be empty" in texts[0]
    assert "3000 characters long; the limit is 2000" in texts[1]
    assert "no passage or document with id 'no/such.txt'" in texts[2]
    assert not [r for r in caplog.records if r.exc_info], [
        r.getMessage() for r in caplog.records if r.exc_info
    ]


def test_an_idle_mcp_event_stream_is_closed(served: Serve) -> None:
    # Today: an authenticated GET /mcp stream stayed open forever.
    import time

    import httpx

    headers = {"Accept": "text/event-stream", "MCP-Protocol-Version": "2025-06-18"}
    with served(stream_idle_seconds=1.0) as (base_url, _, _):
        started = time.perf_counter()
        with httpx.stream("GET", f"{base_url}/mcp", headers=headers, timeout=30) as response:
            assert response.status_code == 200, response.status_code
            for _ in response.iter_bytes():
                pass
        assert time.perf_counter() - started < 5
