"""``POST /v1/admin/reload``: swap in the snapshot the indexer published, now (always needs an admin key)."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import Parameter

from service.admission.auth import ADMIN, ADMIN_SECURITY
from service.admission.guards import known_query
from service.api.schemas import ReloadResponse, problem_responses
from service.errors import ConflictError, NotFoundError, UnavailableError
from service.runtime.collections import Collections
from service.runtime.hot_swap import Outcome, SnapshotHolder


class AdminController(Controller):
    path = "/v1/admin"
    opt = ADMIN
    tags = ["operations"]  # noqa: RUF012 (Litestar's own attribute types)
    security = ADMIN_SECURITY

    @post(
        "/reload",
        summary="Reload the index snapshot",
        operation_id="reloadSnapshot",
        status_code=200,
        guards=[known_query("collection")],
        responses=problem_responses(401, 403, 404, 409, 422, 429, 503),
    )
    async def reload(
        self,
        snapshots: NamedDependency[SnapshotHolder],
        collections: NamedDependency[Collections],
        collection: Annotated[str | None, Parameter(max_length=64)] = None,
    ) -> ReloadResponse:
        """Serve the snapshot ``index/current`` points to, if it is newer than the one being served.
        The new snapshot is verified first (every file's sha256, the model); if it is refused the
        answer is 409 and the current snapshot keeps serving. Requests in flight finish on the
        snapshot they started with. ``?collection=NAME``: that collection's (default: the default
        collection's)."""
        if collection is not None:
            found = collections.get(collection)
            if found is None:
                raise NotFoundError(f"no collection {collection!r}")
            snapshots = found
        result = await anyio.to_thread.run_sync(snapshots.reload)
        if result.outcome is Outcome.REFUSED:
            served = f"still serving {result.snapshot_id}" if result.snapshot_id else "no snapshot is served"
            if result.refusal is not None:
                raise ConflictError(
                    f"snapshot {result.refusal.snapshot} was refused: {result.refusal.reason}; {served}"
                )
            raise UnavailableError(snapshots.last_error or "no snapshot is published")
        assert result.snapshot_id is not None
        return ReloadResponse(
            status="loaded" if result.outcome is Outcome.LOADED else "unchanged",
            snapshot_id=result.snapshot_id,
            previous_snapshot_id=result.previous_snapshot_id,
        )
