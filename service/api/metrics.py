"""``GET /metrics``: Prometheus metrics (text exposition format)."""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec

from service.api.schemas import problem_responses
from service.runtime.metrics import CONTENT_TYPE, Metrics


@get(
    "/metrics",
    summary="Prometheus metrics",
    operation_id="metrics",
    tags=["operations"],
    media_type="text/plain",
    responses={
        200: ResponseSpec(str, description="Prometheus text format.", media_type="text/plain"),
        **problem_responses(401),
    },
)
async def metrics(state: State) -> Response[bytes]:
    """Requests and latency per route and status, embedding and search time, the served snapshot (id,
    age, documents, chunks), snapshot loads and refusals. Needs an API key only when
    ``observability.metrics_require_key`` is on."""
    registry: Metrics = state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE)
