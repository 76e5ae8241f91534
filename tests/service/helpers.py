"""Small corpora built in a test's folder, and ways to publish good and bad snapshots next to them."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import msgspec

from indexer.build import Builder
from indexer.config import CollectionSettings
from indexer.embedding import Embedder
from indexer.snapshot import CURRENT_LINK, SNAPSHOTS_DIR, current_dir
from service.settings import AppSettings as Settings
from tests.conftest import make_settings

FIRST = {"lighthouse.txt": "The old lighthouse on the rocky coast guides ships through the fog at night."}
SECOND = {"volcano.txt": "The volcano erupted and lava flowed down towards the sleeping village below."}


def corpus_settings(root: Path, **service: Any) -> Settings:
    """Settings for a corpus in ``root/seeds``, with ``service`` fields overridden."""
    (root / "seeds").mkdir(parents=True, exist_ok=True)
    settings = make_settings(root)
    if service:
        service_settings = msgspec.structs.replace(settings.service, **service)
        settings = msgspec.structs.replace(settings, service=service_settings)
    return settings


def write_corpus(settings: Settings, documents: dict[str, str]) -> None:
    """Make the seeds folder hold exactly ``documents``."""
    for old in settings.seeds_dir.iterdir():
        old.unlink()
    for name, text in documents.items():
        (settings.seeds_dir / name).write_text(text, encoding="utf-8")


def build(settings: Settings, embedder: Embedder, documents: dict[str, str]) -> str:
    """Replace the corpus with ``documents``, build and publish (even if it removes every document
    served so far); the new snapshot id."""
    write_corpus(settings, documents)
    report = Builder(settings, lambda: embedder).build(allow_shrink=True)
    assert report.published
    return report.snapshot_id


def point_current_at(index_dir: Path, name: str) -> None:
    """Switch ``current`` to ``snapshots/<name>`` the way the indexer does (one atomic rename)."""
    tmp = index_dir / f".{CURRENT_LINK}.test"
    os.symlink(Path(SNAPSHOTS_DIR) / name, tmp)
    os.replace(tmp, index_dir / CURRENT_LINK)


def publish_copy(settings: Settings, name: str, damage: str) -> Path:
    """Publish a copy of the current snapshot damaged in one way: ``corrupt`` (a data file altered),
    ``incomplete`` (a data file missing) or ``other-model`` (built with another model, says the manifest)."""
    source = current_dir(settings.index_dir)
    target = settings.index_dir / SNAPSHOTS_DIR / name
    shutil.copytree(source, target)
    if damage == "corrupt":
        store = target / "store.sqlite"
        data = bytearray(store.read_bytes())
        data[-100] ^= 0xFF
        store.write_bytes(bytes(data))
    elif damage == "incomplete":
        (target / "index.faiss").unlink()
    elif damage == "other-model":
        manifest = json.loads((target / "manifest.json").read_text())
        manifest["model"]["name"] = "sentence-transformers/all-mpnet-base-v2"
        manifest["snapshot_id"] = name
        (target / "manifest.json").write_text(json.dumps(manifest))
    else:
        raise ValueError(damage)
    point_current_at(settings.index_dir, name)
    return target


def with_collections(
    root: Path, names: tuple[str, ...] = ("default", "papers", "private"), **service: Any
) -> Settings:
    """Settings serving ``names`` from ``root/seeds-<name>``, each indexed in ``root/index/<name>``."""
    settings = corpus_settings(root, **service)
    collections = {}
    for name in names:
        seeds = root / f"seeds-{name}"
        seeds.mkdir(exist_ok=True)
        collections[name] = CollectionSettings(seeds_dir=seeds, description=f"The {name} documents")
    return msgspec.structs.replace(settings, collections=collections)


def build_collection(settings: Settings, name: str, embedder: Embedder, documents: dict[str, str]) -> str:
    collection = settings.collection(name)
    for old in collection.seeds_dir.iterdir():
        old.unlink()
    for file, text in documents.items():
        (collection.seeds_dir / file).write_text(text, encoding="utf-8")
    report = Builder(collection, lambda: embedder).build(allow_shrink=True)
    assert report.published
    return report.snapshot_id
