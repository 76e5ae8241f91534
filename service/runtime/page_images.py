"""Page images of indexed PDFs: a page rendered (PDFium) at a requested width as PNG or WebP, kept in
a bounded least-recently-used cache.

The PDF is read from the seeds folder, and only while its content is the one indexed (its sha256, as
recorded in the snapshot): a page image always shows the text the citations point into. PDFium is not
thread-safe, so one lock serialises rendering; cached images are served without it.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from service.errors import NotFoundError

ImageFormat = Literal["png", "webp"]
MIN_WIDTH = 64
MAX_WIDTH = 2000
DEFAULT_WIDTH = 1000
MAX_HEIGHT = 4000
"""Pixels: a page taller than this at the requested width is rendered narrower (a long strip)."""
CACHE_BYTES = 64 * 2**20
"""The cache keeps the most recently served images up to this many bytes in all."""
MEDIA_TYPES: dict[str, str] = {"png": "image/png", "webp": "image/webp"}
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class PageImage:
    data: bytes
    media_type: str
    width: int
    height: int
    etag: str


class PageImages:
    """Renders and caches page images of the PDFs under ``seeds_dir`` (the default collection's) and
    other collections' seeds folders: one cache and one rendering lock for all of them."""

    def __init__(self, seeds_dir: Path, cache_bytes: int = CACHE_BYTES) -> None:
        self._root = seeds_dir.resolve()
        self._cache_bytes = cache_bytes
        self._cache: OrderedDict[tuple[str, str, str, int, int, str], PageImage] = OrderedDict()
        self._cached = 0
        self._hashes: dict[tuple[str, int, int], str] = {}
        self._lock = threading.Lock()
        self._render_lock = threading.Lock()

    def image(
        self,
        doc_id: str,
        sha256: str,
        page: int,
        width: int,
        fmt: ImageFormat,
        *,
        seeds_dir: Path | None = None,
    ) -> PageImage:
        """Page ``page`` (1-based) of the indexed PDF ``doc_id`` (content ``sha256``) under
        ``seeds_dir`` (None: the default collection's); blocking."""
        root = self._root if seeds_dir is None else seeds_dir.resolve()
        key = (str(root), doc_id, sha256, page, width, fmt)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        with self._render_lock:
            image = self._render(self._source(root, doc_id, sha256), page, width, fmt, sha256)
        with self._lock:
            if key not in self._cache and len(image.data) <= self._cache_bytes:
                self._cache[key] = image
                self._cached += len(image.data)
                while self._cached > self._cache_bytes:
                    _, dropped = self._cache.popitem(last=False)
                    self._cached -= len(dropped.data)
        return image

    def _source(self, root: Path, doc_id: str, sha256: str) -> Path:
        """The PDF's path under ``root``, if it still holds the content that was indexed."""
        path = (root / doc_id).resolve()
        gone = NotFoundError(f"{doc_id!r} changed or was removed since it was indexed; rebuild the index")
        if not path.is_relative_to(root) or not path.is_file():
            raise gone
        stat = path.stat()
        stamp = (str(path), stat.st_size, stat.st_mtime_ns)
        known = self._hashes.get(stamp)
        if known is None:
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(_HASH_BLOCK), b""):
                    digest.update(block)
            if len(self._hashes) >= 4096:
                self._hashes.clear()
            known = self._hashes[stamp] = digest.hexdigest()
        if known != sha256:
            raise gone
        return path

    @staticmethod
    def _render(path: Path, page: int, width: int, fmt: ImageFormat, sha256: str) -> PageImage:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(path)
        try:
            if not 1 <= page <= len(pdf):
                raise NotFoundError(f"no page {page}: the document has {len(pdf)} pages")
            handle = pdf[page - 1]
            try:
                page_width, page_height = handle.get_size()
                scale = min(width / page_width, MAX_HEIGHT / page_height)
                image = handle.render(scale=scale).to_pil()
            finally:
                handle.close()
        finally:
            pdf.close()
        buffer = io.BytesIO()
        if fmt == "webp":
            image.save(buffer, format="WEBP", quality=85, method=4)
        else:
            image.save(buffer, format="PNG", optimize=False, compress_level=6)
        etag = f'"{sha256[:16]}-{page}-{image.width}-{fmt}"'
        return PageImage(buffer.getvalue(), MEDIA_TYPES[fmt], image.width, image.height, etag)
