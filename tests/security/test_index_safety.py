"""Issue 19, items 4, 6, 7 and 8: a Dify filter value that used to give a 500, an empty seeds folder,
paths and files left behind, pruning a served snapshot, and a read-only index folder."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from indexer.build import Builder
from indexer.embedding import Embedder
from indexer.snapshot import SNAPSHOTS_DIR, current_dir
from indexer.snapshot import publish as publishing
from service.settings import AppSettings
from tests.conftest import REPO, service_env
from tests.security.conftest import Serve
from tests.service.helpers import SECOND, publish_copy, write_corpus


@pytest.mark.parametrize(
    "condition",
    [
        {"name": "date", "comparison_operator": "after", "value": 1e20},
        {"name": "line_start", "comparison_operator": ">", "value": 10**400},
        {"name": "line_start", "comparison_operator": "<", "value": "not a number"},
    ],
)
def test_dify_filter_values_out_of_range_are_a_4xx(served: Serve, condition: dict[str, object]) -> None:
    # Today: 500 (OverflowError / ValueError) on the first two.
    body = {
        "knowledge_id": "citesearch",
        "query": "lighthouse",
        "retrieval_setting": {"top_k": 3},
        "metadata_condition": {"conditions": [condition]},
    }
    with served() as (base_url, _, _):
        response = httpx.post(f"{base_url}/retrieval", json=body)
    assert response.status_code == 422, response.text
    assert "value" in response.json()["detail"]


def _cli_build(settings: AppSettings, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "indexer", "build", "--no-progress", *args]
    return subprocess.run(
        command, cwd=REPO, env=service_env(settings), capture_output=True, text=True, timeout=300
    )


def test_an_empty_seeds_folder_does_not_wipe_the_served_index(served: Serve) -> None:
    # Today: a 0-document snapshot was published, /ready said 200 and every search found nothing.
    with served() as (base_url, settings, _):
        before = httpx.get(f"{base_url}/ready").json()["snapshot"]
        write_corpus(settings, {})
        refused = _cli_build(settings)
        assert refused.returncode == 1
        assert refused.stderr.count("\n") == 1 and "--allow-shrink" in refused.stderr
        assert httpx.post(f"{base_url}/v1/admin/reload").status_code == 401  # no admin key: unchanged
        ready = httpx.get(f"{base_url}/ready").json()
        assert (
            ready["snapshot"]["snapshot_id"] == before["snapshot_id"] == current_dir(settings.index_dir).name
        )
        assert httpx.post(f"{base_url}/v1/search", json={"query": "lighthouse"}).json()["results"]
        assert _cli_build(settings, "--allow-shrink").returncode == 0


def test_ready_and_refusals_name_no_server_paths_and_notice_a_truncated_file(
    served: Serve, embedder: Embedder
) -> None:
    # Today: "<index>/current points to <absolute path>/..."; a truncated index.faiss went unnoticed.
    with served(reload_poll_seconds=0.2) as (base_url, settings, _):
        publish_copy(settings, "99990101T000000000000Z-corrupt", "incomplete")
        for _ in range(100):
            ready = httpx.get(f"{base_url}/ready").json()
            if ready["last_refusal"]:
                break
            time.sleep(0.1)
        assert ready["last_refusal"], ready
        assert str(settings.index_dir) not in str(ready) and "/tmp" not in str(ready)
        served_dir = settings.index_dir / SNAPSHOTS_DIR / ready["snapshot"]["snapshot_id"]
        index_file = served_dir / "index.faiss"
        index_file.write_bytes(index_file.read_bytes()[:100])
        damaged = httpx.get(f"{base_url}/ready")
        assert damaged.status_code == 503 and "index.faiss" in damaged.json()["detail"]
        assert str(settings.index_dir) not in damaged.text


def test_pruning_never_removes_the_served_snapshot_and_swapped_out_files_are_closed(
    served: Serve, embedder: Embedder
) -> None:
    # Today: pruning deleted the snapshot a running service still served; BM25 files stayed open.
    with served() as (base_url, settings, app):
        served_id = httpx.get(f"{base_url}/ready").json()["snapshot"]["snapshot_id"]
        keep_one = _keep(settings, 1)
        for documents in (SECOND, {"a.txt": "Another text about ships."}):
            write_corpus(settings, documents)
            Builder(keep_one, lambda: embedder).build(allow_shrink=True)
        assert (settings.index_dir / SNAPSHOTS_DIR / served_id).is_dir()  # still served: kept
        assert httpx.post(f"{base_url}/v1/search", json={"query": "ships"}).status_code == 200
        app.state.snapshots.reload()  # swap to the newest; the old one is closed
        assert not [f for f in _open_files() if served_id in f]
        write_corpus(settings, {"b.txt": "A third text about harbours."})
        Builder(keep_one, lambda: embedder).build(allow_shrink=True)
        assert not (settings.index_dir / SNAPSHOTS_DIR / served_id).exists()  # no longer served: pruned


def _open_files() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
    return found


def _keep(settings: AppSettings, keep: int) -> AppSettings:
    import msgspec

    return msgspec.structs.replace(
        settings, index=msgspec.structs.replace(settings.index, keep_snapshots=keep)
    )


def test_a_read_only_index_folder_is_one_clear_line(tmp_path: Path, served: Serve) -> None:
    with served() as (_, settings, _):
        (settings.seeds_dir / "new.txt").write_text("A new document about harbours.", encoding="utf-8")
        if subprocess.run(
            ["mount", "--bind", "-o", "ro", str(settings.index_dir), str(settings.index_dir)]
        ).returncode:
            pytest.skip("cannot make a read-only bind mount here")
        try:
            failed = _cli_build(settings)
        finally:
            subprocess.run(["umount", str(settings.index_dir)], check=True)
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: cannot write the index folder") and failed.stderr.count("\n") == 1
    assert "Traceback" not in failed.stderr


def test_a_snapshot_whose_publication_failed_is_reused_by_the_next_build(
    served: Serve, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    with served() as (base_url, settings, _):
        (settings.seeds_dir / "new.txt").write_text("A new document about harbours.", encoding="utf-8")

        def refuse(index_dir: Path, snapshot_id: str) -> None:
            raise PermissionError(13, "Permission denied", str(index_dir / "current"))

        monkeypatch.setattr("indexer.snapshot.publish.switch_current", refuse)
        with pytest.raises(Exception, match="Permission denied"):
            Builder(settings, lambda: embedder).build()
        monkeypatch.undo()
        report = Builder(settings, lambda: embedder).build()
        assert report.published and report.embedded_chunks == 0 and report.documents == 2
        assert current_dir(settings.index_dir).name == report.snapshot_id
        assert publishing.intact(current_dir(settings.index_dir))
        assert httpx.post(f"{base_url}/v1/admin/reload").status_code == 401
