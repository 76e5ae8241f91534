"""A reading worker (``python -m indexer.reading.worker JOBS RESULTS``, started by
:mod:`indexer.reading.budget`): reads the files sent on the ``JOBS`` pipe under an address-space limit
and answers each on ``RESULTS``, until ``JOBS`` closes.

The first message is the :class:`~indexer.config.ReadingSettings` (answered :data:`READY`); then
each job is (source, label, bytes or None) and each answer (the document or why it was skipped,
leaving). The limit is the
worker's own size when it starts plus ``reading.max_file_memory_mb``; past it an allocation fails and
the file is skipped. A worker that a file grew by a quarter of the budget leaves after answering, so
one large file does not shrink the room of the next ones.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import sys
from multiprocessing.connection import Connection

from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading.documents import Outcome, over_memory, parse_document

READY = "ready"
"""Sent once the worker is started: a file's time starts when it is sent to a ready worker."""
RETIRE_GROWTH = 0.25
"""A worker whose address space grew by this fraction of the budget leaves after its file."""


def address_space() -> int:
    """This process's virtual memory size in bytes (Linux; 0 where it cannot be read)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def limit_memory(budget: int) -> int:
    """Cap this process's address space at its size now plus ``budget`` bytes; returns its size now."""
    base = address_space()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = base + budget if hard == resource.RLIM_INFINITY else min(base + budget, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    return base


def serve(jobs: Connection, results: Connection) -> None:
    """Answer each job until the pipe closes (or this worker leaves)."""
    limits: ReadingSettings = jobs.recv()
    base = limit_memory(limits.max_file_memory_bytes)
    results.send(READY)
    while True:
        try:
            source, label, data = jobs.recv()
        except EOFError:
            return
        try:
            outcome: Outcome = parse_document(source, label, limits, data)
        except UnreadableDocumentError as exc:
            outcome = str(exc)
        del data
        leaving = address_space() - base > limits.max_file_memory_bytes * RETIRE_GROWTH
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
