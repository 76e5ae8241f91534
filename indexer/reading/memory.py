"""A reading worker's address-space limit (Linux ``RLIMIT_AS``): set once when the worker starts
(:mod:`indexer.reading.worker`), raised by a fixed cost that is not a file's (the OCR engine, loaded
once per worker: :func:`exempt`), and the room it leaves for the next file."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager


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


def room() -> int | None:
    """Bytes this process may still map under its limit (``None``: no limit)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else max(soft - address_space(), 0)


@contextmanager
def exempt() -> Iterator[None]:
    """Run a fixed cost that is not the current file's (loading a library, its threads and models)
    outside the limit: the limit is lifted (up to the hard limit, which a process may do itself) while
    it runs, then set back raised by exactly what the process grew meanwhile, so the room left for
    the file's own work is what it was."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        yield
        return
    before = address_space()
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    try:
        yield
    finally:
        raised = soft + max(address_space() - before, 0)
        resource.setrlimit(
            resource.RLIMIT_AS, (raised if hard == resource.RLIM_INFINITY else min(raised, hard), hard)
        )
