"""``python -m indexer eval`` before any work: what it says without ranx (the eval extra) or without a
BEIR collection where ``--dataset`` points."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from indexer.cli import main

REPO = Path(__file__).resolve().parents[3]


def _collection(root: Path) -> Path:
    """A two-document BEIR collection with one judged query in the ``test`` split."""
    root.mkdir()
    docs = [{"_id": "d1", "title": "Bread", "text": "Dough rises."}, {"_id": "d2", "text": "Lamps."}]
    (root / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    (root / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "dough"}) + "\n", encoding="utf-8")
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n", encoding="utf-8")
    return root


def _eval(*args: str | Path) -> int:
    return main(["--config", str(REPO / "config.yaml"), "eval", "--no-progress", *map(str, args)])


def test_without_ranx_it_names_the_install_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ranx", None)  # what an install without the eval extra finds
    dataset = _collection(tmp_path / "tiny")
    work = tmp_path / "work"
    assert _eval("--dataset", dataset, "--split", "test", "--workdir", work) == 1
    captured = capsys.readouterr()
    assert captured.err == "error: measuring retrieval quality needs ranx: pip install -e '.[eval]'\n"
    assert captured.out == ""
    assert not work.exists()  # nothing written, nothing built


def test_a_folder_that_is_no_collection_says_what_one_holds_and_where_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _eval("--dataset", tmp_path / "absent", "--workdir", tmp_path / "work") == 1
    err = capsys.readouterr().err
    assert "corpus.jsonl not found: a BEIR collection is a folder with corpus.jsonl, queries.jsonl" in err
    assert "qrels/<split>.tsv" in err
    assert "BEIR/datasets/scifact.zip" in err
    assert "docs/retrieval-quality.md" in err
    assert not (tmp_path / "work").exists()


def test_a_missing_split_lists_the_splits_the_collection_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = _collection(tmp_path / "tiny")
    assert _eval("--dataset", dataset, "--split", "dev", "--workdir", tmp_path / "work") == 1
    err = capsys.readouterr().err
    assert err.endswith("dev.tsv not found: no split 'dev' in this collection (it has test)\n")
