"""``GET /v1/collections`` (the collections this key may see), ``GET /v1/collections/{name}``,
``GET /v1/collections/{name}/documents/{doc_id}`` and its PDF pages as images
(``.../documents/{doc_id}/pages/{page}``, :mod:`service.api.pages`). A collection the key may not
search answers 404 exactly as one that does not exist: names do not leak."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from service.admission.auth import API_SECURITY, Access
from service.api.documents import document_or_page
from service.api.index import describe
from service.api.pages import ImageFormat, PageNumber, PageWidth, page_image
from service.api.schemas import (
    CollectionInfo,
    CollectionList,
    DocumentResponse,
    IndexResponse,
    problem_responses,
)
from service.errors import NotFoundError
from service.runtime.collections import Collections
from service.runtime.hot_swap import SnapshotHolder
from service.runtime.page_images import DEFAULT_WIDTH, PageImages
from service.settings import AppSettings

PERMISSIONS = ("search", "write")


def _info(name: str, collections: Collections, access: Access) -> CollectionInfo:
    holder = collections.holders[name]
    searcher = holder.current
    manifest = searcher.manifest if searcher is not None else None
    return CollectionInfo(
        name=name,
        description=collections.descriptions[name],
        default=name == collections.default,
        status="unavailable" if holder.not_ready() else "ready",
        documents=manifest.counts.documents if manifest is not None else 0,
        chunks=manifest.counts.chunks if manifest is not None else 0,
        formats=dict(manifest.counts.formats) if manifest is not None else {},
        snapshot_id=manifest.snapshot_id if manifest is not None else None,
        updated=manifest.created_at if manifest is not None else None,
        permissions=[permission for permission in PERMISSIONS if access.may(name, permission)],
    )


def holder_of(name: str, collections: Collections, access: Access) -> SnapshotHolder:
    """Collection ``name``'s holder; 404 when the key may not search it or it does not exist."""
    holder = collections.get(name)
    if holder is None or not access.may(name):
        raise NotFoundError(f"no collection {name[:80]!r}")
    return holder


class CollectionsController(Controller):
    path = "/v1/collections"

    @get(
        "/",
        summary="List collections",
        operation_id="listCollections",
        tags=["collections"],
        security=API_SECURITY,
        responses=problem_responses(401, 429),
    )
    async def list_collections(
        self, collections: NamedDependency[Collections], access: NamedDependency[Access]
    ) -> CollectionList:
        """The collections this key may search, the default first: description, counts, snapshot and
        this key's permissions on each."""
        visible = access.visible(collections.names)
        return CollectionList(collections=[_info(name, collections, access) for name in visible])

    @get(
        "/{name:str}",
        summary="Describe a collection",
        operation_id="getCollection",
        tags=["collections"],
        security=API_SECURITY,
        responses=problem_responses(401, 404, 429),
    )
    async def get_collection(
        self, name: FromPath[str], collections: NamedDependency[Collections], access: NamedDependency[Access]
    ) -> CollectionInfo:
        """One collection, as listed by ``GET /v1/collections`` (404 if this key may not search it)."""
        holder_of(name, collections, access)
        return _info(name, collections, access)

    @get(
        "/{name:str}/index",
        summary="Describe a collection's index",
        operation_id="describeCollectionIndex",
        tags=["collections"],
        security=API_SECURITY,
        responses=problem_responses(401, 404, 429, 503),
    )
    async def describe_collection_index(
        self,
        name: FromPath[str],
        collections: NamedDependency[Collections],
        access: NamedDependency[Access],
        settings: NamedDependency[AppSettings],
    ) -> IndexResponse:
        """As ``GET /v1/index`` for the default collection: the collection's documents per format,
        the fields its ``filters`` may name, and the search defaults."""
        with holder_of(name, collections, access).lease() as searcher:
            return describe(searcher, settings, name, access.visible(collections.names))

    @get(
        "/{name:str}/documents/{doc_id:path}",
        summary="Fetch a document of a collection",
        operation_id="getCollectionDocument",
        tags=["documents"],
        security=API_SECURITY,
        responses=problem_responses(400, 401, 404, 429, 503),
    )
    async def get_document(
        self,
        request: Request,  # type: ignore[type-arg]
        name: FromPath[str],
        doc_id: FromPath[str],
        collections: NamedDependency[Collections],
        access: NamedDependency[Access],
        settings: NamedDependency[AppSettings],
        page_images: NamedDependency[PageImages],
    ) -> DocumentResponse:
        """The document's text and metadata, as ``GET /v1/documents/{doc_id}`` gives them for the
        default collection: the target of the citations of this collection's passages."""
        with holder_of(name, collections, access).lease() as searcher:
            seeds_dir = settings.collection(name).seeds_dir
            found = await document_or_page(request, doc_id, searcher, page_images, seeds_dir)
            return found  # type: ignore[return-value]

    @get(
        "/{name:str}/documents/{doc_id:path}/pages/{page:int}",
        summary="Render a PDF page of a collection as an image",
        operation_id="getCollectionPageImage",
        tags=["documents"],
        security=API_SECURITY,
        media_type="image/png",
        responses=problem_responses(401, 404, 422, 429, 503),
    )
    async def get_page(
        self,
        request: Request,  # type: ignore[type-arg]
        name: FromPath[str],
        doc_id: FromPath[str],
        page: PageNumber,
        collections: NamedDependency[Collections],
        access: NamedDependency[Access],
        settings: NamedDependency[AppSettings],
        page_images: NamedDependency[PageImages],
        width: PageWidth = DEFAULT_WIDTH,
        format: ImageFormat = "png",
    ) -> Response[bytes]:
        """As ``GET /v1/documents/{doc_id}/pages/{page}`` for the default collection: page ``page`` of
        the PDF ``doc_id`` of this collection, rendered ``width`` pixels wide, to draw a citation's
        ``boxes`` over (404 if this key may not search the collection)."""
        del width, format  # read (and checked) from the query by page_image, as on the document route
        with holder_of(name, collections, access).lease() as searcher:
            seeds_dir = settings.collection(name).seeds_dir
            return await page_image(request, doc_id.lstrip("/"), page, searcher, page_images, seeds_dir)
