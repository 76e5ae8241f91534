"""Issue 24: MCP ``fetch`` with an id ending in 5,000 digits logged an unhandled ValueError (Python's
int conversion limit); arguments of the wrong shape were answered with pydantic's text (the caller's
input quoted back, a link to pydantic's site). Ids are bounded and every bad call is a tool error that
names the argument, with no traceback in the log."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

from tests.security.conftest import Serve

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("fetch", {"id": "lighthouse.txt#" + "1" * 5000}),  # past the id limit
    ("fetch", {"id": "lighthouse.txt#" + "1" * 4100}),  # within it, a passage number no passage has
    ("fetch", {"id": "lighthouse.txt#²"}),  # a digit to str.isdigit, not to int()
    ("fetch", {"id": 5}),
    ("fetch", {}),
    ("search", {"query": 5}),
    ("search", {"query": "fog", "filters": "format = pdf"}),
]


async def _call_all(url: str) -> tuple[list[Any], Any]:
    from mcp import Client

    async with Client(url, read_timeout_seconds=60) as client:
        answers = [await client.call_tool(name, arguments) for name, arguments in CALLS]
        return answers, await client.call_tool("fetch", {"id": "lighthouse.txt#0"})


def test_bad_fetch_ids_and_arguments_are_tool_errors_without_tracebacks(
    served: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO), served() as (base_url, _, _):
        answers, good = anyio.run(_call_all, f"{base_url}/mcp")
    texts = [answer.content[0].text for answer in answers]
    assert all(answer.is_error for answer in answers), texts
    assert "the limit is 4200" in texts[0] or "length <= 4200" in texts[0], texts[0][:200]
    assert "no passage or document with id" in texts[1]
    assert "no passage or document with id" in texts[2]
    assert texts[3:] == [
        "invalid arguments for fetch: Expected `str`, got `int` - at `$.id`",
        "invalid arguments for fetch: Object missing required field `id`",
        "invalid arguments for search: Expected `str`, got `int` - at `$.query`",
        "invalid arguments for search: Expected `object | null`, got `str` - at `$.filters`",
    ]
    for text in texts:
        assert "pydantic" not in text and "http" not in text and "input_value" not in text, text
    assert not good.is_error and "lighthouse" in good.content[0].text
    tracebacks = [record.getMessage()[:200] for record in caplog.records if record.exc_info]
    assert tracebacks == []
