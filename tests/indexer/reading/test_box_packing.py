"""Packed character boxes give back the same boxes for any span, whatever the text: drawn spaces,
undrawn letters, characters outside the BMP, several pages, columns going back left."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from indexer.reading import box_packing
from indexer.reading.boxes import CharBoxes


@st.composite
def laid_out(draw: st.DrawFn) -> tuple[str, CharBoxes]:
    text = draw(st.text(alphabet=st.sampled_from("ab é\n\t\u00a0\U0001f600"), max_size=80))
    page = np.array([draw(st.integers(-1, 3)) for _ in text], dtype=np.int32)
    corner = st.integers(0, 9_000)
    box = (
        np.array(
            [
                (x, y, x + draw(st.integers(1, 1000)), y + draw(st.integers(1, 1000)))
                for x, y in ((draw(corner), draw(corner)) for _ in text)
            ],
            dtype=np.float64,
        ).reshape(-1, 4)
        / 10_000
    )
    box[page < 0] = 0
    return text, CharBoxes.build(text, page, box.astype(np.float32))


@given(laid_out(), st.data())
def test_any_span_gets_the_same_boxes_from_the_packed_ones(
    layout: tuple[str, CharBoxes], data: st.DataObject
) -> None:
    text, boxes = layout
    packed = box_packing.pack(text, boxes)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    assert box_packing.unpack(text, packed).boxes(start, end) == boxes.boxes(start, end)
    low, high = data.draw(st.integers(0, start)), data.draw(st.integers(end, len(text)))
    assert box_packing.unpack(text, packed, low, high).boxes(start - low, end - low) == boxes.boxes(
        start, end
    )
