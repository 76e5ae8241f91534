"""The README's examples ("Ask a question" and every one of "Using it from chatbots"), run against
the real server on an index of the seeds the project ships (nothing else), and compared with what
the README prints: the same keys, and the same values where it shows them (ids, offsets, lines,
counts, merged chunks; scores to the two decimals shown; a string with ``...`` matches the parts it
keeps, in order). Only ``took_ms`` and ``snapshot_id`` differ from run to run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.conftest import REPO, Server, free_port, running_service, wait_for
from tests.e2e.conftest import Shipped
from tests.service.integrations.test_mcp import _check, _session

README = (REPO / "README.md").read_text(encoding="utf-8")
DEFAULT_BASE = "http://127.0.0.1:8000"
VARYING = {"took_ms", "snapshot_id", "snapshot_ids"}
"""Keys whose value changes with every run or build: compared on type only."""
ADMIN_KEY = "readme-admin-key-0123456789"
SCORE_DIGITS = 0.01
"""The README rounds scores to two decimals."""


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.+?)\n```", text, flags=re.DOTALL)


def _section(heading: str) -> str:
    return README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _examples(heading: str, language: str) -> list[str]:
    section = _section("Using it from chatbots")
    return _blocks(section.split(f"### {heading}", 1)[1].split("\n### ", 1)[0], language)


def _same_text(shown: str, actual: str) -> bool:
    """``shown`` is ``actual``, or ``actual`` shortened with ``...``: the kept parts appear in
    ``actual`` in order, and at its start and end unless ``...`` stands there."""
    if "..." not in shown:
        return shown == actual
    parts = [part.strip() for part in shown.split("...")]
    if parts[0] and not actual.startswith(parts[0]):
        return False
    if parts[-1] and not actual.endswith(parts[-1]):
        return False
    position = 0
    for part in filter(None, parts):
        found = actual.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return True


def assert_as_shown(shown: Any, actual: Any, path: str = "answer") -> None:
    """``actual`` has ``shown``'s keys and values, recursively; a list shows its first items."""
    if isinstance(shown, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not an object"
        assert set(actual) == set(shown), f"{path}: keys {sorted(actual)}, README shows {sorted(shown)}"
        for key, value in shown.items():
            if key in VARYING:
                assert type(actual[key]) is type(value), f"{path}.{key}: {actual[key]!r}"
            else:
                assert_as_shown(value, actual[key], f"{path}.{key}")
    elif isinstance(shown, list):
        assert isinstance(actual, list) and len(actual) >= len(shown), f"{path}: {actual!r}, README {shown!r}"
        for i, item in enumerate(shown):
            assert_as_shown(item, actual[i], f"{path}[{i}]")
    elif isinstance(shown, float):
        assert actual == pytest.approx(shown, abs=SCORE_DIGITS), f"{path}: {actual!r}, README {shown!r}"
    elif isinstance(shown, str):
        assert isinstance(actual, str) and _same_text(shown, actual), f"{path}: {actual!r}, README {shown!r}"
    else:
        assert type(actual) is type(shown) and actual == shown, f"{path}: {actual!r}, README {shown!r}"


def _run(command: list[str], server: Server) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=server.env, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _curl(command: str, server: Server) -> Any:
    return json.loads(_run(["bash", "-c", command.replace(DEFAULT_BASE, server.base_url)], server))


def _shown(printed: str, server: Server) -> Any:
    """The JSON the README prints, with its links on the test server's address."""
    return json.loads(printed.replace(DEFAULT_BASE, server.base_url))


def test_search_curl(shipped: Shipped) -> None:
    section = _section("Ask a question")
    (command,), (printed,) = _blocks(section, "sh"), _blocks(section, "json")
    body = _curl(command, shipped.server)
    assert_as_shown(_shown(printed, shipped.server), body)
    assert len(body["results"]) == json.loads(command.split("-d '", 1)[1].rstrip("'"))["top_k"]


def test_context_curl(shipped: Shipped) -> None:
    (command,), (printed,) = (_examples("Context for a prompt", language) for language in ("sh", "json"))
    body = _curl(command, shipped.server)
    shown = _shown(printed, shipped.server)
    assert_as_shown(shown, body)
    assert len(body["citations"]) == len(shown["citations"])
    merged = [c for c in shown["citations"] if len(c["chunk_ids"]) > 1]
    assert merged, "the README's example shows how adjacent chunks merge"
    assert body["used_tokens"] <= body["max_tokens"]


def test_openai_client_example(shipped: Shipped) -> None:
    code, _ = _examples("OpenAI-compatible vector store search", "python")
    shown = [line.removeprefix("# ") for line in code.splitlines() if line.startswith("# ")]  # what it prints
    output = _run([sys.executable, "-c", code.replace(DEFAULT_BASE, shipped.server.base_url)], shipped.server)
    lines = output.rstrip("\n").splitlines()
    assert len(lines) == len(shown), output
    for line, expected in zip(lines, shown, strict=True):
        score, rest = line.split(" ", 1)
        expected_score, expected_rest = expected.split(" ", 1)
        assert rest == expected_rest, line
        assert float(score) == pytest.approx(float(expected_score), abs=SCORE_DIGITS), line


def test_openai_upload_example(shipped: Shipped, tmp_path: Path) -> None:
    """The upload example, with the client of the search example made with an admin key, against a
    service with that key over a copy of the shipped index."""
    search, upload = _examples("OpenAI-compatible vector store search", "python")
    setup = next(line for line in search.splitlines() if line.startswith("client = "))
    shown = [line.split("  # ", 1)[1] for line in upload.splitlines() if line.startswith("print(")]
    shutil.copytree(shipped.index, tmp_path / "index", symlinks=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **shipped.server.env,
        "CITESEARCH__INDEX_DIR": str(tmp_path / "index"),
        "CITESEARCH__AUTH__ADMIN_KEYS": f'["{ADMIN_KEY}"]',
    }
    code = "from openai import OpenAI\n" + setup.replace("your-key-or-anything", ADMIN_KEY) + "\n" + upload
    with running_service(env, port) as proc:
        wait_for(proc, lambda: httpx.get(f"{base}/ready", timeout=1).status_code == 200)
        output = _run([sys.executable, "-c", code.replace(DEFAULT_BASE, base)], Server(base, env))
    assert output.splitlines() == shown


def test_dify_curl(shipped: Shipped) -> None:
    (command,), (printed,) = (_examples("Dify External Knowledge API", lang) for lang in ("sh", "json"))
    body = _curl(command, shipped.server)
    shown = _shown(printed, shipped.server)
    assert_as_shown(shown, body)
    request = json.loads(command.split("-d '", 1)[1].rstrip("'"))["retrieval_setting"]
    assert 0 < len(body["records"]) <= request["top_k"]
    assert all(record["score"] >= request["score_threshold"] for record in body["records"])


def _mcp_configs() -> list[dict[str, Any]]:
    configs = [json.loads(block) for block in _examples("MCP (Model Context Protocol)", "json")]
    return [config["mcpServers"]["citesearch"] for config in configs]


def test_mcp_http_config(shipped: Shipped) -> None:
    http = next(c for c in _mcp_configs() if "url" in c)
    assert http["type"] == "http"
    session = anyio.run(_session, http["url"].replace(DEFAULT_BASE, shipped.server.base_url))
    _check(session, shipped.server.base_url)


def test_mcp_stdio_config(shipped: Shipped) -> None:
    """Over stdio, with the configuration the HTTP service runs with, the links point at that
    service (no ``integrations.public_base_url`` needed when both read the same port)."""
    from mcp import StdioServerParameters

    stdio = next(c for c in _mcp_configs() if "command" in c)
    assert stdio["command"] == "/path/to/citesearch/.venv/bin/python"
    assert stdio["env"]["CITESEARCH_CONFIG"] == "/path/to/citesearch/config.yaml"
    params = StdioServerParameters(
        command=sys.executable,
        args=stdio["args"],
        # The example's config file, plus the test server's index and port (environment overrides).
        env={**shipped.server.env, **stdio["env"], "CITESEARCH_CONFIG": str(REPO / "config.yaml")},
        cwd=str(REPO),
    )
    _check(anyio.run(_session, params), shipped.server.base_url)
