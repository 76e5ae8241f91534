"""OCR of scanned PDF pages: a page without a usable text layer but with images is rendered and read
by RapidOCR (PaddleOCR's PP-OCRv4 models on onnxruntime, Apache-2.0; the models ship inside the
``rapidocr-onnxruntime`` package, nothing is downloaded). Optional: the ``ocr`` extra installs it.

The OCR's text lines, top to bottom, become the page's text; each character keeps the box the
recogniser gives it (``return_word_box``), so OCR'd passages are cited with boxes like a text layer's.

The engine is loaded once per process, when a page first needs it, outside the file's memory budget
(its libraries, threads and models are about 700 MB of address space, the same for every file); each
page's rendering and inference count against it. Each page read tells the reading pool, which gives
the file ``reading.max_ocr_page_seconds`` more (:mod:`indexer.reading.progress`).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
from typing import Any

import numpy as np

from indexer.reading import memory, progress
from indexer.reading.readers.pdf_layout import PageChars

log = logging.getLogger(__name__)

OCR_DPI = 200
"""Pages are rendered at this resolution for OCR (the recogniser reads text lines 48 pixels high)."""
MAX_SIDE = 3400
"""Pixels: a larger page is rendered at a lower resolution (A4 at 200 dpi is 1654 x 2339)."""
MIN_TEXT = 16
"""A page whose text layer holds fewer visible characters is taken for a scan (if it has images)."""
MIN_SCORE = 0.5
"""Lines the recogniser is less sure of are left out."""
SPACE_GAP = 0.3
"""A gap between two characters wider than this share of the line's height is a space (the models,
trained mostly on Chinese, often leave spaces out; 0.3 erred least on generated scans)."""


def ocr_installed() -> bool:
    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


def needs_ocr(page: Any, raw: str) -> bool:
    """Whether the page has no usable text layer but has images (a scan, a photo of a page)."""
    import pypdfium2.raw as pdfium_c

    if sum(1 for char in raw if not char.isspace()) >= MIN_TEXT:
        return False
    return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))


@functools.cache
def engine() -> Any:
    """The OCR engine, loaded on first use in this process (0.5 s) and kept for every page after it.
    What loading it adds to the process is not counted against the file being read
    (:func:`indexer.reading.memory.exempt`)."""
    threads = min(4, os.cpu_count() or 1)
    with memory.exempt():  # its libraries are mapped when imported: that is the engine's cost too
        from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-untyped]

        return RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, print_verbose=False)


class PageReader:
    """Reads pages by OCR with the process's engine (:func:`engine`)."""

    def read(self, page: Any) -> PageChars:
        """The page's text as OCR reads it, one line of text per line found, and each character's
        box in 0-1 coordinates of the page."""
        progress.ocr_page()
        width, height = page.get_size()
        scale = min(OCR_DPI / 72, MAX_SIDE / max(width, height, 1.0))
        image = page.render(scale=scale, grayscale=False).to_numpy()
        pixels_high, pixels_wide = image.shape[:2]
        # No angle classifier: it turned upright lines of dense pages over and lost them (34 of 40 read).
        found, _ = engine()(np.ascontiguousarray(image[:, :, :3]), use_cls=False, return_word_box=True)
        lines = sorted(
            (entry for entry in found or [] if float(entry[2]) >= MIN_SCORE and str(entry[1]).strip()),
            key=lambda entry: (_top(entry[0]), _left(entry[0])),
        )
        text: list[str] = []
        boxes: list[np.ndarray] = []
        for entry in lines:
            line, line_boxes = _characters(entry)
            text.append(line + "\n")
            boxes.append(line_boxes)
            boxes.append(np.full((1, 4), np.nan))
        scale_by = np.array([pixels_wide, pixels_high, pixels_wide, pixels_high], dtype=np.float64)
        box = np.concatenate(boxes) / scale_by if boxes else np.zeros((0, 4))
        return PageChars("".join(text), np.clip(box, 0.0, 1.0).astype(np.float32))


def _top(quad: Any) -> float:
    return float(min(point[1] for point in quad))


def _left(quad: Any) -> float:
    return float(min(point[0] for point in quad))


def _rect(quad: Any) -> tuple[float, float, float, float]:
    xs, ys = [float(p[0]) for p in quad], [float(p[1]) for p in quad]
    return min(xs), min(ys), max(xs), max(ys)


def _characters(entry: Any) -> tuple[str, np.ndarray]:
    """A line's text and its characters' pixel boxes ``(x0, y0, x1, y1)`` (NaN for spaces): the
    recogniser's own when it gives one per character, else the line's box shared out evenly."""
    line = str(entry[1])
    quads = entry[3] if len(entry) > 3 else None
    chars = entry[4] if len(entry) > 4 else None
    box = np.full((len(line), 4), np.nan)
    if (
        quads is not None
        and chars is not None
        and "".join(map(str, chars)) == line
        and len(chars) == len(quads)
    ):
        at = 0
        for char, quad in zip(chars, quads, strict=True):
            for _ in str(char):
                box[at] = _rect(quad)
                at += 1
    else:
        x0, y0, x1, y1 = _rect(entry[0])
        step = (x1 - x0) / max(len(line), 1)
        for index in range(len(line)):
            box[index] = (x0 + index * step, y0, x0 + (index + 1) * step, y1)
    box[[char.isspace() for char in line]] = np.nan
    return _spaced(line, box)


def _spaced(line: str, box: np.ndarray) -> tuple[str, np.ndarray]:
    """``line`` with a space put in each gap between two characters that is as wide as a space."""
    height = float(np.nanmedian(box[:, 3] - box[:, 1])) if not np.isnan(box).all() else 0.0
    chars: list[str] = []
    rows: list[np.ndarray] = []
    for index, char in enumerate(line):
        if index and not char.isspace() and not line[index - 1].isspace():
            gap = box[index, 0] - box[index - 1, 2]
            if height > 0 and gap > SPACE_GAP * height:
                chars.append(" ")
                rows.append(np.full(4, np.nan))
        chars.append(char)
        rows.append(box[index])
    return "".join(chars), np.array(rows).reshape(-1, 4)
