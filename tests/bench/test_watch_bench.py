"""python -m bench.watch_bench stays runnable: a tiny bounded run of `python -m indexer watch` on a
temporary folder. Asserts behaviour only (every figure reported); the timings are the benchmark's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.model
def test_watch_bench_reports_every_figure() -> None:
    command = [sys.executable, "-m", "bench.watch_bench", "--documents", "10", "--drops", "2", "--burst", "5"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = ("one document added, until searchable", "one document deleted, until gone", "written at once")
    for figure in figures:
        assert figure in done.stdout, done.stdout
