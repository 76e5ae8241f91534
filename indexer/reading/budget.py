"""Read documents in worker processes, each file within a budget: ``reading.max_file_seconds`` of wall
time, plus ``reading.max_ocr_page_seconds`` for each page the worker reports it reads by OCR (at most
``reading.max_ocr_pages`` of them), and ``reading.max_file_memory_mb`` of memory
(:mod:`indexer.reading.worker`). Past either, the file is skipped with the reason and the build goes
on; a worker that overran is killed and replaced.

A worker is a fresh interpreter (not a fork of the build's process, which may hold the model: its
address space must be small and known for the limit to mean something). It reads file after file;
the pool keeps one per file read at once and starts a new one only when one was killed or left.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType

from indexer.config import ReadingSettings
from indexer.errors import IndexerError
from indexer.reading.documents import Outcome, SourceFile, over_memory
from indexer.reading.names import printable
from indexer.reading.worker import OCR_PAGE, READY

log = logging.getLogger(__name__)

START_SECONDS = 120
"""A worker must be ready this soon (an interpreter start and a few imports, on a loaded machine)."""
Job = tuple[SourceFile, str, bytes | None]
"""A file to read, its ``source`` label, and its bytes when the caller already read them."""


@dataclass(slots=True)
class _Worker:
    process: subprocess.Popen[bytes]
    jobs: Connection
    results: Connection

    def stop(self, *, kill: bool) -> None:
        """Close its pipes (it leaves when it sees them closed); ``kill``: at once."""
        if kill:
            self.process.kill()
        self.jobs.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.results.close()


@dataclass(slots=True)
class _Pending:
    """A job in order: sent to ``worker`` at ``started``, or decided without reading (``outcome``)."""

    doc_id: str
    worker: _Worker | None = None
    started: float = 0.0
    outcome: Outcome = ""


class ReadingPool:
    """``read(jobs)`` yields one outcome per job, in order, reading up to ``workers`` files at once
    (while the caller works on the previous ones). Close it (or use it as a context manager)."""

    def __init__(self, limits: ReadingSettings, workers: int = 1) -> None:
        self.limits = limits
        self.workers = max(1, workers)
        self._idle: list[_Worker] = []

    def __enter__(self) -> ReadingPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def read(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        pending: deque[_Pending] = deque()
        queued = iter(jobs)
        try:
            while True:
                self._fill(pending, queued)
                if not pending:
                    return
                outcome = self._outcome(pending.popleft())
                self._fill(pending, queued)  # the next file is read while the caller uses this one
                yield outcome
        finally:
            for left in pending:  # the caller stopped early: what is still being read is stopped
                if left.worker is not None:
                    left.worker.stop(kill=True)

    def _fill(self, pending: deque[_Pending], queued: Iterator[Job]) -> None:
        while len(pending) < self.workers and (job := next(queued, None)) is not None:
            pending.append(self._submit(job))

    def close(self) -> None:
        """Let the idle workers go."""
        while self._idle:
            self._idle.pop().stop(kill=False)

    def _submit(self, job: Job) -> _Pending:
        source = job[0]
        if source.skip is not None:  # known without reading: no worker needed
            return _Pending(source.doc_id, outcome=source.skip)
        worker = self._idle.pop() if self._idle else self._start()
        try:
            worker.jobs.send(job)
        except OSError:  # it died while idle: another one
            worker.stop(kill=True)
            worker = self._start()
            worker.jobs.send(job)
        return _Pending(source.doc_id, worker, time.monotonic())

    def _start(self) -> _Worker:
        jobs_read, jobs_write = os.pipe()
        results_read, results_write = os.pipe()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "indexer.reading.worker", str(jobs_read), str(results_write)],
                pass_fds=(jobs_read, results_write),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
            )
        finally:
            os.close(jobs_read)
            os.close(results_write)
        worker = _Worker(
            process, Connection(jobs_write, readable=False), Connection(results_read, writable=False)
        )
        try:
            worker.jobs.send(self.limits)
            if worker.results.poll(START_SECONDS) and worker.results.recv() == READY:
                return worker
        except (EOFError, OSError):
            pass
        worker.stop(kill=True)
        raise IndexerError(
            f"a reading worker ({sys.executable} -m indexer.reading.worker) did not start within "
            f"{START_SECONDS} s (exit code {worker.process.returncode}); see the messages above"
        )

    def _outcome(self, pending: _Pending) -> Outcome:
        worker = pending.worker
        if worker is None:
            return pending.outcome
        ocr_pages = 0
        while True:
            left = pending.started + allowance(self.limits, ocr_pages) - time.monotonic()
            if not worker.results.poll(max(left, 0.0)):
                worker.stop(kill=True)
                reason = over_time(self.limits, ocr_pages)
                log.warning("%s: reading stopped, %s", printable(pending.doc_id), reason)
                return reason
            try:
                message = worker.results.recv()
            except (EOFError, OSError):
                return self._died(worker, pending.doc_id)
            if message != OCR_PAGE:
                break
            ocr_pages += 1
        outcome, leaving = message
        if leaving:
            worker.stop(kill=False)
        else:
            self._idle.append(worker)
        return outcome  # type: ignore[no-any-return]

    def _died(self, worker: _Worker, doc_id: str) -> str:
        """Why a worker died on a file: its memory budget most likely (a library that cannot allocate
        may abort rather than raise), else a reader's crash."""
        worker.stop(kill=False)
        code = worker.process.returncode
        how = _signal_name(-code) if code is not None and code < 0 else f"exit code {code}"
        log.warning("%s: the reading process died (%s)", printable(doc_id), how)
        return f"the reading process died ({how}): {over_memory(self.limits)}, or a reader's crash"


def allowance(limits: ReadingSettings, ocr_pages: int) -> float:
    """Seconds a file may take to read once ``ocr_pages`` of its pages have started being read by OCR:
    ``max_file_seconds`` and ``max_ocr_page_seconds`` for each, counting ``max_ocr_pages`` at most
    (the reader refuses more), whatever a worker reports."""
    return limits.max_file_seconds + min(ocr_pages, limits.max_ocr_pages) * limits.max_ocr_page_seconds


def over_time(limits: ReadingSettings, ocr_pages: int) -> str:
    """Why a file that took longer than :func:`allowance` was skipped."""
    reason = f"over reading.max_file_seconds ({limits.max_file_seconds:g} s)"
    if ocr_pages:
        pages = min(ocr_pages, limits.max_ocr_pages)
        each = f"reading.max_ocr_page_seconds ({limits.max_ocr_page_seconds:g} s)"
        reason += f" + {each} for each of {pages} pages read by OCR"
    return reason


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
