"""A document's character boxes in a few tenths of a byte a character, as the store keeps them, so a
passage merged from chunks or cut anywhere is boxed exactly (``/v1/context``).

Boxes are kept on the grid span boxes are rounded to (1/10000 of the page), so a span's boxes come out
the same as from the reader's. Each column is coded as what is left once predicted, then zlib'd:

- which characters are drawn: predicted "all but whitespace"; the exceptions are kept as bits;
- the page of each drawn character: the change from the previous one (zero but at a page break);
- its left edge: the gap after the previous character's right edge, less the gap last seen after the
  same character (a glyph's advance and spacing repeat); its width: less the width the same character
  last had; its top: the change from the previous one; its height.
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

from indexer.reading.boxes import BOX_DIGITS, CharBoxes

_GRID = 10**BOX_DIGITS
_Ints = npt.NDArray[np.int32]
_Codes = npt.NDArray[np.uint16]


def _codes(text: str) -> _Codes:
    """Each character's code point, cut to 16 bits (past U+FFFF: one code), which numpy sorts in
    linear time."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    cut: _Codes = np.minimum(codes, 0xFFFF).astype(np.uint16)
    return cut


def _predicted_drawn(codes: _Codes) -> npt.NDArray[np.bool_]:
    predicted: npt.NDArray[np.bool_] = (codes > 32) & (codes != 0xA0) & (codes != 0x85)
    return predicted


def _groups(keys: _Codes) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """The order that sorts ``keys`` (stable), and where each run of equal keys starts in it."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return order, first


def _against_last_same(values: _Ints, keys: _Codes) -> _Ints:
    """Each value less the last one with the same key (itself the first time)."""
    order, first = _groups(keys)
    ordered = values[order]
    residual = np.diff(ordered, prepend=0)
    residual[first] = ordered[first]
    out = np.empty_like(values)
    out[order] = residual
    return out


def _from_last_same(residual: _Ints, keys: _Codes) -> _Ints:
    """The inverse of :func:`_against_last_same`: running sums within each key."""
    order, first = _groups(keys)
    running = np.cumsum(residual[order], dtype=np.int32)
    before = running[first] - residual[order][first]  # the running sum before each key's first value
    out = np.empty_like(residual)
    out[order] = running - before[np.cumsum(first) - 1]
    return out


def pack(text: str, boxes: CharBoxes) -> bytes:
    """``boxes`` (of ``text``) packed; :func:`unpack` gives them back."""
    codes = _codes(text)
    drawn = boxes.page >= 0
    grid = np.rint(np.clip(boxes.box[drawn].astype(np.float64), 0, 1) * _GRID).astype(np.int32)
    x0, y0, x1, y1 = grid.T
    gap = x0 - np.concatenate([np.zeros(1, np.int32), x1[:-1]])
    previous = np.concatenate([np.zeros(1, np.uint16), codes[:-1]])[drawn]
    columns = [
        _against_last_same(gap, previous),
        _against_last_same(x1 - x0, codes[drawn]),
        np.diff(y0, prepend=0),
        y1 - y0,
    ]
    surprises = np.packbits(drawn != _predicted_drawn(codes)).tobytes()
    pages = np.diff(boxes.page[drawn], prepend=0).astype("<i4").tobytes()
    return zlib.compress(surprises + pages + b"".join(c.astype("<i2").tobytes() for c in columns), 9)


def unpack(text: str, data: bytes, start: int = 0, end: int | None = None) -> CharBoxes:
    """The boxes of ``text[start:end]`` from :func:`pack` of ``text``'s; raises ValueError if ``data``
    is damaged or not ``text``'s. The whole document is decoded (about 60 bytes a character for a
    moment: ``reading.max_chars`` bounds it), only the span is boxed."""
    try:
        raw = zlib.decompress(data)
    except zlib.error as exc:
        raise ValueError(f"packed character boxes are damaged: {exc}") from exc
    codes = _codes(text)
    bits = (len(text) + 7) // 8
    if len(raw) < bits:
        raise ValueError("packed character boxes do not match the text")
    surprises = np.unpackbits(np.frombuffer(raw, dtype=np.uint8, count=bits), count=len(text)).astype(bool)
    drawn = _predicted_drawn(codes) ^ surprises
    count = int(np.count_nonzero(drawn))
    if len(raw) != bits + 4 * count + 2 * 4 * count:
        raise ValueError("packed character boxes do not match the text")
    pages = np.frombuffer(raw, dtype="<i4", offset=bits, count=count)
    columns = np.frombuffer(raw, dtype="<i2", offset=bits + 4 * count).astype(np.int32).reshape(4, count)
    gap, width, dy0, height = columns
    gap = _from_last_same(gap, np.concatenate([np.zeros(1, np.uint16), codes[:-1]])[drawn])
    width = _from_last_same(width, codes[drawn])
    x1 = np.cumsum(gap + width, dtype=np.int32)  # x0[i] = x1[i-1] + gap[i], x1[i] = x0[i] + width[i]
    y0 = np.cumsum(dy0, dtype=np.int32)
    start, end = max(0, start), len(text) if end is None else min(end, len(text))
    window = drawn[start:end]
    first = int(np.count_nonzero(drawn[:start]))
    taken = slice(first, first + int(np.count_nonzero(window)))
    page = np.full(len(window), -1, dtype=np.int32)
    page[window] = np.cumsum(pages, dtype=np.int32)[taken]
    box = np.zeros((len(window), 4), dtype=np.float32)
    corners = [x1[taken] - width[taken], y0[taken], x1[taken], y0[taken] + height[taken]]
    box[window] = np.column_stack(corners) / _GRID
    return CharBoxes.build(text[start:end], page, box)
