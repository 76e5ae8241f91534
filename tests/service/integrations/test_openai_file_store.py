"""The files area behind ``/v1/files``, the names made from what clients send, and OpenAI's cursor
pages: without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.errors import ConflictError
from service.integrations.openai.file_store import FILES_DIR, FileLimits, FileStore, FileTooLargeError
from service.integrations.openai.identity import (
    after_cursor,
    collection_name,
    doc_id_of,
    file_id_of,
    filename_of,
)
from service.integrations.openai.paging import window
from service.integrations.openai.uploads import clean_filename

LIMITS = FileLimits(max_bytes=100, max_files_per_key=2)


def _keep(store: FileStore, owner: str, data: bytes, name: str = "a.txt") -> str:
    upload = store.start(owner)
    upload.write(data)
    return store.commit(upload, filename=name, purpose="assistants", media_type="text/plain").id


def test_kept_files_survive_a_restart_and_leftovers_of_unanswered_uploads_do_not(tmp_path: Path) -> None:
    store = FileStore.open(tmp_path, LIMITS)
    kept = _keep(store, "alice", b"hello")
    unanswered = store.start("alice")  # killed before it was committed
    unanswered.write(b"half of it")
    orphan = tmp_path / FILES_DIR / "file-000000000000000000000000.data"  # killed between the renames
    orphan.write_bytes(b"no record")

    reopened = FileStore.open(tmp_path, LIMITS)
    record = reopened.get(kept, "alice")
    assert record is not None and reopened.data_path(kept).read_bytes() == b"hello" and record.bytes == 5
    assert sorted(p.name for p in (tmp_path / FILES_DIR).iterdir()) == [f"{kept}.data", f"{kept}.json"]


def test_a_file_is_seen_only_by_its_owner_or_an_admin(tmp_path: Path) -> None:
    store = FileStore.open(tmp_path, LIMITS)
    kept = _keep(store, "alice", b"hello")
    assert store.get(kept, "bob") is None and [r.id for r in store.list("bob")] == []
    assert store.get(kept, None) is not None and [r.id for r in store.list(None)] == [kept]
    record = store.get(kept, "alice")
    assert record is not None
    store.delete(record)
    assert store.get(kept, "alice") is None
    assert list((tmp_path / FILES_DIR).iterdir()) == []


def test_worker_processes_sharing_the_folder_see_each_others_files(tmp_path: Path) -> None:
    first, second = FileStore.open(tmp_path, LIMITS), FileStore.open(tmp_path, LIMITS)
    kept = _keep(first, "alice", b"hello")
    assert second.get(kept, "alice") is not None and [r.id for r in second.list("alice")] == [kept]
    _keep(second, "alice", b"again")
    with pytest.raises(ConflictError):  # the limit counts the files the other process kept
        first.start("alice")
    record = first.get(kept, "alice")
    assert record is not None
    first.delete(record)
    assert second.get(kept, "alice") is None and len(second.list("alice")) == 1


def test_size_and_count_limits(tmp_path: Path) -> None:
    store = FileStore.open(tmp_path, LIMITS)
    upload = store.start("alice")
    upload.write(b"x" * 100)
    with pytest.raises(FileTooLargeError):
        upload.write(b"x")
    assert list((tmp_path / FILES_DIR).iterdir()) == []  # nothing of it is left
    _keep(store, "alice", b"1")
    _keep(store, "alice", b"2")
    with pytest.raises(ConflictError, match="max_files_per_key"):
        store.start("alice")
    _keep(store, "bob", b"3")  # the limit is per key


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\me\\notes.md", "notes.md"),
        (".hidden.md", "hidden.md"),
        ("bad\x00\x1fname.txt", "badname.txt"),
        ("..", "upload"),
        (None, "upload"),
        ("é" * 200 + ".docx", "é" * 125 + ".docx"),
    ],
)
def test_uploaded_filenames_are_made_safe(sent: str | None, kept: str) -> None:
    assert clean_filename(sent) == kept
    assert len(clean_filename(sent).encode()) <= 255


def test_store_names_become_collection_names() -> None:
    assert collection_name("Planet Notes!") == "planet-notes"
    assert collection_name("  __Q1 reports__ ") == "q1-reports"
    assert collection_name("x" * 100) == "x" * 64
    assert collection_name("日本語").startswith("vs_") and collection_name(None).startswith("vs_")


def test_uploaded_documents_show_under_their_file_id() -> None:
    doc_id = doc_id_of("file-0123456789abcdef01234567", "q1.pdf")
    assert file_id_of(doc_id) == "file-0123456789abcdef01234567" and filename_of(doc_id) == "q1.pdf"
    assert file_id_of("notes/cooking.md") == "notes/cooking.md" == filename_of("notes/cooking.md")
    assert doc_id > "file-0123456789abcdef01234567" and doc_id < after_cursor("file-0123456789abcdef01234567")


def test_cursor_pages_forwards_backwards_and_before() -> None:
    ids = ["a", "b", "c", "d", "e"]

    def page(**kw: object) -> tuple[list[str], bool]:
        return window(ids, str, **{"order": "asc", "after": None, "before": None, "limit": 2, **kw})  # type: ignore[arg-type]

    assert page() == (["a", "b"], True)
    assert page(after="b") == (["c", "d"], True)
    assert page(after="d") == (["e"], False)
    assert page(order="desc") == (["e", "d"], True)
    assert page(order="desc", after="d") == (["c", "b"], True)
    assert page(before="d") == (["b", "c"], True)
    assert page(before="b") == (["a"], False)
    assert page(after="zz") == ([], False)
