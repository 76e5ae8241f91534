"""The factory of :class:`~indexer.build.processor.Processor`: the local processor or Ray's, from
``--ray``."""

from __future__ import annotations

from collections.abc import Callable

from indexer.build.processor import Processor
from indexer.config import Settings
from indexer.embedding import Embedder


def processor_for(
    settings: Settings, embedder: Callable[[], Embedder], *, ray: str | None = None, progress: bool = False
) -> Processor:
    """Factory: the local processor (read and chunk here, embed on a worker thread), or Ray's when
    ``ray`` (an address: ``auto``, ``local`` or ``ray://host:port``) is given. ``embedder`` loads the
    model in this process, on first need."""
    if ray is None:
        from indexer.build.local_processor import LocalProcessor

        return LocalProcessor(settings, embedder, progress=progress)
    from indexer.build.ray.target import parse_target, require_ray

    target = parse_target(ray)
    require_ray()
    from indexer.build.ray.processor import RayProcessor

    return RayProcessor(settings, embedder, target, progress=progress)
