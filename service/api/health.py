"""``GET /health`` (the process is up) and ``GET /ready`` (a snapshot is loaded and searches work)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from litestar import Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec

from service import __version__
from service.admission.auth import PUBLIC, Access
from service.api.schemas import CollectionState, HealthResponse, ReadyResponse, RefusalInfo, SnapshotInfo
from service.runtime.collections import Collections
from service.runtime.hot_swap import SnapshotHolder
from service.runtime.work import SearchPool


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def snapshot_age_seconds(created_at: str, now: float | None = None) -> float:
    """Seconds since a manifest's ``created_at``."""
    created = dt.datetime.fromisoformat(created_at)
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    return max(0.0, (now if now is not None else time.time()) - created.timestamp())


def not_ready(snapshots: Callable[[], str | None], work: SearchPool | None) -> str | None:
    """Why the service is not ready (``/ready`` answers 503 and ``citesearch_ready`` is 0), or None:
    ``snapshots()`` (no collection served, the served one damaged on disk), or the search threads
    saturated past the timeout."""
    detail = snapshots()
    if detail is None and work is not None:
        detail = work.saturated()
    return detail


@get("/health", summary="Liveness", operation_id="health", tags=["operations"], opt=PUBLIC)
async def health(state: State) -> HealthResponse:
    """The process is up and answering; says nothing about the index (see ``/ready``)."""
    started: float = state.get("started_at", time.time())
    return HealthResponse(status="ok", version=__version__, uptime_seconds=round(time.time() - started, 3))


@get(
    "/ready",
    summary="Readiness",
    operation_id="ready",
    tags=["operations"],
    opt=PUBLIC,
    responses={
        503: ResponseSpec(
            ReadyResponse,
            description="No snapshot is loaded, the served one was damaged on disk, or the search "
            "threads have all been busy for longer than service.request_timeout_seconds.",
            generate_examples=False,
        )
    },
)
async def ready(
    snapshots: NamedDependency[SnapshotHolder], access: NamedDependency[Access], state: State
) -> Response[ReadyResponse]:
    """200 when a snapshot is loaded (the default collection's id, age, counts and model), 503 while
    none is, when the served snapshot's files were removed or truncated on disk, or when every search
    thread has been busy for longer than ``service.request_timeout_seconds`` (searches are being
    refused); also the last snapshot the service refused to load, and why. With several collections
    it is 200 while any one of them answers: an unbuilt or damaged collection answers 503 on its own
    searches and is listed ``unavailable`` here (to the keys that may search it)."""
    searcher = snapshots.current
    info = None
    if searcher is not None:
        manifest = searcher.manifest
        info = SnapshotInfo(
            snapshot_id=manifest.snapshot_id,
            created_at=manifest.created_at,
            age_seconds=round(snapshot_age_seconds(manifest.created_at), 3),
            loaded_at=_iso(snapshots.loaded_at or time.time()),
            documents=manifest.counts.documents,
            chunks=manifest.counts.chunks,
            model=manifest.model.name,
            dimension=manifest.model.dimension,
        )
    refusal = snapshots.last_refusal
    collections: Collections | None = state.get("collections")
    detail = not_ready(
        collections.not_ready if collections is not None else snapshots.not_ready, state.get("work")
    )
    ok = detail is None
    body = ReadyResponse(
        status="ready" if ok else "unavailable",
        snapshot=info,
        detail=detail,
        last_refusal=RefusalInfo(refusal.snapshot, refusal.reason, refusal.at_iso) if refusal else None,
        loads=snapshots.loads,
        refusals=snapshots.refusals,
        collections=_states(collections, access) if collections is not None else [],
    )
    return Response(body, status_code=200 if ok else 503)


def _states(collections: Collections, access: Access) -> list[CollectionState]:
    states = []
    for name in access.visible(collections.names):
        holder = collections.holders[name]
        searcher, detail = holder.current, holder.not_ready()
        counts = searcher.manifest.counts if searcher is not None else None
        states.append(
            CollectionState(
                name=name,
                status="unavailable" if detail else "ready",
                snapshot_id=searcher.snapshot_id if searcher is not None else None,
                documents=counts.documents if counts is not None else 0,
                chunks=counts.chunks if counts is not None else 0,
                detail=detail,
            )
        )
    return states
