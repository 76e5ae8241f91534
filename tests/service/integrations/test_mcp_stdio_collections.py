"""The MCP tools over stdio (``python -m service mcp``, with the official MCP client) serve every
collection of the configuration as the HTTP tools do: ``search`` takes ``collections`` (``["*"]``: all
of them), passages of other collections than the default have ids ``collection::doc_id#n`` that
``fetch`` reads in that collection, and links point at each collection's own document address."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import yaml

from indexer.embedding import Embedder
from tests.conftest import REPO
from tests.service.helpers import build_collection, with_collections

CORPORA = {
    "default": {"lighthouse.txt": "The old lighthouse guides ships and honey bees through the fog."},
    "papers": {"bees.txt": "Honey bees dance to tell the hive where the flowers and nectar are."},
}
BASE = "http://docs.example.org"


def _config(root: Path, embedder: Embedder) -> Path:
    """A config.yaml (the repository's, with two collections built under ``root``)."""
    settings = with_collections(root, ("default", "papers"))
    for name, documents in CORPORA.items():
        build_collection(settings, name, embedder, documents)
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["index_dir"] = str(settings.index_dir)
    config["collections"] = {name: {"seeds_dir": str(root / f"seeds-{name}")} for name in CORPORA}
    config["default_collection"] = "default"
    config.setdefault("integrations", {})["public_base_url"] = BASE
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def _calls(config: Path, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    from mcp import Client, StdioServerParameters

    env = {key: value for key, value in os.environ.items() if not key.startswith("CITESEARCH")}
    env["CITESEARCH_CONFIG"] = str(config)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "service", "mcp"], env=env, cwd=str(REPO)
    )
    async with Client(params, read_timeout_seconds=60) as client:
        return [await client.call_tool(tool, arguments) for tool, arguments in calls]


def test_stdio_searches_and_fetches_every_collection(tmp_path: Path, embedder: Embedder) -> None:
    config = _config(tmp_path, embedder)
    everything, papers, default, fetched, missing, unknown = anyio.run(
        _calls,
        config,
        [
            ("search", {"query": "honey bees", "collections": ["*"]}),
            ("search", {"query": "honey bees", "collections": ["papers"]}),
            ("search", {"query": "lighthouse fog"}),
            ("fetch", {"id": "papers::bees.txt#0"}),
            ("fetch", {"id": "papers::lighthouse.txt#0"}),
            ("search", {"query": "honey bees", "collections": ["nope"]}),
        ],
    )
    ids = [r["id"] for r in everything.structured_content["results"]]
    assert ids[0] == "papers::bees.txt#0" and "lighthouse.txt#0" in ids
    only = papers.structured_content["results"]
    assert [r["id"] for r in only] == ["papers::bees.txt#0"]
    assert only[0]["url"].startswith(f"{BASE}/v1/collections/papers/documents/bees.txt?start=")
    first = default.structured_content["results"][0]  # no collections: the default one, as before
    assert first["id"] == "lighthouse.txt#0" and first["url"].startswith(
        f"{BASE}/v1/documents/lighthouse.txt"
    )
    document = fetched.structured_content
    assert not fetched.is_error and document["text"] == CORPORA["papers"]["bees.txt"]
    assert document["metadata"]["doc_id"] == "bees.txt" and "/v1/collections/papers/" in document["url"]
    assert missing.is_error  # the default's document is not in papers
    assert unknown.is_error and "no collection" in unknown.content[0].text
