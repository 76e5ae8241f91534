"""bench/page_bench.py stays runnable: a tiny run (seeds only, two page loads per figure) in Chromium
against the real service. Asserts that every figure is reported, not what it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import copy_seeds

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.model


def test_page_bench_reports_weight_and_render_times(tmp_path: Path) -> None:
    if os.environ.get("CITESEARCH_NO_BROWSER") == "1":
        pytest.skip("CITESEARCH_NO_BROWSER=1: the browser tests are skipped on purpose")
    out = tmp_path / "page.json"
    command = [
        sys.executable, "-m", "bench.page_bench",
        "--runs", "2",
        "--long-chars", "0",
        "--workdir", str(tmp_path / "work"),
        "--seeds", str(copy_seeds(tmp_path / "seeds")),
        "--json", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "page weight:" in done.stdout and "search_top_k_100" in done.stdout

    report = json.loads(out.read_text())
    assert 0 < report["weight"]["total_gzip"] < report["weight"]["total"] < 100_000
    for top_k in (5, 20, 100):
        row = report[f"search_top_k_{top_k}"]
        assert row["results"] >= 1 and row["render_ms"]["runs"] == 2
        assert 0 <= row["render_ms"]["median"] <= row["paint_ms"]["median"]
    document = report["document_seed_article"]
    assert document["chars_rendered"] == document["chars"]  # a short document is shown whole
