"""The page image renderer: only the indexed file, inside the seeds folder, is rendered; its cache
stays within its byte budget, most recently used kept."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from service.errors import NotFoundError
from service.runtime.page_images import PageImages
from tests.documents import make_pdf

PDF = make_pdf([["First page."], ["Second page."], ["Third page."]])
SHA = hashlib.sha256(PDF).hexdigest()


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "a.pdf").write_bytes(PDF)
    return tmp_path / "seeds"


def test_a_file_outside_the_seeds_folder_is_never_rendered(seeds: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.pdf").write_bytes(PDF)
    (seeds / "link.pdf").symlink_to(tmp_path / "outside.pdf")
    images = PageImages(seeds)
    for doc_id in ("link.pdf", "../outside.pdf"):
        with pytest.raises(NotFoundError, match="changed or was removed"):
            images.image(doc_id, SHA, 1, 100, "png")


def test_another_content_than_the_indexed_one_is_not_rendered(seeds: Path) -> None:
    with pytest.raises(NotFoundError, match="changed"):
        PageImages(seeds).image("a.pdf", "0" * 64, 1, 100, "png")


def test_the_cache_keeps_within_its_budget_dropping_the_least_recently_used(seeds: Path) -> None:
    one = PageImages(seeds).image("a.pdf", SHA, 1, 300, "png")
    images = PageImages(seeds, cache_bytes=int(len(one.data) * 2.5))
    first = images.image("a.pdf", SHA, 1, 300, "png")
    second = images.image("a.pdf", SHA, 2, 300, "png")
    assert images.image("a.pdf", SHA, 1, 300, "png") is first  # served from the cache, now most recent
    images.image("a.pdf", SHA, 3, 300, "png")  # over the budget: page 2 goes, page 1 stays
    assert images.image("a.pdf", SHA, 1, 300, "png") is first
    assert images.image("a.pdf", SHA, 2, 300, "png") is not second  # rendered again
    assert sum(len(image.data) for image in images._cache.values()) <= images._cache_bytes
