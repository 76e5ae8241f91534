"""The live state of a collection: its base snapshot, the delta segments written since, and deletion
marks, in one small file (``segments.json``) replaced atomically.

A full build writes a base snapshot and switches ``current`` to it (:mod:`indexer.snapshot.publish`).
An update (:func:`indexer.build.update`) writes the documents it changed as a delta segment (a folder
under ``segments/`` written by the same writers as a snapshot), marks the older copies of those
documents as deleted in the part that holds them, and publishes by replacing ``segments.json``: a
``rename(2)`` of a fsynced file, so a reader sees the old state or the new one, never a mix, and a
process killed at any point leaves the previous state serving.

The state names the base it extends: once a build switches ``current`` to a new base, a state naming
the old one is stale and ignored (the build then removes it and its segments). Readers read the state
before ``current`` so that a state removed by a build is never combined with an older base.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import msgspec

from indexer.errors import IndexWriteError, SnapshotError
from indexer.snapshot.durable import fsync_dir, replace_durably
from indexer.snapshot.layout import SEGMENTS_DIR, SNAPSHOTS_DIR, STATE_NAME, current_dir
from indexer.snapshot.locks import remove_unless_read

log = logging.getLogger(__name__)

STATE_VERSION = 1


class PartRef(msgspec.Struct, frozen=True):
    """One part of the live state: the base snapshot (first) or a delta segment."""

    id: str
    deleted: tuple[str, ...] = ()
    """Documents of this part that are deleted or replaced by a later part (sorted)."""


class LiveState(msgspec.Struct, frozen=True):
    version: int
    base: str
    generation: int
    """Incremented by every update on the same base (0: the base alone, as the build wrote it)."""
    parts: tuple[PartRef, ...]
    """The base first, then the delta segments. A document is live in at most one part."""

    @property
    def id(self) -> str:
        """What the service shows as the snapshot id: the base's, with the generation once updated."""
        return self.base if self.generation == 0 else f"{self.base}+{self.generation}"

    @property
    def deltas(self) -> tuple[PartRef, ...]:
        return self.parts[1:]

    @property
    def trivial(self) -> bool:
        """Whether the state is the base alone (no delta, no deletion mark)."""
        return len(self.parts) == 1 and not self.parts[0].deleted


def base_state(base: str) -> LiveState:
    return LiveState(version=STATE_VERSION, base=base, generation=0, parts=(PartRef(base),))


@dataclass(frozen=True)
class Target:
    """What a reader opens: the live state and where each of its parts is."""

    index_dir: Path
    state: LiveState

    @property
    def name(self) -> str:
        return self.state.id

    def directory(self, part: int) -> Path:
        ref = self.state.parts[part]
        folder = SNAPSHOTS_DIR if part == 0 else SEGMENTS_DIR
        return self.index_dir / folder / ref.id


def read_state(index_dir: Path) -> Target:
    """The live state of the collection in ``index_dir`` (:class:`~indexer.errors.NoSnapshotError`
    when nothing is published). The state file is read before ``current``: one written for another
    base than the current one is stale and stands for nothing."""
    path = index_dir / STATE_NAME
    try:
        raw: bytes | None = path.read_bytes()
    except FileNotFoundError:
        raw = None
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    base = current_dir(index_dir).name
    if raw is None:
        return Target(index_dir, base_state(base))
    try:
        state = msgspec.json.decode(raw, type=LiveState)
    except msgspec.MsgspecError as exc:
        raise SnapshotError(f"{path}: unreadable state: {exc}") from exc
    if state.version != STATE_VERSION:
        raise SnapshotError(f"{path}: state version {state.version}, this version reads {STATE_VERSION}")
    if state.base != base or not state.parts or state.parts[0].id != base:
        return Target(index_dir, base_state(base))
    return Target(index_dir, state)


def write_state(index_dir: Path, state: LiveState) -> None:
    """Publish ``state``: written beside, fsynced, renamed over ``segments.json``, folder fsynced."""
    path = index_dir / STATE_NAME
    data = msgspec.json.format(msgspec.json.encode(state), indent=1)
    try:
        replace_durably(path, data, staged=index_dir / f".{STATE_NAME}.tmp")
    except OSError as exc:
        raise IndexWriteError(f"cannot write {path}: {exc.strerror or exc}") from exc


def remove_state(index_dir: Path) -> None:
    """Forget the deltas (a build folded them into a new base): remove the state file, then every
    segment no process reads."""
    with contextlib.suppress(FileNotFoundError):
        (index_dir / STATE_NAME).unlink()
        fsync_dir(index_dir)
    prune_segments(index_dir, set())


def prune_segments(index_dir: Path, keep: set[str]) -> list[str]:
    """Remove segment folders the live state does not name (merged, left by a killed update, or
    folded into a base), except those a process still reads. The names removed."""
    root = index_dir / SEGMENTS_DIR
    if not root.is_dir():
        return []
    removed = []
    for folder in sorted(root.iterdir()):
        if folder.name in keep or not folder.is_dir():
            continue
        if folder.name.startswith(".") or remove_unless_read(folder):
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    if removed:
        log.info("removed segments %s", ", ".join(removed))
    return removed
