"""Every collection the service serves: one :class:`~service.runtime.hot_swap.SnapshotHolder` each
(its own snapshot, hot swap and refusals), all sharing one query engine (one model, batcher and query
cache). A collection that is not built yet, or whose snapshot is refused or damaged, answers 503 on its
own; the others keep serving."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

import anyio
import anyio.to_thread

from indexer.search import SearchEngine
from service.runtime.hot_swap import SnapshotHolder
from service.runtime.metrics import Metrics
from service.settings import AppSettings

log = logging.getLogger(__name__)


class Collections:
    """The collections by name, the default first; thread-safe (the holders are)."""

    def __init__(
        self,
        settings: AppSettings,
        engine: SearchEngine,
        registry: Metrics | None = None,
        created: Mapping[str, tuple[Path, str]] | None = None,
    ) -> None:
        """``created``: collections made at run time (name -> index folder, description), served after
        the configured ones."""
        self.default = settings.default_collection
        self.engine = engine
        self.registry = registry
        self.holders: dict[str, SnapshotHolder] = {}
        self.descriptions: dict[str, str] = {}
        self._several = bool(settings.collections or created)
        for name in settings.collection_names:
            configured = (settings.collections or {}).get(name)
            description = configured.description if configured is not None else ""
            self.add(name, settings.collection(name).index_dir, description)
        for name, (folder, description) in sorted((created or {}).items()):
            self.add(name, folder, description)

    def add(self, name: str, index_dir: Path, description: str = "") -> SnapshotHolder:
        """Serve collection ``name`` from ``index_dir`` (nothing until a snapshot is published there)."""
        holder = SnapshotHolder(self.engine, index_dir=index_dir, name=name if self._several else "")
        if self.registry is not None:
            holder.observer = self.registry.for_collection(
                name, holder.not_ready, default=name == self.default
            )
        self.descriptions[name] = description
        self.holders = {**self.holders, name: holder}  # replaced, not changed: readers iterate freely
        return holder

    def remove(self, name: str) -> None:
        """Stop serving collection ``name`` (requests that hold a lease finish on it)."""
        holder = self.holders.get(name)
        if holder is None or name == self.default:
            return
        self.holders = {k: v for k, v in self.holders.items() if k != name}
        holder.close()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.holders)

    def get(self, name: str) -> SnapshotHolder | None:
        return self.holders.get(name)

    def __iter__(self) -> Iterator[tuple[str, SnapshotHolder]]:
        return iter(self.holders.items())

    @property
    def default_holder(self) -> SnapshotHolder:
        return self.holders[self.default]

    def reload(self, *, retry_refused: bool = True) -> None:
        """Serve each collection's published snapshot (blocking: each is verified)."""
        for name, holder in self.holders.items():
            try:
                holder.reload(retry_refused=retry_refused)
            except Exception:  # one collection's failure leaves the others as they are
                log.exception("checking collection %s for a new snapshot failed", name)

    def not_ready(self) -> str | None:
        """None while at least one collection answers searches (``/ready`` is then 200: a damaged or
        unbuilt collection answers 503 on its own requests, and taking the whole service out of
        rotation would not mend it); else why the default collection cannot."""
        reasons = {name: holder.not_ready() for name, holder in self.holders.items()}
        if any(reason is None for reason in reasons.values()):
            return None
        return reasons[self.default]

    async def watch(self, interval: float) -> None:
        """Every ``interval`` seconds, swap in what the indexer published for any collection."""
        while True:
            await anyio.sleep(interval)
            await anyio.to_thread.run_sync(lambda: self.reload(retry_refused=False))

    def close(self) -> None:
        for holder in self.holders.values():
            holder.close()
