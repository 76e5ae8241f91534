"""``build --ray auto`` and ``build --ray ray://``: a real two-node Ray cluster on this machine, a head
and a worker each started with ``ray start`` (1 CPU each), token authentication on as Ray turns it on by
default (a token in the head's ``~/.ray/auth_token``), the build run as a user runs it. The index equals a
local build's; a build with another token fails in one line that says how to give the right one.

The cluster stays on loopback: its nodes' address is 127.0.0.2, because Ray replaces 127.0.0.1 (and
``localhost``) by the machine's network address, while the rest of 127.0.0.0/8 is loopback too on Linux.
The dashboard and usage stats are off. The cluster is stopped at the end by the ids of the processes it
started (``ray stop`` would stop every Ray on the machine)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
import pytest

from indexer.build import Builder
from indexer.config import Settings
from indexer.embedding import Embedder
from tests.conftest import REPO, free_port, make_settings, service_env
from tests.indexer.build.ray_helpers import corpus, rows

pytest.importorskip("ray", reason="the Ray build needs pip install -e '.[ray]' (in the dev extra)")
pytest.importorskip("grpc", reason="--ray ray:// needs Ray Client: pip install -e '.[ray]'")
if not sys.platform.startswith("linux"):  # elsewhere 127.0.0.2 needs configuring
    pytest.skip("a cluster on 127.0.0.2 needs Linux", allow_module_level=True)

HOST = "127.0.0.2"
RAY = Path(sys.executable).with_name("ray")
STARTED = "This command will now block forever"
"""What ``ray start --block`` prints once its node runs (and, on a worker, has joined the head)."""
CACHE = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
START_SECONDS = 120
BUILD_SECONDS = 180


@dataclass(frozen=True)
class Cluster:
    address: str
    """The head's GCS address, as ``RAY_ADDRESS`` takes it."""
    client: str
    """Its Ray Client address (``ray://``)."""
    home: Path
    """The head's home folder: its token is in ``.ray/auth_token``."""
    token: str


def _clean_environ(home: Path) -> dict[str, str]:
    """This process's environment without Ray's settings (a local Ray started by another test leaves
    ``RAY_AUTH_MODE`` here), with ``home`` as the home folder (and this user's cache: the model's
    ONNX export is made once), and usage stats off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(HOME=str(home), XDG_CACHE_HOME=CACHE, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(REPO))
    return env


def _node_ports() -> list[str]:
    """A free port for the one port Ray gives a fixed default (two nodes share this machine); Ray
    picks free ports for the others itself (pinning them here could race with those picks)."""
    return ["--dashboard-agent-listen-port", str(free_port())]


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``ray start ... --block`` in a session of its own, once its node runs."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(RAY), "start", "--block", *command],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_SECONDS
    while STARTED not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"ray start did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    return proc


def _session_members(sessions: set[int]) -> list[int]:
    """The processes of ``sessions`` still running (Ray's daemons keep the session of their ``ray start``)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) in sessions and fields[0] != "Z":
                found.append(int(stat.parent.name))
    return found


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each ``ray start --block`` (it stops its node's processes), then SIGKILL whatever of
    their sessions is left after 15 s."""
    for proc in reversed(procs):  # the worker first
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    sessions = {proc.pid for proc in procs}
    while _session_members(sessions) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in _session_members(sessions):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A head (``ray start --head``, a token in its home: token authentication on by Ray's default) and a
    worker (``RAY_AUTH_MODE=token``, as Ray asks of every node joining such a cluster), 1 CPU each."""
    if not RAY.exists():
        pytest.skip(f"no ray command beside {sys.executable}")
    # A short folder: Ray's sockets live below it and a socket's path has at most 107 characters.
    with tempfile.TemporaryDirectory(prefix="ray-") as folder:
        root = Path(folder)
        home = root / "home"
        home.mkdir()
        env = _clean_environ(home)
        subprocess.run([str(RAY), "get-auth-token", "--generate"], env=env, check=True, capture_output=True)
        token = (home / ".ray" / "auth_token").read_text().strip()
        port, client = free_port(), free_port()
        common = ["--node-ip-address", HOST, "--num-cpus", "1", "--disable-usage-stats"]
        head = [
            "--head",
            "--port",
            str(port),
            "--ray-client-server-port",
            str(client),
            "--include-dashboard",
            "false",
            "--temp-dir",
            str(root / "t"),
        ]
        procs: list[subprocess.Popen[bytes]] = []
        try:
            procs.append(_start([*head, *common, *_node_ports()], env, root / "head.log"))
            worker = ["--address", f"{HOST}:{port}", *common, *_node_ports()]
            procs.append(_start(worker, {**env, "RAY_AUTH_MODE": "token"}, root / "worker.log"))
            yield Cluster(f"{HOST}:{port}", f"ray://{HOST}:{client}", home, token)
        finally:
            _stop(procs)


def _build(
    settings: Settings, ray: str, env: dict[str, str], *, verbose: bool = True
) -> subprocess.CompletedProcess[str]:
    """``python -m indexer build --ray <ray>`` (``-v``: with the log) with ``env``, as a user runs it."""
    command = [sys.executable, "-m", "indexer", *(["-v"] if verbose else []), "build", "--ray", ray]
    return subprocess.run(
        [*command, "--no-progress"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_SECONDS,
        check=False,
    )


def _user_env(settings: Settings, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's ``python -m indexer`` for ``settings``, in ``home``, with ``extra``."""
    env = {k: v for k, v in service_env(settings).items() if not k.startswith("RAY_")}
    return {**env, "HOME": str(home), "XDG_CACHE_HOME": CACHE, "RAY_USAGE_STATS_ENABLED": "0", **extra}


def test_builds_on_a_two_node_cluster_with_token_auth_equal_a_local_build(
    tmp_path: Path, embedder: Embedder, cluster: Cluster
) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    corpus(seeds, 12)
    local = msgspec.structs.replace(make_settings(tmp_path / "local"), seeds_dir=seeds)
    Builder(local, lambda: embedder).build()
    expected_chunks, expected_vectors, expected_skipped = rows(local)

    # On a node of the cluster: the token in ~/.ray/auth_token, the cluster named by RAY_ADDRESS.
    on_node = msgspec.structs.replace(local, index_dir=tmp_path / "auto")
    done = _build(on_node, "auto", _user_env(on_node, cluster.home, RAY_ADDRESS=cluster.address))
    assert done.returncode == 0, done.stdout + done.stderr
    # From elsewhere (no token file in its home): the token in RAY_AUTH_TOKEN, through Ray Client.
    elsewhere = tmp_path / "laptop"
    elsewhere.mkdir()
    remote = msgspec.structs.replace(local, index_dir=tmp_path / "client")
    by_client = _build(remote, cluster.client, _user_env(remote, elsewhere, RAY_AUTH_TOKEN=cluster.token))
    assert by_client.returncode == 0, by_client.stdout + by_client.stderr

    for result, settings in ((done, on_node), (by_client, remote)):
        output = result.stdout + result.stderr
        assert "'CPU': 2.0" in output, output  # both nodes' CPUs
        assert "with the token from" in output, output
        chunks, vectors, skipped = rows(settings)
        assert chunks == expected_chunks and skipped == expected_skipped
        assert len(chunks) > 40
        np.testing.assert_allclose(vectors, expected_vectors, atol=2e-3)


def test_a_build_with_another_token_fails_in_one_line(tmp_path: Path, cluster: Cluster) -> None:
    settings = make_settings(tmp_path)
    settings.seeds_dir.mkdir(parents=True, exist_ok=True)
    (settings.seeds_dir / "a.txt").write_text("Tides follow the Moon.", encoding="utf-8")
    env = _user_env(settings, tmp_path, RAY_AUTH_TOKEN="not-the-token")
    result = _build(settings, cluster.client, env, verbose=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and not result.stdout.strip(), result.stdout + result.stderr
    assert result.stderr.startswith("error: cannot connect to Ray at ray://127.0.0.2:"), result.stderr
    assert "refused the token from RAY_AUTH_TOKEN" in result.stderr and "ray get-auth-token" in result.stderr
