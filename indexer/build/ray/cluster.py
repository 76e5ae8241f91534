"""Connecting the build to a Ray cluster, and keeping Ray quiet on the console: its logs go to the
session's log folder (``/tmp/ray/session_latest/logs`` on the head node), not to the build's terminal."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from indexer.build.ray import auth
from indexer.build.ray.target import RayTarget
from indexer.config import RaySettings
from indexer.errors import DistributedBuildError, StalledBuildError

log = logging.getLogger(__name__)

_DATA_CONTEXT = {
    "enable_progress_bars": False,  # the build prints one line of its own
    "print_on_execution_start": False,
    "enable_auto_log_stats": False,
    "raise_original_map_exception": True,  # our own errors (a file a node cannot read) come back as they are
}


@contextlib.contextmanager
def connected(target: RayTarget, settings: RaySettings, *, verbose: bool = False) -> Iterator[float]:
    """Connected to the cluster ``target`` names (started here for ``local``, stopped afterwards), with
    Ray Data set for the build; yields the cluster's CPUs. A process already connected to Ray (a notebook,
    a test session) keeps its connection, whatever ``target`` says."""
    # No Ray started behind the build's back: once it disconnects, Ray Data's threads that are still
    # winding down would otherwise start a new local Ray (read when Ray is first imported).
    os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")
    import ray

    started = not ray.is_initialized()
    if started:
        _init(target, settings, verbose=verbose)
    try:
        with data_context(verbose=verbose):
            yield float(ray.cluster_resources().get("CPU", 0))  # type: ignore[no-untyped-call]
    except StalledBuildError:
        # Ray Data's thread is still waiting inside Ray: disconnecting now would make Ray end this
        # process from that thread ("core worker has already been shutdown") before the error is
        # reported. Ray disconnects when the process exits.
        started = False
        raise
    finally:
        if started:
            ray.shutdown()


def _init(target: RayTarget, settings: RaySettings, *, verbose: bool) -> None:
    import ray

    # Ray's own C++ log lines (an error-level notice at every actor pool start, for one) go to its
    # log files only; what it prints while starting goes to a file, shown if the start fails.
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "info" if verbose else "fatal")
    options = {
        "logging_level": logging.INFO if verbose else logging.WARNING,
        "log_to_driver": verbose,  # the workers' stdout and stderr stay in the session's log files
        "include_dashboard": False,
    }
    token = None
    if not target.local:
        token = auth.use_token(home=not target.client)
    with _stderr_to_file(enabled=not verbose) as messages, _client_retries() as retries:
        try:
            if target.local:
                ray.init(num_cpus=settings.local_cpus or None, **options)  # type: ignore[arg-type]
            else:
                ray.init(address=target.address, **options)  # type: ignore[arg-type]
        except Exception as exc:  # Ray's: no cluster there, a refused token, a version mismatch
            raise DistributedBuildError(_cannot_connect(target, exc, messages, retries)) from exc
    log.info(
        "connected to Ray at %s%s: %s",
        target.describe(os.environ),
        f" with the token from {token}" if token else "",
        ray.cluster_resources(),  # type: ignore[no-untyped-call]
    )


def _cannot_connect(target: RayTarget, exc: Exception, messages: _Captured, retries: list[str]) -> str:
    """One line for a connection that failed (the last lines Ray printed after it, unless the cluster
    refused the token: then what to do is all that is said)."""
    printed, where = messages.tail(), target.describe(os.environ)
    causes = [str(e) for e in (exc, exc.__cause__, exc.__context__) if e is not None]
    if auth.refused("\n".join([*causes, *retries, printed])):
        return auth.refusal(where)
    return f"cannot connect to Ray at {where}: {_first_line(exc)}{printed}"


@contextlib.contextmanager
def _client_retries() -> Iterator[list[str]]:
    """What Ray Client logs (at debug level only, kept off the console) while it retries a connection:
    a refused token shows only there, the error itself says "connection timeout"."""
    client_log = logging.getLogger("ray.util.client.worker")
    seen: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    saved = client_log.level, client_log.propagate
    client_log.setLevel(logging.DEBUG)
    client_log.propagate = False
    client_log.addHandler(handler)
    try:
        yield seen
    finally:
        client_log.removeHandler(handler)
        client_log.setLevel(saved[0])
        client_log.propagate = saved[1]


class _Captured:
    def __init__(self, path: Path | None) -> None:
        self.path = path

    def tail(self, lines: int = 5) -> str:
        """The last lines written, as a suffix for an error message ("" if none)."""
        if self.path is None or not self.path.exists():
            return ""
        text = self.path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:]
        return ("\n" + "\n".join(text)) if text else ""


@contextlib.contextmanager
def _stderr_to_file(*, enabled: bool) -> Iterator[_Captured]:
    """Send this process's stderr (file descriptor 2: Ray's C++ core writes there too) to a temporary
    file, deleted afterwards."""
    if not enabled:
        yield _Captured(None)
        return
    with tempfile.TemporaryDirectory(prefix="citesearch-ray-") as folder:
        path = Path(folder) / "ray-start.log"
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with path.open("wb") as sink:
                os.dup2(sink.fileno(), 2)
                yield _Captured(path)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:500]


@contextlib.contextmanager
def data_context(*, verbose: bool) -> Iterator[None]:
    """Ray Data's settings for the build (restored afterwards), and its console logs at warnings when
    ``verbose``, else off (a failure's cause is in the build's error message; Ray Data's full log stays in
    the session's ``ray-data.log``). After a failed build its console stays quiet: the pipeline's
    threads, stopped by the failure or the disconnection, log their own errors for a while."""
    from ray.data import DataContext

    context = DataContext.get_current()
    saved = {name: getattr(context, name) for name in _DATA_CONTEXT}
    preserve = context.execution_options.preserve_order
    for name, value in _DATA_CONTEXT.items():
        setattr(context, name, value)
    context.execution_options.preserve_order = True  # results come back in the build's order
    consoles = [h for h in logging.getLogger("ray.data").handlers if isinstance(h, logging.StreamHandler)]
    levels = [h.level for h in consoles]
    for handler in consoles:
        handler.setLevel(logging.WARNING if verbose else logging.CRITICAL)
    try:
        yield
    except BaseException:
        failed = True
        raise
    else:
        failed = False
    finally:
        for name, value in saved.items():
            setattr(context, name, value)
        context.execution_options.preserve_order = preserve
        for handler, level in zip(consoles, levels, strict=True):
            if not failed:
                handler.setLevel(level)
