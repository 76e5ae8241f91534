"""What the benchmark scripts share: the repository's place, the heavy-job lock, the machine they ran
on, JSON output, resident memory, and a slice of a BEIR corpus."""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from indexer.evaluation import Collection

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config.yaml"
HEAVY_LOCK = Path("/tmp/heavy.lock")
"""Held (``flock /tmp/heavy.lock <command>``) by every heavy job on the shared development machine."""


def lock_holders(path: Path = HEAVY_LOCK) -> set[int]:
    """The processes holding ``path``'s ``flock`` lock (from ``/proc/locks``; waiters left out)."""
    try:
        info = path.stat()
    except OSError:
        return set()
    device = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    holders = set()
    with open("/proc/locks") as locks:
        for line in locks:
            fields = line.split()
            if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == device:
                holders.add(int(fields[4]))
    return holders


def ancestors(pid: int | None = None) -> list[int]:
    """``pid`` (default: this process) and its parents, up to the first process."""
    chain = [pid or os.getpid()]
    while chain[-1] > 1:
        stat = Path(f"/proc/{chain[-1]}/stat").read_text()
        chain.append(int(stat[stat.rindex(")") + 2 :].split()[1]))
    return chain


def warn_unless_locked(path: Path = HEAVY_LOCK) -> None:
    """Say so on stderr unless this process runs under ``flock <path>`` (one of its ancestors holds
    the heavy-job lock): the figures may then be noise."""
    holders = lock_holders(path)
    if holders & set(ancestors()):
        return
    others = f" (held by process {', '.join(map(str, sorted(holders)))})" if holders else ""
    print(
        f"warning: not run under `flock {path}`{others}: other heavy jobs may share the CPUs",
        file=sys.stderr,
        flush=True,
    )


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on now (for a service the benchmark starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine() -> dict[str, Any]:
    """The machine a benchmark ran on, as it is reported beside its figures."""
    return {
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def describe_machine() -> str:
    info = machine()
    load = " / ".join(f"{x:.1f}" for x in info["loadavg"])
    return f"{info['processor']}, {info['cpus']} CPUs, python {info['python']}, load {load} (1/5/15 min)"


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically (a temporary file renamed into place)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def rss_mib(pid: int | str = "self", field: str = "VmRSS") -> float:
    """A process's resident memory now (``VmRSS``) or its peak so far (``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def first_documents(collection: Collection, count: int) -> Collection:
    """The collection with only the first ``count`` documents of its corpus (in file order)."""
    corpus = dict(list(collection.corpus.items())[:count])
    return Collection(f"{collection.name}-{len(corpus)}d", corpus, collection.queries, collection.qrels)


def until(check: Callable[[], bool], what: str, timeout: float, poll: float) -> float:
    """Seconds until ``check()`` holds (called every ``poll`` seconds); exits after ``timeout``."""
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(poll)
    return time.perf_counter() - started
