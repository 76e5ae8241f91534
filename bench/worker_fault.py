"""What a worker killed under load costs: ``python -m service --workers 2`` searched by clients on fresh
connections, one worker killed with SIGKILL halfway, every request's outcome counted.

    flock /tmp/heavy.lock python -m bench.worker_fault                     # 16 clients, 60 s
    flock /tmp/heavy.lock python -m bench.worker_fault --clients 16 --duration 20

It builds the repository's seeds into a temporary folder, starts the service with two workers on a free
port, and runs ``--clients`` threads that each send searches one after another, each on a new connection
(so a connection is a request). At half of ``--duration`` it stops one worker (SIGSTOP), counts the
connections it holds then (``/proc``: the requests it was answering, which die with it), and kills it
(SIGKILL); the supervisor starts another. The workers accept from one listening socket, so the
connections waiting to be accepted are taken by the other worker: the requests lost should be at most
the ones the killed worker held. Bounded in time and clients; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.common import REPO, free_port, machine, warn_unless_locked, write_json
from bench.load_bench import SEED_QUESTIONS, service_env, wait_ready


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def held_connections(pid: int, port: int) -> int:
    """Established TCP connections on ``port`` whose socket ``pid`` holds."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    held = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
            held += local_port == port and state == "01" and inode in inodes
    return held


def _client(base_url: str, stop: threading.Event, outcomes: list[str], offset: int) -> None:
    questions = SEED_QUESTIONS
    count = offset
    while not stop.is_set():
        body = {"query": questions[count % len(questions)], "top_k": 5}
        count += 1
        try:
            status = httpx.post(f"{base_url}/v1/search", json=body, timeout=60).status_code
            outcomes.append(str(status))
        except httpx.HTTPError as exc:
            outcomes.append(type(exc).__name__)


def _wait_stopped(pid: int) -> None:
    """Until every thread of ``pid`` is stopped (state ``T`` in /proc), at most a second."""
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:
        states = []
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(FileNotFoundError):  # a thread that ended meanwhile
                states.append(Path(f"/proc/{pid}/task/{task}/stat").read_text().rsplit(")", 1)[1].split()[0])
        if all(state in ("T", "t") for state in states):
            return
        time.sleep(0.001)


def stop_while_serving(pid: int, port: int) -> int:
    """SIGSTOP ``pid`` while it answers requests (it accepts nothing more: what it holds then is what it
    loses when killed); how many connections it holds."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if held_connections(pid, port):
            os.kill(pid, signal.SIGSTOP)
            _wait_stopped(pid)  # kill() returns before the signal lands: it could still accept one more
            held = held_connections(pid, port)
            if held:
                return held
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.005)
    raise RuntimeError(f"worker {pid} held no connection in 10 s: it does not accept from the socket")


def kill_one(supervisor: int, port: int) -> dict[str, Any]:
    """Stop a worker while it serves, count what it holds, SIGKILL it."""
    victim = children(supervisor)[0]
    held = stop_while_serving(victim, port)
    os.kill(victim, signal.SIGKILL)
    return {"killed_pid": victim, "held_at_kill": held}


def run(args: argparse.Namespace, env: dict[str, str], log: Path) -> dict[str, Any]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "service", "--workers", "2", "--port", str(port)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=out)
        try:
            wait_ready(server, base_url, log)
            while len(children(server.pid)) < 2 or not all(
                httpx.get(f"{base_url}/ready", timeout=5).status_code == 200 for _ in range(8)
            ):
                time.sleep(0.5)
            stop = threading.Event()
            outcomes: list[str] = []
            threads = [
                threading.Thread(target=_client, args=(base_url, stop, outcomes, i))
                for i in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            time.sleep(args.duration / 2)
            before = len(outcomes)
            kill = kill_one(server.pid, port)
            time.sleep(args.duration / 2)
            stop.set()
            for thread in threads:
                thread.join(timeout=120)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=120)
    counts = Counter(outcomes)
    return {
        "clients": args.clients,
        "duration_s": args.duration,
        "requests": len(outcomes),
        "answered_200": counts.pop("200", 0),
        "failed": dict(counts),
        "requests_before_kill": before,
        **kill,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.worker_fault", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 256 or not 2 <= args.duration <= 600:
        raise SystemExit("1..256 clients, 2..600 seconds")
    warn_unless_locked()
    with tempfile.TemporaryDirectory(prefix="citesearch-fault-") as tmp:
        root = Path(tmp)
        env = service_env(REPO / "seeds", root / "index", 0, [])
        build = [sys.executable, "-m", "indexer", "build", "--no-progress"]
        subprocess.run(build, cwd=REPO, env=env, check=True, timeout=1800, stdout=subprocess.DEVNULL)
        result = run(args, env, root / "service.log")
    for key, value in result.items():
        print(f"{key:>21}: {value}")
    lost = sum(result["failed"].values())
    print(f"lost {lost} of {result['requests']}; the killed worker held {result['held_at_kill']} at the kill")
    if args.json:
        write_json(args.json, {**result, "machine": machine()})
    return 0 if lost <= result["held_at_kill"] else 1


if __name__ == "__main__":
    sys.exit(main())
