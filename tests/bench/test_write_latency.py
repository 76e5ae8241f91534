"""python -m bench.write_latency stays runnable: a tiny bounded run against the real service on
127.0.0.1. Asserts behaviour only (every figure reported); the timings are the benchmark's business."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.model
def test_write_latency_reports_every_figure() -> None:
    command = [
        sys.executable, "-m", "bench.write_latency",
        "--documents", "20", "--writes", "2", "--burst", "4", "--searches", "5",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = ("upload -> searchable", "delete -> invisible", "4 uploads at once", "during ingestion", "rss")
    for figure in figures:
        assert figure in done.stdout, done.stdout
