"""python -m bench.load_compare stays runnable: this checkout against itself, one tiny bounded round."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load_compare import verdict
from tests.conftest import copy_seeds

REPO = Path(__file__).resolve().parents[2]


def test_a_difference_is_called_only_when_the_ranges_do_not_overlap() -> None:
    assert verdict([300, 310], [250, 290], higher_is_better=True) == "this ahead"
    assert verdict([300, 310], [250, 290], higher_is_better=False) == "against ahead"
    assert verdict([3.0, 3.2], [3.5, 4.0], higher_is_better=False) == "this ahead"
    assert verdict([300, 310], [305, 320], higher_is_better=True) == "within spread"


@pytest.mark.model
def test_two_checkouts_are_loaded_in_turn_and_compared(tmp_path: Path) -> None:
    out = tmp_path / "compare.json"
    command = [
        sys.executable, "-m", "bench.load_compare",
        "--against", str(REPO), "--against-python", sys.executable,
        "--concurrency", "1,2", "--duration", "2", "--requests", "10", "--warmup", "1",
        "--rounds", "1", "--json", str(out), "--seeds", str(copy_seeds(tmp_path / "seeds")),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "within spread" in done.stdout or "ahead" in done.stdout

    report = json.loads(out.read_text())
    for name in ("this", "against"):
        [levels] = report["rounds"][name]
        assert [level["concurrency"] for level in levels] == [1, 2]
        assert all(level["errors"] == 0 and level["requests"] > 0 for level in levels)
    assert {row["figure"] for row in report["comparison"]} == {"rps", "p50_ms", "p95_ms"}
