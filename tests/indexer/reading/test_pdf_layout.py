"""Where a PDF passage is drawn: the boxes of any span of the extracted text cover exactly the span's
characters on the page (checked against PDFium's own character boxes), and printed page labels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.config import ReadingSettings
from indexer.reading import box_packing
from indexer.reading.readers.base import Extracted
from indexer.reading.readers.pdf import PdfReader
from indexer.reading.readers.pdf_layout import indexed_lines
from tests.documents import make_pdf

PAGES = [
    [
        "The survey began in March with three rovers.",
        "Each rover carried a naïve café-grade spectrometer,",
        "and the first samples came back in April.",
    ],
    ["Regolith depth varied from 2 to 14 metres.", "Ice was found near the southern rim."],
    ["The final report lists every sample.", "Appendix tables follow."],
]


def drawn_characters(data: bytes) -> list[tuple[int, str, float, float]]:
    """Every character PDFium draws (whitespace aside): page (1-based), the character, and the centre
    of its tight box in 0-1 page coordinates (top-left origin)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    found = []
    pdf = pdfium.PdfDocument(data)
    for index in range(len(pdf)):
        page = pdf[index]
        width, height = page.get_size()
        textpage = page.get_textpage()
        for number in range(textpage.count_chars()):
            char = chr(pdfium_c.FPDFText_GetUnicode(textpage, number))
            if char.isspace() or pdfium_c.FPDFText_IsGenerated(textpage, number):
                continue
            left, bottom, right, top = textpage.get_charbox(number)
            found.append((index + 1, char, (left + right) / 2 / width, 1 - (bottom + top) / 2 / height))
    return found


def covered(
    boxes: list[tuple[int, float, float, float, float]], drawn: list[tuple[int, str, float, float]]
) -> str:
    """The characters whose centre lies in one of ``boxes``, in PDFium's order."""
    return "".join(
        char
        for page, char, x, y in drawn
        if any(p == page and x0 <= x <= x1 and y0 <= y <= y1 for p, x0, y0, x1, y1 in boxes)
    )


@pytest.fixture(scope="module")
def report() -> tuple[Extracted, list[tuple[int, str, float, float]]]:
    data = make_pdf(PAGES, header="ACME Lunar Survey - confidential", page_numbers=True)
    return PdfReader().read(data, Path("survey.pdf"), ReadingSettings()), drawn_characters(data)


def test_running_lines_are_left_out_of_the_text_but_drawn(
    report: tuple[Extracted, list[tuple[int, str, float, float]]],
) -> None:
    extracted, drawn = report
    assert "ACME" not in extracted.text and "Page 1 of 3" not in extracted.text
    assert "ACME" in "".join(char for _, char, _, _ in drawn)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_boxes_of_any_span_cover_its_characters_and_no_others(
    report: tuple[Extracted, list[tuple[int, str, float, float]]], data: st.DataObject
) -> None:
    extracted, drawn = report
    assert extracted.char_boxes is not None
    start = data.draw(st.integers(0, len(extracted.text)))
    end = data.draw(st.integers(start, len(extracted.text)))
    boxes = extracted.char_boxes.boxes(start, end)
    assert covered(boxes, drawn) == re.sub(r"\s", "", extracted.text[start:end])
    assert all(0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 for _, x0, y0, x1, y1 in boxes)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_packed_character_boxes_give_any_span_the_same_boxes(
    report: tuple[Extracted, list[tuple[int, str, float, float]]], data: st.DataObject
) -> None:
    # what the store keeps to box passages merged or cut anywhere (context citations)
    extracted, _ = report
    assert extracted.char_boxes is not None
    text, packed = extracted.text, box_packing.pack(extracted.text, extracted.char_boxes)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    expected = extracted.char_boxes.boxes(start, end)
    assert box_packing.unpack(text, packed).boxes(start, end) == expected
    # decoded only over a stretch around the span (what a context does)
    low, high = data.draw(st.integers(0, start)), data.draw(st.integers(end, len(text)))
    assert box_packing.unpack(text, packed, low, high).boxes(start - low, end - low) == expected


def test_packed_character_boxes_of_another_text_or_damaged_are_refused(
    report: tuple[Extracted, list[tuple[int, str, float, float]]],
) -> None:
    extracted, _ = report
    assert extracted.char_boxes is not None
    packed = box_packing.pack(extracted.text, extracted.char_boxes)
    with pytest.raises(ValueError, match="do not match"):
        box_packing.unpack(extracted.text + "!", packed)
    with pytest.raises(ValueError, match="damaged"):
        box_packing.unpack(extracted.text, packed[:-5])


def test_a_span_gets_one_box_per_line_stretch_on_its_own_pages(
    report: tuple[Extracted, list[tuple[int, str, float, float]]],
) -> None:
    extracted, _ = report
    assert extracted.char_boxes is not None
    start = extracted.text.index("rover carried")
    end = extracted.text.index("Regolith depth") + len("Regolith depth")
    boxes = extracted.char_boxes.boxes(start, end)
    assert [box[0] for box in boxes] == [1, 1, 2]
    first, second, third = boxes
    assert first[1] > second[1] == third[1]  # the first box starts mid-line, the others at the margin
    assert first[2] < second[2]  # top to bottom on page 1
    assert extracted.char_boxes.boxes(end, end) == []


def test_printed_page_labels_are_read_and_absent_when_the_pdf_defines_none() -> None:
    labelled = make_pdf(
        [["Preface"], ["Foreword"], ["Chapter one"], ["Appendix"]],
        labels=[(0, "ROMAN_LOWER", 1, ""), (2, "ARABIC", 1, ""), (3, "ARABIC", 3, "A-")],
    )
    extracted = PdfReader().read(labelled, Path("book.pdf"), ReadingSettings())
    assert extracted.page_labels == ("i", "ii", "1", "A-3")
    plain = PdfReader().read(make_pdf([["One"], ["Two"]]), Path("plain.pdf"), ReadingSettings())
    assert plain.page_labels == ()


def _reference_lines(raw: str) -> list[str]:
    """The reader's line cleanup as it was written before offsets were kept."""
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]", "", raw.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


@given(st.text(alphabet=st.sampled_from("ab \t\r\n\x00\x0b\u00a0é\U0001f600"), max_size=60))
def test_indexed_lines_keep_the_cleanup_and_point_at_each_character(raw: str) -> None:
    lines = indexed_lines(raw)
    assert [line for line, _ in lines] == _reference_lines(raw)
    for line, where in lines:
        assert "".join(raw[i] for i in where) == line
