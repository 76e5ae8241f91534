"""python -m bench.load_bench stays runnable: a tiny bounded run against the real service on 127.0.0.1.

Asserts behaviour only (every level answered, no errors, the figures are reported); the timings
themselves are the benchmark's business, not a test's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import copy_seeds

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.model
def test_load_bench_runs_a_bounded_load_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    command = [
        sys.executable, "-m", "bench.load_bench",
        "--concurrency", "1,4",
        "--duration", "2",
        "--requests", "30",
        "--warmup", "2",
        "--bare", "5",
        "--index-dir", str(tmp_path / "index"),
        "--seeds", str(copy_seeds(tmp_path / "seeds")),
        "--json", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "p50 at concurrency 1 / mean bare search" in done.stdout

    report = json.loads(out.read_text())
    assert report["bare"]["search_ms"] > 0 and report["rss_start_mb"] > 0
    assert [level["concurrency"] for level in report["levels"]] == [1, 4]
    for level in report["levels"]:
        assert level["errors"] == 0, level["error_kinds"]
        assert 0 < level["requests"] <= 30 and level["rps"] > 0
        assert level["p50_ms"] <= level["p95_ms"] <= level["p99_ms"]
        assert level["model_mean_ms"] > 0 and level["server_rss_mb"] > 0
        # CPU time read from /proc: the server worked, and the machine was busy at least as long.
        assert level["server_cpu_ms_per_request"] > 0
        assert level["machine_cpu_ms_per_request"] >= level["server_cpu_ms_per_request"] * 0.9
        assert 0 < level["server_cpu_cores"] <= (os.cpu_count() or 1) + 0.5


def test_cpu_time_is_read_from_proc() -> None:
    from bench.load_bench import busy_cores, machine_cpu_seconds, process_cpu_seconds

    spent = process_cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))  # some CPU work of this process
    assert process_cpu_seconds(os.getpid()) > spent
    busy, accounted = machine_cpu_seconds()
    assert 0 < busy < accounted
    cpus = os.cpu_count() or 1
    # Busy for half of the time the kernel accounted: half of the CPUs, whatever the wall clock says.
    assert busy_cores((0.0, 10.0, 100.0), (5.0, 12.0, 104.0)) == 0.5 * cpus


def test_percentile_is_the_nearest_rank() -> None:
    from bench.load_bench import percentile

    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50.0, 95.0, 99.0)
    assert percentile([], 50) != percentile([], 50)  # nan
