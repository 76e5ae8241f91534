"""``python -m indexer build`` with ``collections``: each collection indexed in its own folder with
its own summary, one model for all; ``--collection`` builds one; ``inspect --collection`` shows one."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer import cli
from indexer.embedding import Embedder
from indexer.snapshot import open_current
from tests.hash_embedder import HashEmbedder

DOCS = {
    "default": {"lighthouse.md": "# Lighthouse\n\nThe keeper lit the lamp at dusk every evening."},
    "papers": {
        "bees.md": "# Bees\n\nHoney bees dance to tell the hive where flowers are.",
        "ants.md": "# Ants\n\nAnts follow pheromone trails between nest and food.",
    },
    "private": {"salary.txt": "The salary table for next year is confidential."},
}


def _config(tmp_path: Path, names: tuple[str, ...] = ("default", "papers", "private")) -> Path:
    lines = ["index_dir: index", "collections:"]
    for name in names:
        seeds = tmp_path / f"seeds-{name}"
        seeds.mkdir(exist_ok=True)
        for file, text in DOCS[name].items():
            (seeds / file).write_text(text, encoding="utf-8")
        lines.append(f"  {name}: {{seeds_dir: {seeds}, description: The {name} documents}}")
    config = tmp_path / "config.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the model loads of the CLI (HashEmbedder stands in for the model)."""
    count: list[int] = []

    def model(_settings: object) -> Embedder:
        count.append(1)
        return HashEmbedder()

    monkeypatch.setattr(cli, "_model", model)
    return count


def _documents(index: Path) -> list[str]:
    snapshot = open_current(index)
    try:
        return sorted(record.doc_id for record in snapshot.store.iter_documents())
    finally:
        snapshot.close()


def test_build_indexes_every_collection_in_its_own_folder_with_one_model(
    tmp_path: Path, loads: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    assert cli.main(["--config", str(config), "build", "--no-progress"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["default", "papers", "private"]
    assert "papers: published snapshot" in out[1] and "2 documents" in out[1]
    index = tmp_path / "index"
    assert _documents(index / "default") == ["lighthouse.md"]
    assert _documents(index / "papers") == ["ants.md", "bees.md"]
    assert _documents(index / "private") == ["salary.txt"]
    assert not (index / "current").exists()
    assert len(loads) == 1
    assert cli.main(["--config", str(config), "build", "--no-progress"]) == 0
    assert all("index is up to date" in line for line in capsys.readouterr().out.splitlines())


def test_build_collection_builds_only_that_one(
    tmp_path: Path, loads: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    assert cli.main(["--config", str(config), "build", "--collection", "papers", "--no-progress"]) == 0
    assert capsys.readouterr().out.startswith("papers: published snapshot")
    assert (tmp_path / "index" / "papers" / "current").exists()
    assert not (tmp_path / "index" / "default").exists()
    assert cli.main(["--config", str(config), "build", "--collection", "nope"]) == 1
    assert "no collection 'nope' (collections: default, papers, private)" in capsys.readouterr().err


def test_a_failing_collection_does_not_stop_the_others(
    tmp_path: Path, loads: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    for file in (tmp_path / "seeds-papers").iterdir():
        file.unlink()
    (tmp_path / "seeds-papers").rmdir()
    assert cli.main(["--config", str(config), "build", "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "papers: error: seeds folder not found" in captured.err
    assert "1 of 3 collections failed" in captured.err
    assert _documents(tmp_path / "index" / "private") == ["salary.txt"]


def test_inspect_collection_shows_that_collection(
    tmp_path: Path, loads: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    assert cli.main(["--config", str(config), "build", "--no-progress"]) == 0
    capsys.readouterr()
    assert cli.main(["--config", str(config), "inspect", "--collection", "papers", "--documents"]) == 0
    out = capsys.readouterr().out
    assert "ants.md" in out and "bees.md" in out and "salary.txt" not in out
    assert str(tmp_path / "seeds-papers") in out
    assert cli.main(["--config", str(config), "inspect", "--documents"]) == 0
    out = capsys.readouterr().out
    assert "lighthouse.md" in out and "ants.md" not in out


def test_a_single_collection_index_is_kept_and_named_when_collections_are_set(
    tmp_path: Path, loads: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    seeds = tmp_path / "seeds-default"
    seeds.mkdir()
    (seeds / "lighthouse.md").write_text(DOCS["default"]["lighthouse.md"], encoding="utf-8")
    single = tmp_path / "single.yaml"
    single.write_text(f"seeds_dir: {seeds}\nindex_dir: index\n", encoding="utf-8")
    assert cli.main(["--config", str(single), "build", "--no-progress"]) == 0
    assert _documents(tmp_path / "index") == ["lighthouse.md"]
    capsys.readouterr()
    config = _config(tmp_path, ("default",))
    assert cli.main(["--config", str(config), "inspect"]) == 1
    err = capsys.readouterr().err
    assert "index/current is the index from before `collections` was set" in err
    assert f"mkdir {tmp_path / 'index' / 'default'}" in err
    index = tmp_path / "index"
    (index / "default").mkdir()
    for part in ("current", "snapshots"):
        (index / part).rename(index / "default" / part)  # what the note says to do
    assert cli.main(["--config", str(config), "inspect", "--documents"]) == 0
    assert "lighthouse.md" in capsys.readouterr().out
