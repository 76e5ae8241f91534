"""Hostile files in the seeds folder (issue table: files made in the test, small on disk): each is read
correctly or skipped with the reason, within its budget, and the rest of the collection is published.
The suite's budget is small (``max_file_seconds`` 5, ``max_file_memory_mb`` 256): a file read
correctly was read within it (past it, it would be skipped with ``over reading.*``), and the files
that only the budget stops show its kill path."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from indexer import cli
from indexer.build import Builder, BuildReport
from indexer.config import ReadingSettings, Settings
from indexer.snapshot import current_dir, open_current
from indexer.snapshot.store import DocumentRecord
from tests.conftest import make_settings
from tests.hash_embedder import HashEmbedder
from tests.security import hostile

SECRET = "SECRET-API-KEY-7f3a9c"
BUDGET = ReadingSettings(max_file_seconds=5, max_file_memory_mb=256)
ESCAPE_NAME = "evil\x1b]0;owned\x07\x1b[2Jname.txt"

READ = {
    # file -> a passage of its text that must be indexed
    "grid-span.docx": "span row 2",
    "vmerge-300x10.docx": "merged column 9",
    "vmerge-5000.docx": "merged column 0",
    "heading.txt": "Body of the note about the lamp room.",
    "date-header.txt": "Body of the note about the lamp room.",
    "atx.md": "Body of the note about the lamp room.",
    "deep-article.html": "inspected every morning",
    "deep-code.html": "inspected every morning",
    "idna.html": "inspected every morning, café included",
    "huge-title.md": "Body of the note about the lamp room.",
    "caf\\xe9.txt": "a name that is not UTF-8",
    "evil\x1b]0;owned\x07\x1b[2Jname.txt": "a name with escape sequences",
    "normal.md": "The lamp room opens at dawn.",
}
SKIPPED = {
    # file -> what its reason says
    "zip-bomb.docx": "zip bomb",
    "inflating.pdf": "reading.max_file_memory_mb",
    "front-matter.md": "reading.max_front_matter_kb",
    "secret-link.txt": "symbolic link",
    "config-link.yaml.txt": "symbolic link",
    "outside-folder": "symbolic link",
    "pipe.txt": "FIFO",
}


def write_hostile_seeds(root: Path) -> Path:
    """The issue's hostile files, next to an ordinary note; a secret outside the folder."""
    seeds = root / "seeds"
    seeds.mkdir()
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"The key is {SECRET}.\n")
    (root / "config.yaml").write_text(f"auth:\n  api_keys: [{SECRET}]\n")
    files = {
        "grid-span.docx": hostile.grid_span_docx(),
        "vmerge-300x10.docx": hostile.vmerge_docx(300),
        "vmerge-5000.docx": hostile.vmerge_docx(5000, columns=1),
        "zip-bomb.docx": hostile.zip_bomb_docx(),
        "inflating.pdf": hostile.inflating_pdf(64),
        "heading.txt": hostile.heading_bomb(),
        "date-header.txt": hostile.date_header_bomb(),
        "atx.md": hostile.atx_bomb(),
        "deep-article.html": hostile.deep_html("article"),
        "deep-code.html": hostile.deep_html("code"),
        "front-matter.md": hostile.big_front_matter(),
        "idna.html": hostile.idna_charset_html(),
        "huge-title.md": hostile.huge_title_markdown(200_000),
        "normal.md": b"# Opening hours\n\nThe lamp room opens at dawn.\n",
        ESCAPE_NAME: b"A file with a name with escape sequences in it.\n",
    }
    for name, data in files.items():
        (seeds / name).write_bytes(data)
    (seeds / os.fsdecode(b"caf\xe9.txt")).write_bytes(b"A file with a name that is not UTF-8.\n")
    (seeds / "secret-link.txt").symlink_to(outside / "secret.txt")
    (seeds / "config-link.yaml.txt").symlink_to(Path("..") / "config.yaml")
    (seeds / "outside-folder").symlink_to(outside, target_is_directory=True)
    os.mkfifo(seeds / "pipe.txt")
    return seeds


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, BuildReport]]:
    root = tmp_path_factory.mktemp("hostile")
    write_hostile_seeds(root)
    settings = make_settings(root, reading=BUDGET)
    yield settings, Builder(settings, HashEmbedder).build()


def documents(settings: Settings) -> dict[str, DocumentRecord]:
    """Every stored document, with its text."""
    snapshot = open_current(settings.index_dir)
    try:
        ids = [record.doc_id for record in snapshot.store.iter_documents()]
        found = {doc_id: snapshot.store.document(doc_id) for doc_id in ids}
        return {doc_id: record for doc_id, record in found.items() if record is not None}
    finally:
        snapshot.close()


def test_every_hostile_file_is_read_or_skipped_with_the_reason(built: tuple[Settings, BuildReport]) -> None:
    settings, report = built
    assert report.published
    records = documents(settings)
    assert {doc_id: report.skipped.get(doc_id) for doc_id in READ if doc_id not in records} == {}
    for doc_id, passage in READ.items():
        assert passage in " ".join(records[doc_id].text.split()), doc_id
    assert set(report.skipped) == set(SKIPPED)
    for doc_id, reason in SKIPPED.items():
        assert reason in report.skipped[doc_id], (doc_id, report.skipped[doc_id])


def test_titles_metadata_and_sections_come_out_capped(built: tuple[Settings, BuildReport]) -> None:
    settings, _ = built
    records = documents(settings)
    huge = records["huge-title.md"]
    assert huge.title.startswith("Lamp Lamp") and huge.title.endswith("…")
    assert len(huge.title) <= BUDGET.max_title_chars
    assert len(huge.text) > 200_000  # the text itself is whole
    snapshot = open_current(settings.index_dir)
    try:
        sections = {c.section for c in snapshot.store.chunks_of("huge-title.md")}
    finally:
        snapshot.close()
    assert sections and all(len(s or "") <= BUDGET.max_section_chars for s in sections)
    assert all(len(r.title) <= BUDGET.max_title_chars for r in records.values())


def test_a_secret_behind_a_link_is_nowhere_in_the_snapshot(built: tuple[Settings, BuildReport]) -> None:
    settings, _ = built
    snapshot_dir = current_dir(settings.index_dir).resolve()
    for path in snapshot_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path.name
    with sqlite3.connect(snapshot_dir / "store.sqlite") as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                assert SECRET not in msgspec.json.encode([str(v) for v in row]).decode(), table


def test_links_inside_the_folder_are_read_when_allowed_and_those_out_of_it_never(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    (seeds / "notes").mkdir(parents=True)
    (seeds / "notes" / "lamp.md").write_text("# Lamp\n\nThe lamp room opens at dawn.\n")
    (seeds / "alias.md").symlink_to(Path("notes") / "lamp.md")
    (seeds / "escape.md").symlink_to(tmp_path / "secret.md")
    (seeds / "loop.md").symlink_to("loop.md")
    (seeds / ".env").write_text(f"KEY={SECRET}\n")
    (seeds / "env.txt").symlink_to(".env")
    (tmp_path / "secret.md").write_text(f"# Secret\n\n{SECRET}\n")
    settings = make_settings(tmp_path, reading=ReadingSettings(follow_symlinks=True))
    report = Builder(settings, HashEmbedder).build()
    assert report.skipped == {
        "escape.md": "a symbolic link to outside the seeds folder",
        "loop.md": "a broken symbolic link",
        "env.txt": "a symbolic link to a hidden file",
    }
    records = documents(settings)
    assert records["alias.md"].text == records["notes/lamp.md"].text
    assert SECRET not in "".join(r.text for r in records.values())


def test_names_are_printed_escaped_by_build_and_inspect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / ESCAPE_NAME).write_text("A file with a name with escape sequences in it.\n")
    (seeds / os.fsdecode(b"caf\xe9.txt")).write_text("A file with a name that is not UTF-8.\n")
    os.mkfifo(seeds / "evil\x1b[31m.txt")
    config = tmp_path / "config.yaml"
    config.write_text(f"seeds_dir: {seeds}\nindex_dir: {tmp_path / 'index'}\n")
    monkeypatch.setattr(cli, "_model", lambda settings: HashEmbedder())
    assert cli.main(["--config", str(config), "build", "--no-progress"]) == 0
    built_out = capsys.readouterr().out
    assert cli.main(["--config", str(config), "inspect", "--documents"]) == 0
    inspect_out = capsys.readouterr().out
    for out in (built_out, inspect_out):
        assert "\x1b" not in out and "\x07" not in out
    assert "skipped evil\\x1b[31m.txt: a FIFO (named pipe), not a regular file" in built_out
    assert "evil\\x1b]0;owned\\x07\\x1b[2Jname.txt\ttext\t" in inspect_out
    assert "caf\\xe9.txt\ttext\t" in inspect_out


def test_past_its_time_a_file_is_stopped_and_the_build_goes_on(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "deep.html").write_bytes(hostile.deep_html("article", 40_000))
    (seeds / "note.md").write_text("# Note\n\nThe lamp room opens at dawn.\n")
    settings = make_settings(tmp_path, reading=ReadingSettings(max_file_seconds=0.05))
    report = Builder(settings, HashEmbedder).build()
    assert report.skipped == {"deep.html": "over reading.max_file_seconds (0.05 s)"}
    assert "note.md" in documents(settings)


def test_a_lowered_cap_reads_again_the_documents_over_it(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "long.md").write_text("# " + "Lamp room " * 20 + "\n\nThe lamp room opens at dawn.\n")
    (seeds / "short.md").write_text("# Lamp\n\nThe lamp room closes at dusk.\n")
    Builder(make_settings(tmp_path), HashEmbedder).build()
    lowered = make_settings(tmp_path, reading=ReadingSettings(max_title_chars=50))
    report = Builder(lowered, HashEmbedder).build()
    assert report.published and report.embedded_documents == 1 and report.reused_documents == 1
    title = documents(lowered)["long.md"].title
    assert len(title) <= 50 and title.endswith("…")


def test_a_page_declaring_an_unsuitable_charset_is_read_without_a_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "idna.html").write_bytes(hostile.idna_charset_html())
    (seeds / "utf7.html").write_bytes(hostile.idna_charset_html().replace(b"idna", b"utf-7"))
    settings = make_settings(tmp_path)
    report = Builder(settings, HashEmbedder).build()
    assert report.published and report.skipped == {} and report.documents == 2
    assert "Traceback" not in capfd.readouterr().err  # the reading worker's stderr is the build's
