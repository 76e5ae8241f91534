"""MCP with the official MCP Python client against the running server and over stdio (the README's
configurations: test_readme_examples)."""

from __future__ import annotations

import sys
from typing import Any

import anyio
import httpx
from litestar.testing import TestClient

from tests.conftest import REPO, Server, free_port
from tests.service.conftest import KEY

QUESTION = "What did the Secretary General call the war against Ukraine an example of?"
ANSWER = "The war against Ukraine is but one example of this"


async def _session(target: Any) -> dict[str, Any]:
    from mcp import Client

    async with Client(target, read_timeout_seconds=60) as client:
        tools = await client.list_tools()
        found = await client.call_tool("search", {"query": QUESTION})
        assert not found.is_error, found.content
        results = (found.structured_content or {})["results"]
        fetched = await client.call_tool("fetch", {"id": results[0]["id"]})
        missing = await client.call_tool("fetch", {"id": "no/such/document.txt"})
        return {
            "tools": {t.name: t for t in tools.tools},
            "results": results,
            "text": found.content[0].text,  # type: ignore[union-attr]
            "fetched": fetched,
            "missing": missing,
        }


def _check(session: dict[str, Any], base_url: str) -> None:
    assert set(session["tools"]) == {"search", "fetch"}
    assert session["tools"]["search"].input_schema["required"] == ["query"]
    results = session["results"]
    assert results and set(results[0]) == {"id", "title", "url", "text"}
    first = results[0]
    assert (
        first["id"] == "000_9d8dce6cf410ff07.txt#4" or ANSWER in session["fetched"].structured_content["text"]
    )
    assert first["title"].startswith("NATO Secretary General")
    assert first["url"].startswith(f"{base_url}/v1/documents/000_9d8dce6cf410ff07.txt?start=")
    assert (
        '"results"' in session["text"]
    )  # the same results as JSON text, for clients without structured output
    fetched = session["fetched"]
    assert not fetched.is_error
    document = fetched.structured_content
    assert set(document) == {"id", "title", "text", "url", "metadata"}
    assert document["id"] == first["id"] and document["url"] == first["url"]
    metadata = document["metadata"]
    assert metadata["date"] == "2025-04-04"
    passage = document["text"][metadata["char_start"] : metadata["char_end"]]
    assert " ".join(passage.split()).startswith(first["text"].rstrip("…"))
    assert session["missing"].is_error


def test_mcp_over_streamable_http(server: Server) -> None:
    session = anyio.run(_session, f"{server.base_url}/mcp")
    _check(session, server.base_url)
    # The citation url opens our own document view.
    first = session["results"][0]
    response = httpx.get(first["url"], timeout=30)
    assert response.status_code == 200
    document = session["fetched"].structured_content
    assert response.json()["text"] == document["text"]


def test_mcp_endpoint_honours_api_keys(keyed: TestClient) -> None:  # type: ignore[type-arg]
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"},
        },
    }
    headers = {"accept": "application/json, text/event-stream", "host": "127.0.0.1:8000"}
    refused = keyed.post("/mcp", json=initialize, headers=headers)
    assert refused.status_code == 401
    accepted = keyed.post("/mcp", json=initialize, headers={**headers, "Authorization": f"Bearer {KEY}"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["result"]["serverInfo"]["name"] == "citesearch"


def test_stdio_links_follow_the_port_the_http_service_is_given(server: Server) -> None:
    """``python -m service mcp --port P`` links to ``127.0.0.1:P`` as ``python -m service --port P``
    does (no ``integrations.public_base_url``): both transports build links from the same settings."""
    from mcp import StdioServerParameters

    port = free_port()
    env = {k: v for k, v in server.env.items() if k != "CITESEARCH__INTEGRATIONS__PUBLIC_BASE_URL"}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "service", "mcp", "--port", str(port)], env=env, cwd=str(REPO)
    )
    _check(anyio.run(_session, params), f"http://127.0.0.1:{port}")
