"""``collections`` and ``default_collection``: absent, one collection from ``seeds_dir`` in
``index_dir`` (the single-collection layout); present, each collection its seeds and its own folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.config import load_settings
from indexer.errors import ConfigError


def _load(tmp_path: Path, text: str, **environ: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, environ=environ)


def test_without_collections_the_default_is_the_seeds_folder_in_the_index_folder(tmp_path: Path) -> None:
    settings = _load(tmp_path, "seeds_dir: docs\nindex_dir: idx\n")
    assert settings.collection_names == ("default",)
    default = settings.collection("default")
    assert default.seeds_dir == tmp_path / "docs" and default.index_dir == tmp_path / "idx"
    with pytest.raises(ConfigError, match="no collection 'papers'"):
        settings.collection("papers")


def test_each_collection_has_its_seeds_and_its_own_index_folder(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        "index_dir: idx\ndefault_collection: main\ncollections:\n"
        "  papers: {seeds_dir: p, description: Lab papers}\n  main: {seeds_dir: m}\n",
    )
    assert settings.collection_names == ("main", "papers")
    papers = settings.collection("papers")
    assert papers.seeds_dir == tmp_path / "p" and papers.index_dir == tmp_path / "idx" / "papers"
    assert settings.collections is not None and settings.collections["papers"].description == "Lab papers"
    assert settings.collection("main").index_dir == tmp_path / "idx" / "main"


def test_a_collection_can_be_added_from_the_environment(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        "collections:\n  default: {seeds_dir: seeds}\n",
        CITESEARCH__COLLECTIONS__NOTES__SEEDS_DIR="/srv/notes",
    )
    assert settings.collection_names == ("default", "notes")
    assert settings.collection("notes").seeds_dir == Path("/srv/notes")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("collections:\n  Papers: {seeds_dir: p}\ndefault_collection: Papers\n", "'Papers' is not valid"),
        ("collections:\n  -x: {seeds_dir: p}\n", "'-x' is not valid"),
        (f"collections:\n  {'a' * 65}: {{seeds_dir: p}}\n", "is not valid"),
        (
            "collections:\n  papers: {seeds_dir: p}\n",
            "default_collection 'default' is not one of collections",
        ),
        ("collections:\n  default: {description: x}\n", "seeds_dir"),
        ("default_collection: 'a b'\n", "'a b' is not valid"),
    ],
)
def test_a_bad_collection_is_a_config_error(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        _load(tmp_path, text)


def test_a_single_collection_index_is_noticed_once_collections_are_set(tmp_path: Path) -> None:
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "current").symlink_to("snapshots/x")
    assert not _load(tmp_path, "seeds_dir: s\n").legacy_index()
    assert _load(tmp_path, "collections:\n  default: {seeds_dir: s}\n").legacy_index()
