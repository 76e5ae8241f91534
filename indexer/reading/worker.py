"""A reading worker (``python -m indexer.reading.worker JOBS RESULTS``, started by
:mod:`indexer.reading.budget`): reads the files sent on the ``JOBS`` pipe under an address-space limit
and answers each on ``RESULTS``, until ``JOBS`` closes.

The first message is the :class:`~indexer.config.ReadingSettings` (answered :data:`READY`); then
each job is (source, label, bytes or None) and each answer (the document or why it was skipped,
leaving), after an :data:`OCR_PAGE` as each page read by OCR starts (the pool gives the file more
time for it). The limit is the worker's own size when it starts plus ``reading.max_file_memory_mb``;
past it an allocation fails and the file is skipped. The OCR engine, loaded once per worker when a
page first needs it, raises the limit by its own size (:func:`indexer.reading.memory.exempt`). A
worker whose room under the limit a file shrank by a quarter of the budget leaves after answering,
so one large file does not shrink the room of the next ones.
"""

from __future__ import annotations

import logging
import signal
import sys
from multiprocessing.connection import Connection

from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading.documents import Outcome, over_memory, parse_document
from indexer.reading.memory import limit_memory, room
from indexer.reading.progress import reporting

READY = "ready"
"""Sent once the worker is started: a file's time starts when it is sent to a ready worker."""
OCR_PAGE = "ocr page"
"""Sent when a page of the file starts being read by OCR: the file gets more time."""
RETIRE_GROWTH = 0.25
"""A worker whose room under its limit shrank by this fraction of the budget leaves after its file."""


def serve(jobs: Connection, results: Connection) -> None:
    """Answer each job until the pipe closes (or this worker leaves)."""
    limits: ReadingSettings = jobs.recv()
    limit_memory(limits.max_file_memory_bytes)
    start = room()
    results.send(READY)
    while True:
        try:
            source, label, data = jobs.recv()
        except EOFError:
            return
        try:
            with reporting(lambda: results.send(OCR_PAGE)):
                outcome: Outcome = parse_document(source, label, limits, data)
        except UnreadableDocumentError as exc:
            outcome = str(exc)
        del data
        left = room()
        shrunk = 0 if left is None or start is None else start - left
        leaving = shrunk > limits.max_file_memory_bytes * RETIRE_GROWTH
        try:
            results.send((outcome, leaving))
        except MemoryError:  # pickling the document was more than the budget
            results.send((over_memory(limits), True))
            return
        if leaving:
            return


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's: it closes the pipes, this ends
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    jobs = Connection(int(argv[0]), writable=False)
    results = Connection(int(argv[1]), readable=False)
    serve(jobs, results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
