"""Which changes of a source folder name a document, and when a changed file has settled."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.watch.paths import SourcePaths
from indexer.watch.settle import Settling


@pytest.mark.parametrize(
    ("name", "doc_id"),
    [
        ("report.pdf", "report.pdf"),
        ("2024/q1/report.pdf", "2024/q1/report.pdf"),
        ("2024/report.pdf.meta.json", "2024/report.pdf"),  # a sidecar's change is its document's
        ("notes.md~", None),
        ("~$report.docx", None),
        ("#notes.md#", None),
        ("4913", None),
        ("film.mp4.part", None),
        ("paper.pdf.crdownload", None),
        (".notes.md.swp", None),
        (".hidden/notes.md", None),
        (".meta.json", None),
        ("notes.md~.meta.json", None),
        ("index/current/manifest.json", None),  # the index folder, inside the source folder
        ("indexes.md", "indexes.md"),
    ],
)
def test_doc_id_of_a_changed_path(tmp_path: Path, name: str, doc_id: str | None) -> None:
    paths = SourcePaths(tmp_path, ignore=(tmp_path / "index",))
    assert paths.doc_id(tmp_path / name) == doc_id


def test_paths_outside_the_folder_name_no_document(tmp_path: Path) -> None:
    paths = SourcePaths(tmp_path / "seeds")
    assert paths.doc_id(tmp_path / "elsewhere.md") is None
    assert paths.doc_id(tmp_path / "seeds") is None


def test_files_under_a_folder_moved_in(tmp_path: Path) -> None:
    for name in ("a.md", "deep/b.md", ".git/c.md", "deep/d.md~", "index/e.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    paths = SourcePaths(tmp_path, ignore=(tmp_path / "index",))
    found = [p.relative_to(tmp_path).as_posix() for p in paths.files_under(tmp_path)]
    assert found == ["a.md", "deep/b.md"]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_file_is_ready_once_it_stopped_changing_for_the_settle_time(tmp_path: Path) -> None:
    clock = Clock()
    settling = Settling(1.0, clock)
    path = tmp_path / "big.pdf"
    path.write_bytes(b"first part")
    settling.note(path, "big.pdf")
    clock.now = 0.9
    assert settling.ready() == set()
    clock.now = 1.5
    with path.open("ab") as out:  # grew, and no event came (yet): it waits again
        out.write(b" and more")
    assert settling.ready() == set()
    assert settling.next_due() == pytest.approx(1.0)
    clock.now = 2.6
    assert settling.ready() == {"big.pdf"}
    assert len(settling) == 0 and settling.next_due() is None


def test_a_deleted_file_is_ready_and_a_document_waits_for_its_sidecar(tmp_path: Path) -> None:
    clock = Clock()
    settling = Settling(1.0, clock)
    settling.note(tmp_path / "gone.md", "gone.md")
    (tmp_path / "a.md").write_text("x", encoding="utf-8")
    settling.note(tmp_path / "a.md", "a.md")
    clock.now = 0.5
    settling.note(tmp_path / "a.md.meta.json", "a.md")  # the sidecar is still being written
    clock.now = 1.2
    assert settling.ready() == {"gone.md"}
    clock.now = 1.6
    assert settling.ready() == {"a.md"}
