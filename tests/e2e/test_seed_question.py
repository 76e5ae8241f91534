"""End to end, as a user runs it: the real CLI builds from the shipped seeds (a temporary copy), the
real server answers over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, copy_seeds, free_port, running_service, wait_for
from tests.e2e.conftest import Shipped, build

QUESTION = "What did the Secretary General call the war against Ukraine an example of?"
ANSWER = "The war against Ukraine is but one example of this"
pytestmark = pytest.mark.model  # every test here starts the real CLI or server


def test_seed_question_ranks_the_answer_first(shipped: Shipped) -> None:
    server = shipped.server.base_url
    response = httpx.post(f"{server}/v1/search", json={"query": QUESTION}, timeout=30)
    assert response.status_code == 200
    results = response.json()["results"]
    assert ANSWER in results[0]["text"], [r["text"][:80] for r in results]
    citation = results[0]["citation"]
    document = httpx.get(f"{server}{citation['url']}", timeout=30).json()
    assert document["text"][citation["char_start"] : citation["char_end"]] == results[0]["text"]
    seed_text = (shipped.seeds / citation["doc_id"]).read_text(encoding="utf-8")
    assert seed_text[citation["char_start"] : citation["char_end"]] == results[0]["text"]


def test_bad_input_over_real_http(shipped: Shipped) -> None:
    response = httpx.post(f"{shipped.server.base_url}/v1/search", json={"query": "   "}, timeout=30)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_service_starts_without_an_index_and_serves_the_first_build(tmp_path: Path) -> None:
    """What a container needs: the service comes up before any build, says on /ready why it is not
    ready, and serves the first snapshot the indexer publishes, without a restart."""
    env = {
        **os.environ,
        "CITESEARCH__INDEX_DIR": str(tmp_path / "index"),
        "CITESEARCH__SEEDS_DIR": str(copy_seeds(tmp_path / "seeds")),
        "CITESEARCH__SERVICE__RELOAD_POLL_SECONDS": "0.5",
        "CITESEARCH_CONFIG": str(REPO / "config.yaml"),
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running_service(env, port) as proc:
        wait_for(proc, lambda: httpx.get(f"{base}/health", timeout=1).status_code == 200)
        ready = httpx.get(f"{base}/ready", timeout=5)
        assert ready.status_code == 503
        assert "run `python -m indexer build` first" in ready.json()["detail"]
        assert httpx.post(f"{base}/v1/search", json={"query": QUESTION}, timeout=5).status_code == 503

        build(env)
        wait_for(proc, lambda: httpx.get(f"{base}/ready", timeout=1).status_code == 200)
        results = httpx.post(f"{base}/v1/search", json={"query": QUESTION}, timeout=30).json()["results"]
        assert ANSWER in results[0]["text"]


def test_service_refuses_a_snapshot_of_another_model(shipped: Shipped) -> None:
    env = {
        **os.environ,
        "CITESEARCH_CONFIG": str(REPO / "config.yaml"),
        "CITESEARCH__INDEX_DIR": str(shipped.index),
        "CITESEARCH__MODEL__NAME": "sentence-transformers/all-MiniLM-L12-v2",
    }
    result = subprocess.run(
        [sys.executable, "-m", "service", "--port", str(free_port())],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "built with model 'all-MiniLM-L6-v2'" in result.stderr
