"""A snapshot written by the previous schema (before document formats) is refused by the service,
which says to rebuild; the builder rebuilds it from scratch (tests/indexer/build/test_formats_build.py)."""

from __future__ import annotations

import json

from litestar.testing import TestClient

from indexer.build import Builder
from indexer.snapshot import current_dir
from service.app import create_app
from service.settings import AppSettings
from tests.documents import write_collection
from tests.hash_embedder import HashEmbedder


def test_the_service_refuses_a_snapshot_of_the_previous_schema_and_says_to_rebuild(
    settings: AppSettings,
) -> None:
    write_collection(settings.seeds_dir)
    Builder(settings, HashEmbedder).build()
    manifest_path = current_dir(settings.index_dir) / "manifest.json"
    old = json.loads(manifest_path.read_text())
    old["schema_version"] = 1
    manifest_path.write_text(json.dumps(old))
    with TestClient(app=create_app(settings, embedder=HashEmbedder())) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert "schema version 1" in ready.text and "rebuild" in ready.text
        assert client.post("/v1/search", json={"query": "moon"}).status_code == 503
