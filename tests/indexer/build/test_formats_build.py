"""Building from a folder of every format: per-format counts, every file read or reported with the
reason, bad files never stopping the build, reader versions and limits deciding what is read again,
and snapshots of the previous schema rebuilt (builder) or refused (query side)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from indexer import cli
from indexer.build import Builder
from indexer.config import ReadingSettings, Settings
from indexer.embedding import Embedder
from indexer.errors import SnapshotError
from indexer.reading.readers.pdf import PdfReader
from indexer.search import SearchEngine
from indexer.snapshot import current_dir, open_current
from tests.documents import make_scanned_pdf, write_collection
from tests.hash_embedder import HashEmbedder


def no_model() -> Embedder:
    raise AssertionError("the model must not be loaded when nothing needs embedding")


@pytest.fixture
def mixed(settings: Settings) -> Settings:
    seeds = settings.seeds_dir
    write_collection(seeds)
    (seeds / "scan.pdf").write_bytes(make_scanned_pdf())
    (seeds / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (seeds / "truncated.pdf").write_bytes((seeds / "mission-report.pdf").read_bytes()[:300])
    (seeds / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (seeds / "empty.md").write_text("")
    (seeds / "bomb.docx").write_bytes(b"PK\x03\x04" + bytes(100))
    (seeds / "broken.html").write_bytes(b"<html><body><div><p>Unclosed tags about the lunar rover <b>and")
    (seeds / "rover").write_bytes(
        b"<!DOCTYPE html><html><body><p>The lunar rover drove on Apollo 15.</p></body></html>"
    )
    (seeds / ".hidden.txt").write_text("never read")
    return settings


def test_every_file_is_read_or_reported(mixed: Settings) -> None:
    report = Builder(mixed, HashEmbedder).build()
    assert list(report.formats.items()) == [
        ("html", 3),
        ("docx", 1),
        ("markdown", 1),
        ("pdf", 1),
        ("text", 1),
    ]
    assert set(report.skipped) == {
        "scan.pdf",
        "logo.png",
        "truncated.pdf",
        "latin1.txt",
        "empty.md",
        "bomb.docx",
    }
    reasons = report.skipped
    assert "no text layer" in reasons["scan.pdf"]
    assert reasons["logo.png"] == "unsupported file type (.png)"
    assert "PDF" in reasons["truncated.pdf"]
    assert "not valid UTF-8" in reasons["latin1.txt"]
    assert reasons["empty.md"] == "empty file"
    assert "DOCX" in reasons["bomb.docx"]
    snapshot = open_current(mixed.index_dir)
    try:
        manifest = snapshot.manifest
        assert manifest.counts.formats == report.formats
        assert manifest.documents["rover"].format == "html"  # no suffix: sniffed
        pdf = f"pdf/{PdfReader.version}"
        assert manifest.documents["mission-report.pdf"].reader == pdf
        assert manifest.documents["mission-report.pdf"].pages == 3
        assert manifest.skipped["scan.pdf"].reader == pdf and manifest.skipped["logo.png"].reader == ""
        record = snapshot.store.document("apollo.md")
        assert (
            record is not None
            and record.format == "markdown"
            and record.metadata["tags"] == ["apollo", "moon"]
        )
        for doc_id in manifest.documents:
            record = snapshot.store.document(doc_id)
            assert record is not None
            chunks = snapshot.store.chunks_of(doc_id)
            assert chunks and [c.row for c in chunks] == list(
                range(record.first_row, record.first_row + len(chunks))
            )
            for chunk in chunks:
                assert record.text[chunk.char_start : chunk.char_end] == chunk.text
                # a PDF passage is drawn on its pages; other formats have no boxes
                assert bool(chunk.boxes) == (record.format == "pdf")
                assert {box[0] for box in chunk.boxes} <= set(
                    range(chunk.page_start or 1, (chunk.page_end or 0) + 1)
                )
    finally:
        snapshot.close()


def _pdf_boxes(settings: Settings) -> list[tuple[tuple[int, float, float, float, float], ...]]:
    snapshot = open_current(settings.index_dir)
    try:
        return [chunk.boxes for chunk in snapshot.store.chunks_of("mission-report.pdf")]
    finally:
        snapshot.close()


def test_an_unchanged_folder_is_up_to_date_and_a_new_reader_version_reads_again(
    mixed: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    Builder(mixed, HashEmbedder).build()
    assert not Builder(mixed, no_model).build().published
    boxes = _pdf_boxes(mixed)
    assert boxes and all(boxes)
    newer = PdfReader.version + 1
    monkeypatch.setattr(PdfReader, "version", newer)
    report = Builder(mixed, HashEmbedder).build()
    assert report.published and report.embedded_documents == 1  # the readable PDF, read again
    snapshot = open_current(mixed.index_dir)
    assert snapshot.manifest.documents["mission-report.pdf"].reader == f"pdf/{newer}"
    assert snapshot.manifest.skipped["scan.pdf"].reader == f"pdf/{newer}"  # tried again, still no text
    snapshot.close()
    assert _pdf_boxes(mixed) == boxes
    (mixed.seeds_dir / "late.txt").write_text("A note added later about the lunar rovers.\n")
    report = Builder(mixed, HashEmbedder).build()
    assert report.published and report.embedded_documents == 1  # the note; the PDF's chunks are copied
    assert _pdf_boxes(mixed) == boxes


def test_a_lower_limit_skips_a_document_it_had_indexed(mixed: Settings) -> None:
    Builder(mixed, HashEmbedder).build()
    lower = msgspec.structs.replace(mixed, reading=ReadingSettings(max_pages=2))
    report = Builder(lower, no_model).build()
    assert report.published and "mission-report.pdf" in report.skipped
    assert "max_pages (2)" in report.skipped["mission-report.pdf"]
    assert report.reused_documents == report.documents


def test_a_snapshot_of_the_previous_schema_is_rebuilt_and_refused_by_the_query_side(mixed: Settings) -> None:
    Builder(mixed, HashEmbedder).build()
    manifest_path = current_dir(mixed.index_dir) / "manifest.json"
    old = json.loads(manifest_path.read_text())
    old["schema_version"] = 1
    del old["reading"]
    manifest_path.write_text(json.dumps(old))
    with pytest.raises(SnapshotError, match=r"schema version 1.*rebuild"):
        SearchEngine(mixed, HashEmbedder()).open_current()
    report = Builder(mixed, HashEmbedder).build()
    assert report.published and report.reused_documents == 0 and report.embedded_documents == report.documents


def test_cli_build_and_inspect_show_formats_skips_and_metadata(
    mixed: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"seeds_dir: {mixed.seeds_dir}\nindex_dir: {mixed.index_dir}\n")
    monkeypatch.setattr(cli, "_model", lambda settings: HashEmbedder())
    assert cli.main(["--config", str(config), "build", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "7 documents (html 3, docx 1, markdown 1, pdf 1, text 1)" in out
    assert "  skipped logo.png: unsupported file type (.png)" in out
    assert "  skipped scan.pdf: no text layer" in out
    assert cli.main(["--config", str(config), "inspect", "--documents"]) == 0
    out = capsys.readouterr().out
    assert "tags (string list, 2 documents)" in out and "year (number, 1 document)" in out
    line = next(line for line in out.splitlines() if line.startswith("mission-report.pdf"))
    assert "\tpdf\t" in line and "3 pages" in line and '"author":"Flight Director"' in line
