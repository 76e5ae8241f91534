"""The write intake's rules: which doc_ids name a document, which media types agree with them, what
metadata is accepted, and what is cleaned up after a crash."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from indexer.config import ReadingSettings
from service.errors import InvalidInputError, UnsupportedMediaTypeError
from service.runtime import intake


@pytest.mark.parametrize(
    "doc_id",
    ["a.txt", "reports/2024/q1.pdf", "Ünïcode名前.md", "x" * 250 + ".docx", "a b/c d.html", "notes.MD"],
)
def test_valid_doc_ids(doc_id: str) -> None:
    assert intake.check_doc_id(doc_id) == doc_id


@pytest.mark.parametrize(
    ("doc_id", "problem"),
    [
        ("", "empty"),
        ("/etc/passwd.txt", "relative"),
        ("a\\b.txt", "relative"),
        ("../a.txt", "'..'"),
        ("a/../b.txt", "'..'"),
        ("a/./b.txt", "'..'"),
        ("a//b.txt", "empty"),
        (".env.txt", "hidden"),
        ("a/.git/b.txt", "hidden"),
        (".uploads/x.txt", "hidden"),
        ("a\x00.txt", "control"),
        ("a\nb.txt", "control"),
        ("x.pdf.meta.json", "metadata"),
        ("y" * 256 + ".txt", "segment"),
        ("/".join(["z" * 200] * 6) + ".txt", "1024 bytes"),
    ],
)
def test_invalid_doc_ids_are_422_with_the_reason(doc_id: str, problem: str) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        intake.check_doc_id(doc_id)


@pytest.mark.parametrize("doc_id", ["photo.png", "archive.zip", "noextension", "data.json"])
def test_a_suffix_no_reader_reads_is_415(doc_id: str) -> None:
    with pytest.raises(UnsupportedMediaTypeError, match="supported"):
        intake.check_doc_id(doc_id)


def test_a_content_type_must_agree_with_the_suffix() -> None:
    intake.check_media_type("a.pdf", "application/pdf")
    intake.check_media_type("a.md", "text/markdown; charset=utf-8")
    intake.check_media_type("a.md", "text/plain")  # Markdown is plain text
    intake.check_media_type("a.pdf", "application/octet-stream")
    intake.check_media_type("a.pdf", None)
    for doc_id, media_type in [
        ("a.txt", "application/pdf"),
        ("a.pdf", "text/plain"),
        ("a.html", "text/markdown"),
    ]:
        with pytest.raises(UnsupportedMediaTypeError, match="suffix"):
            intake.check_media_type(doc_id, media_type)


def test_metadata_is_a_bounded_json_object() -> None:
    limits = ReadingSettings(max_front_matter_kb=1)
    assert intake.check_metadata({"team": "a", "tags": ["x"]}, limits) == {"team": "a", "tags": ["x"]}
    assert intake.check_metadata(None, limits) == {}
    with pytest.raises(InvalidInputError, match="max_front_matter_kb"):
        intake.check_metadata({"x": "y" * 2000}, limits)
    with pytest.raises(InvalidInputError, match="keys"):
        intake.check_metadata({" ": 1}, limits)
    with pytest.raises(InvalidInputError, match="JSON"):
        intake.check_metadata({"x": float("nan")}, limits)


def test_uploads_cut_short_are_removed_once_stale(tmp_path: Path) -> None:
    uploads = tmp_path / intake.UPLOADS_DIR
    uploads.mkdir()
    (uploads / "old.pdf").write_bytes(b"cut short")
    (uploads / "fresh.pdf").write_bytes(b"still arriving")
    hour_ago = time.time() - 2 * intake.STALE_UPLOAD_SECONDS
    os.utime(uploads / "old.pdf", (hour_ago, hour_ago))
    intake.clear_uploads(tmp_path)
    assert sorted(p.name for p in uploads.iterdir()) == ["fresh.pdf"]
