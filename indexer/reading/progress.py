"""Progress a reader reports while it reads one file, for whoever budgets the read: a reading worker
(:mod:`indexer.reading.worker`) passes it to the pool, which gives the file more time for each page
read by OCR (``reading.max_ocr_page_seconds``). Outside a worker nobody listens and it costs nothing.

The listener is a context variable set around one read (:func:`reporting`), so readers keep their
one signature and nothing is left set after the read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_on_ocr_page: ContextVar[Callable[[], None] | None] = ContextVar("on_ocr_page", default=None)


@contextmanager
def reporting(on_ocr_page: Callable[[], None]) -> Iterator[None]:
    """Within this block, :func:`ocr_page` calls ``on_ocr_page``."""
    token = _on_ocr_page.set(on_ocr_page)
    try:
        yield
    finally:
        _on_ocr_page.reset(token)


def ocr_page() -> None:
    """A reader starts reading one page by OCR."""
    listener = _on_ocr_page.get()
    if listener is not None:
        listener()
