"""``GET /v1/index``: what the served index holds and what a search may ask of it (formats, the fields
filters may name with their types, the search defaults), so a client can offer the right controls.

It describes the default collection (what a search naming no collection reads) to a key that may
search it, as it always has; to a key that may not, the first collection the key may search (never
one out of its reach); ``collection`` says which, ``collections`` lists every one the key may search
(each described at ``GET /v1/collections/{name}/index``). 404 for a key that may search none."""

from __future__ import annotations

from typing import Literal

from litestar import get
from litestar.di import NamedDependency

from indexer.search import Searcher
from service.admission.auth import API_SECURITY, Access
from service.api.schemas import (
    DEFAULT_TOP_K,
    FieldDescription,
    IndexResponse,
    SearchDefaults,
    problem_responses,
)
from service.errors import NotFoundError
from service.runtime.collections import Collections
from service.runtime.observability import annotate
from service.settings import AppSettings

Scope = Literal["document", "passage", "metadata"]


def _fields(searcher: Searcher) -> list[FieldDescription]:
    counts = searcher.manifest.fields
    described = []
    for key, spec in searcher.fields.items():
        info = counts.get(key)
        scope: Scope = "passage" if spec.chunk else ("metadata" if info is not None else "document")
        described.append(
            FieldDescription(
                key=key,
                type=spec.type,
                multiple=spec.multiple,
                scope=scope,
                documents=info.documents if info is not None else None,
            )
        )
    return described


@get(
    "/v1/index",
    summary="Describe the served index",
    operation_id="describeIndex",
    tags=["search"],
    security=API_SECURITY,
    responses=problem_responses(401, 404, 429, 503),
)
async def describe_index(
    collections: NamedDependency[Collections],
    access: NamedDependency[Access],
    settings: NamedDependency[AppSettings],
) -> IndexResponse:
    """The served snapshot's documents per format, the fields ``filters`` may name (built-in document
    and passage fields, and the metadata keys the documents have, each with its type and how many
    documents have it), and the defaults of ``POST /v1/search``: of the default collection (what a
    search naming no collection reads), or for a key that may not search it, of the first collection
    it may search; ``collection`` names the one described, ``collections`` every one the key may
    search (another collection's index is at ``GET /v1/collections/{name}/index``)."""
    visible = access.visible(collections.names)
    if not visible:
        raise NotFoundError(f"no collection {settings.default_collection!r}")
    with collections.holders[visible[0]].lease() as searcher:
        annotate(snapshot_id=searcher.snapshot_id)
        return describe(searcher, settings, visible[0], visible)


def describe(
    searcher: Searcher, settings: AppSettings, collection: str, collections: tuple[str, ...]
) -> IndexResponse:
    """What :func:`describe_index` answers, for ``searcher``'s snapshot (of ``collection``), to a key
    that may search ``collections``."""
    manifest = searcher.manifest
    return IndexResponse(
        collection=collection,
        default=collection == settings.default_collection,
        collections=list(collections),
        snapshot_id=manifest.snapshot_id,
        created_at=manifest.created_at,
        documents=manifest.counts.documents,
        chunks=manifest.counts.chunks,
        formats=dict(sorted(manifest.counts.formats.items())),
        fields=_fields(searcher),
        search=SearchDefaults(
            mode=settings.retrieval.mode,
            top_k=DEFAULT_TOP_K,
            max_top_k=settings.service.max_top_k,
            min_score=settings.retrieval.min_score,
            max_query_chars=settings.service.max_query_chars,
        ),
    )
