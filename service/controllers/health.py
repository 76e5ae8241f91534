"""``GET /health``: is the process up, and what is it serving."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency

from service.resources import Resources
from service.schemas import HealthResponse


@get("/health", summary="Health check", operation_id="health", tags=["operations"])
async def health(resources: NamedDependency[Resources]) -> HealthResponse:
    """The service is up and serving the reported snapshot."""
    counts = resources.snapshot.manifest.counts
    return HealthResponse(
        status="ok",
        snapshot_id=resources.snapshot.snapshot_id,
        documents=counts.documents,
        chunks=counts.chunks,
        model=resources.snapshot.manifest.model.name,
    )
