"""Collections created over HTTP (``POST /v1/collections``), kept in ``<index_dir>/collections.json``
(written atomically) so they are served again after a restart. Each lives in ``<index_dir>/<name>/``:
its documents in ``sources/`` (the source folder: ``python -m indexer build`` is not needed, but a
build from it gives the same index), its snapshots beside them as a configured collection's."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec

from indexer.config import COLLECTION_NAME, Settings
from indexer.errors import ConfigError
from indexer.snapshot.durable import replace_durably
from service.errors import ConflictError

REGISTRY_NAME = "collections.json"
SOURCES_DIR = "sources"
RESERVED = frozenset({"current", "snapshots", "sources"})
"""Names of entries an index folder may hold itself."""


@dataclass(frozen=True, slots=True)
class CreatedCollection:
    name: str
    description: str
    created_at: float


class CollectionRegistry:
    """The collections created at run time; thread-safe."""

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / REGISTRY_NAME
        self._lock = threading.Lock()
        self._entries: dict[str, CreatedCollection] = self._read()

    def _read(self) -> dict[str, CreatedCollection]:
        """The file as it is now (another service process may have changed it)."""
        try:
            found = json.loads(self.path.read_text("utf-8"))
            return {
                str(name): CreatedCollection(
                    str(name), str(entry.get("description", "")), float(entry.get("created_at", 0))
                )
                for name, entry in found.items()
                if COLLECTION_NAME.match(str(name))
            }
        except FileNotFoundError:
            return {}
        except (ValueError, AttributeError, TypeError) as exc:
            raise ConfigError(f"{self.path} is damaged ({exc}); restore it or remove it") from exc

    def reload(self) -> bool:
        """Read the file again; whether the collections changed."""
        with self._lock, self._file_lock():
            found = self._read()
            changed = found != self._entries
            self._entries = found
            return changed

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """The registry to this process, against other service processes (``--workers``)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with (self.path.parent / f".{REGISTRY_NAME}.lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._entries))

    def get(self, name: str) -> CreatedCollection | None:
        return self._entries.get(name)

    @staticmethod
    def folder(settings: Settings, name: str) -> Path:
        return settings.index_dir / name

    def settings_of(self, settings: Settings, name: str) -> Settings:
        """Collection ``name`` as the indexer sees it: sources in ``<index_dir>/<name>/sources``,
        snapshots in ``<index_dir>/<name>``."""
        folder = self.folder(settings, name)
        return msgspec.structs.replace(settings, seeds_dir=folder / SOURCES_DIR, index_dir=folder)

    def create(self, settings: Settings, name: str, description: str) -> CreatedCollection:
        """Record collection ``name`` and make its folders; :class:`ConflictError` if the name is taken
        or its folder is already there."""
        with self._lock, self._file_lock():
            self._entries = self._read()
            folder = self.folder(settings, name)
            if name in self._entries or name in RESERVED or os.path.lexists(folder):
                raise ConflictError(
                    f"collection {name!r} already exists (or {name!r} is in use in the index folder)"
                )
            (folder / SOURCES_DIR).mkdir(parents=True)
            entry = CreatedCollection(name, description, time.time())
            self._save({**self._entries, name: entry})
            self._entries[name] = entry
            return entry

    def delete(self, settings: Settings, name: str) -> None:
        """Forget collection ``name`` (first, durably) and remove its folder."""
        with self._lock, self._file_lock():
            self._entries = self._read()
            if name not in self._entries:
                return
            kept = {k: v for k, v in self._entries.items() if k != name}
            self._save(kept)
            self._entries = kept
        folder = self.folder(settings, name)
        doomed = folder.with_name(f".deleted-{name}-{secrets.token_hex(4)}")
        with contextlib.suppress(FileNotFoundError):
            folder.rename(doomed)
            shutil.rmtree(doomed, ignore_errors=True)

    def _save(self, entries: dict[str, CreatedCollection]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {e.name: {"description": e.description, "created_at": e.created_at} for e in entries.values()}
        replace_durably(self.path, json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True).encode())


def created_collections(settings: Settings, registry: CollectionRegistry) -> dict[str, tuple[Path, str]]:
    """The collections ``registry`` holds that ``config.yaml`` does not name (one it names since
    wins), as :class:`~service.runtime.collections.Collections` takes them: name -> (index folder,
    description)."""
    configured = set(settings.collection_names)
    return {
        name: (registry.settings_of(settings, name).index_dir, entry.description)
        for name in registry.names
        if name not in configured and (entry := registry.get(name)) is not None
    }
