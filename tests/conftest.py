"""Shared fixtures: the real packaged model (loaded once) and settings for throwaway corpora."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from indexer.builder import Builder
from indexer.config import ModelSettings, Settings, load_settings
from indexer.embedder import Embedder, load_embedder

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SEED_DOC = "000_9d8dce6cf410ff07.txt"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real packaged all-MiniLM-L6-v2 in config.yaml's variant, loaded once per test session."""
    return load_embedder(load_settings(REPO / "config.yaml", environ={}).model)


@pytest.fixture(scope="session")
def torch_embedder(embedder: Embedder) -> Embedder:
    """The packaged model on torch (sentence-transformers), the reference for the other variants."""
    if getattr(embedder, "variant", "") == "torch":
        return embedder
    return load_embedder(ModelSettings(name="all-MiniLM-L6-v2", variant="torch"))


def make_settings(root: Path, **sections: object) -> Settings:
    """Settings from the repo's config.yaml with seeds and index inside ``root``."""
    base = load_settings(REPO / "config.yaml", environ={})
    return msgspec.structs.replace(base, seeds_dir=root / "seeds", index_dir=root / "index", **sections)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "seeds").mkdir()
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def seeded_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Settings]:
    """An index built once from the repository's seeds plus two small documents (nested folder, Markdown)."""
    root = tmp_path_factory.mktemp("seeded")
    shutil.copytree(SEEDS, root / "seeds")
    extra = root / "seeds" / "notes"
    extra.mkdir()
    (extra / "cooking.md").write_text(
        "# Bread baking\n\nKnead the dough for ten minutes, then let it rise for an hour.\n"
        "Bake at 220 degrees until the crust is golden.\n",
        encoding="utf-8",
    )
    (extra / "astronomy.txt").write_text(
        "The Moon orbits the Earth roughly every 27 days.\nIts gravity causes the ocean tides.\n",
        encoding="utf-8",
    )
    settings = make_settings(root)
    Builder(settings, lambda: embedder).build()
    yield settings
