"""The README's examples ("Ask a question" and every one of "Using it from chatbots"), run against the
real server; a JSON answer printed in the README must have the real answer's shape."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import anyio

from tests.conftest import REPO, Server
from tests.service.integrations.test_mcp import _check, _session

README = (REPO / "README.md").read_text(encoding="utf-8")
DEFAULT_BASE = "http://127.0.0.1:8000"


NULLABLE = {"date", "section", "page_start", "page_end"}
"""Fields a citation may leave null: the README shows either a value or null for them."""
"""Keys whose value may be null where the README shows one (a document without a date line)."""


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.+?)\n```", text, flags=re.DOTALL)


def _examples(heading: str, language: str) -> list[str]:
    section = README.split("## Using it from chatbots", 1)[1].split("\n## ", 1)[0]
    return _blocks(section.split(f"### {heading}", 1)[1].split("\n### ", 1)[0], language)


def _assert_same_shape(example: Any, actual: Any, path: str = "answer") -> None:
    """``actual`` has ``example``'s keys and value types, recursively (every list item like the
    example's first)."""
    if isinstance(example, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not an object"
        assert set(actual) == set(example), f"{path}: keys {sorted(actual)}, README shows {sorted(example)}"
        for key, value in example.items():
            if not (key in NULLABLE and None in (value, actual[key])):
                _assert_same_shape(value, actual[key], f"{path}.{key}")
    elif isinstance(example, list):
        assert example and isinstance(actual, list) and actual, f"{path}: {actual!r} against {example!r}"
        for i, item in enumerate(actual):
            _assert_same_shape(example[0], item, f"{path}[{i}]")
    else:
        assert type(actual) is type(example), f"{path}: {actual!r}, README shows {example!r}"


def _run(command: list[str], server: Server) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=server.env, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_search_curl(server: Server) -> None:
    section = README.split("\n## Ask a question\n", 1)[1].split("\n## ", 1)[0]
    (command,), (printed,) = _blocks(section, "sh"), _blocks(section, "json")
    body = json.loads(_run(["bash", "-c", command.replace(DEFAULT_BASE, server.base_url)], server))
    example = json.loads(printed)
    _assert_same_shape(example, body)
    assert len(body["results"]) == 3
    assert body["results"][0]["chunk_id"] == example["results"][0]["chunk_id"]


def test_context_curl(server: Server) -> None:
    (command,), (printed,) = (_examples("Context for a prompt", language) for language in ("sh", "json"))
    body = json.loads(_run(["bash", "-c", command.replace(DEFAULT_BASE, server.base_url)], server))
    _assert_same_shape(json.loads(printed), body)
    assert body["used_tokens"] <= 300 and body["context"].startswith("[1] ")
    assert "The war against Ukraine is but one example of this" in body["context"]


def test_openai_client_example(server: Server) -> None:
    (code,) = _examples("OpenAI-compatible vector store search", "python")
    output = _run([sys.executable, "-c", code.replace(DEFAULT_BASE, server.base_url)], server)
    lines = output.strip().splitlines()
    assert 1 <= len(lines) <= 3 and "000_9d8dce6cf410ff07.txt" in lines[0]


def test_dify_curl(server: Server) -> None:
    (command,) = _examples("Dify External Knowledge API", "sh")
    body = json.loads(_run(["bash", "-c", command.replace(DEFAULT_BASE, server.base_url)], server))
    records = body["records"]
    assert records and records[0]["metadata"]["doc_id"] == "notes/cooking.md"
    assert all(r["score"] >= 0.2 for r in records)


def _mcp_configs() -> list[dict[str, Any]]:
    configs = [json.loads(block) for block in _examples("MCP (Model Context Protocol)", "json")]
    return [config["mcpServers"]["citesearch"] for config in configs]


def test_mcp_http_config(server: Server) -> None:
    http = next(c for c in _mcp_configs() if "url" in c)
    assert http["type"] == "http"
    session = anyio.run(_session, http["url"].replace(DEFAULT_BASE, server.base_url))
    _check(session, server.base_url)


def test_mcp_stdio_config(server: Server) -> None:
    from mcp import StdioServerParameters

    stdio = next(c for c in _mcp_configs() if "command" in c)
    assert stdio["command"] == "/path/to/citesearch/.venv/bin/python"
    assert stdio["env"]["CITESEARCH_CONFIG"] == "/path/to/citesearch/config.yaml"
    params = StdioServerParameters(
        command=sys.executable,
        args=stdio["args"],
        # The example's config file, plus the test server's index (via environment overrides).
        env={**server.env, **stdio["env"], "CITESEARCH_CONFIG": str(REPO / "config.yaml")},
        cwd=str(REPO),
    )
    _check(anyio.run(_session, params), server.base_url)
