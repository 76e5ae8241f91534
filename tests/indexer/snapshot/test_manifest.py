"""The manifest records the config's ``reading``, ``lexical`` and ``chunking`` sections as they are
declared: every setting travels (one added to the config needs no second declaration), and a manifest
written before a setting existed still opens."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from indexer.build import Builder
from indexer.config import LexicalSettings, ReadingSettings, Settings
from indexer.embedding import Embedder
from indexer.errors import SnapshotError
from indexer.snapshot import current_dir, open_current
from indexer.snapshot.manifest import read_manifest
from tests.hash_embedder import HashEmbedder


def no_model() -> Embedder:
    raise AssertionError("the model must not be loaded when nothing needs embedding")


@pytest.fixture
def built(settings: Settings) -> Settings:
    (settings.seeds_dir / "moon.txt").write_text("The lunar rover drove on Apollo 15.\n", encoding="utf-8")
    settings = msgspec.structs.replace(
        settings,
        reading=ReadingSettings(max_pages=77, max_unpacked_mb=12.5),
        lexical=LexicalSettings(k1=1.2, stemmer="none"),
    )
    Builder(settings, HashEmbedder).build()
    return settings


def _manifest_json(settings: Settings) -> tuple[Path, dict[str, object]]:
    path = current_dir(settings.index_dir) / "manifest.json"
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_every_reading_and_lexical_setting_is_recorded(built: Settings) -> None:
    _, written = _manifest_json(built)
    assert written["reading"] == msgspec.to_builtins(built.reading)
    assert written["lexical"] == msgspec.to_builtins(built.lexical)
    chunking = written["chunking"]
    assert isinstance(chunking, dict) and chunking.pop("model_token_limit") == HashEmbedder.max_seq_length
    assert chunking == msgspec.to_builtins(built.chunking)
    assert not Builder(built, no_model).build().published  # the same settings: up to date


def test_a_changed_lexical_setting_rebuilds_bm25_only(built: Settings) -> None:
    changed = msgspec.structs.replace(built, lexical=msgspec.structs.replace(built.lexical, b=0.5))
    report = Builder(changed, no_model).build()
    assert report.published and report.reused_documents == report.documents == 1
    assert open_current(changed.index_dir).manifest.lexical.b == 0.5


def test_a_manifest_from_before_a_reading_setting_existed_still_opens(built: Settings) -> None:
    path, old = _manifest_json(built)
    reading = old["reading"]
    assert isinstance(reading, dict)
    del reading["max_unpacked_mb"]  # written by a version that had no such setting
    path.write_text(json.dumps(old), encoding="utf-8")
    snapshot = open_current(built.index_dir)
    assert snapshot.manifest.reading.max_unpacked_mb == ReadingSettings().max_unpacked_mb
    snapshot.close()


@pytest.mark.parametrize(("part", "key"), [("model", "variant"), ("index", "requested")])
def test_a_schema_2_manifest_always_says_what_built_it(built: Settings, part: str, key: str) -> None:
    path, manifest = _manifest_json(built)
    section = manifest[part]
    assert isinstance(section, dict)
    del section[key]  # no schema 2 snapshot lacks it: such a file is damaged, not old
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(SnapshotError, match=f"unreadable manifest.*missing required field `{key}`"):
        read_manifest(path.parent)
