"""``python -m service --workers N``: N service processes on one machine behind one port.

Each worker is a whole ``python -m service`` (its own model, its own snapshot holder polling the index
folder every ``service.reload_poll_seconds``), started with this process's arguments. This process binds
the listening socket once (:mod:`service.runtime.listener`; a port in use stops it before any worker
starts) and every worker inherits it (``CITESEARCH_LISTEN_FD``) and accepts from it: one kernel queue,
so connections waiting there are taken by the workers alive, and a worker killed loses only the
requests it was answering. The snapshot's large files (the vectors, and index files
of at least ``index.mmap_min_mb``) are memory-mapped read-only, so the workers share those pages
through the page cache instead of holding a copy each (docs/deployment.md has the figures).

This process only supervises: SIGTERM or SIGINT is passed on to every worker (each finishes its
requests in flight), a worker that dies (killed, or failing after it started) is started again, and
one that fails while starting (a bad config) stops them all with its exit code.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

from service.runtime.listener import LISTEN_FD_ENV, address

log = logging.getLogger(__name__)

STARTUP_SECONDS = 30.0
"""A worker that exits with an error this soon after it was started failed to start (a bad config, a
model that does not load): the others are stopped. One killed by a signal (out of memory) is started again."""
STOP_SECONDS = 30.0
"""How long the workers get to finish their requests in flight after SIGTERM before they are killed."""
POLL_SECONDS = 0.2


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    started: float


class Supervisor:
    """Starts ``workers`` copies of ``command``, each handed the listening socket ``sock``, and keeps
    them running until told to stop."""

    def __init__(self, command: Sequence[str], workers: int, sock: socket.socket) -> None:
        self.command = list(command)
        self.workers = workers
        self.sock = sock
        self._slots: list[_Worker] = []
        self._stopping = False

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT (0), or until a worker fails to start (its exit code)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        self._slots = [self._start(i) for i in range(self.workers)]
        log.info(
            "listening on %s with %d workers: %s",
            address(*self.sock.getsockname()[:2]),
            self.workers,
            [w.process.pid for w in self._slots],
        )
        code = 0
        try:
            while not self._stopping and code == 0:
                time.sleep(POLL_SECONDS)
                code = self._check()
        finally:
            self._stop_all()
        return code

    def _start(self, index: int) -> _Worker:
        fd = self.sock.fileno()
        env = {**os.environ, LISTEN_FD_ENV: str(fd)}
        process = subprocess.Popen(self.command, env=env, pass_fds=(fd,))
        log.debug("worker %d: pid %d", index, process.pid)
        return _Worker(process, time.monotonic())

    def _check(self) -> int:
        """Start again the workers that died after starting; a nonzero code if one failed to start."""
        for index, worker in enumerate(self._slots):
            code = worker.process.poll()
            if code is None or self._stopping:
                continue
            if code > 0 and time.monotonic() - worker.started < STARTUP_SECONDS:
                log.error(
                    "worker %d (pid %d) exited while starting (%d): stopping", index, worker.process.pid, code
                )
                return code or 1
            log.warning("worker %d (pid %d) exited (%d): starting another", index, worker.process.pid, code)
            self._slots[index] = self._start(index)
        return 0

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _stop_all(self) -> None:
        """SIGTERM to every worker (each drains its requests), then SIGKILL to those still running."""
        for worker in self._slots:
            if worker.process.poll() is None:
                worker.process.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for worker in self._slots:
            try:
                worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %d did not stop in %gs: killing it", worker.process.pid, STOP_SECONDS)
                worker.process.kill()
                worker.process.wait()


def worker_command(argv: Sequence[str]) -> list[str]:
    """This process's command line without ``--workers``: what each worker runs."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            out.append(arg)
    return [sys.executable, "-m", "service", *out]
