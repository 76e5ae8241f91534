"""OpenAI's vector stores and their files: ``/v1/vector_stores`` (create: admin; list; get; delete:
admin), ``/v1/vector_stores/{id}/files`` (attach an uploaded file with ``attributes``; list; get
with ``status`` and ``last_error``; delete) and ``/v1/vector_stores/{id}/file_batches`` (several at
once, polled as one). A vector store is a collection (its id is the
collection's name); its files are the collection's documents, written through the service's writer.
Search is ``POST /v1/vector_stores/{id}/search`` (:mod:`service.integrations.openai.api`)."""

from __future__ import annotations

from typing import Annotated, TypeVar

import anyio.to_thread
from litestar import Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from service.admission.auth import ADMIN, ADMIN_SECURITY, Access
from service.admission.guards import require_json
from service.api.bodies import StrictJSON
from service.errors import InvalidInputError
from service.integrations.openai import batches, vector_files
from service.integrations.openai.api import openai_responses
from service.integrations.openai.batches import BatchStore, FileBatchObject
from service.integrations.openai.file_store import FileStore
from service.integrations.openai.files_api import FilesAreaController, find_file
from service.integrations.openai.identity import collection_name, file_id_of
from service.integrations.openai.objects import (
    CreateFileBatch,
    CreateVectorStore,
    CreateVectorStoreFile,
    Deleted,
    ListPage,
    VectorStoreFileObject,
    VectorStoreObject,
    list_page,
)
from service.integrations.openai.paging import Order, window
from service.integrations.openai.vector_files import OpenAIStatus
from service.integrations.openai.vector_stores import store_object, visible, writable
from service.runtime.writes import Writes
from service.settings import AppSettings

POLL_AFTER_MS = "200"
"""``openai-poll-after-ms``: how soon the ``openai`` client's ``*_and_poll`` helpers ask again."""
Polled = TypeVar("Polled")
Limit = Annotated[int, QueryParameter(ge=1, le=100)]
Cursor = Annotated[str | None, QueryParameter(max_length=1024)]


def _refuse_unsupported(body: CreateVectorStore) -> None:
    if body.expires_after is not None:
        raise InvalidInputError(
            "vector stores do not expire here: leave out expires_after and delete them when done",
            errors=[{"key": "expires_after", "message": "not supported", "source": "body"}],
        )
    if body.metadata:
        raise InvalidInputError(
            "vector store metadata is not kept: give a description instead",
            errors=[{"key": "metadata", "message": "not supported", "source": "body"}],
        )


def _polled(body: Polled) -> Response[Polled]:
    """An object the ``openai`` client polls until it is done, with how soon to ask again."""
    return Response(body, headers={"openai-poll-after-ms": POLL_AFTER_MS})


class VectorStoreAdminController(FilesAreaController):
    path = "/v1/vector_stores"

    @post(
        "/",
        opt=ADMIN,
        guards=[require_json],
        dto=StrictJSON[CreateVectorStore],
        return_dto=None,
        status_code=200,
        summary="Create a vector store (a collection; OpenAI Vector Stores)",
        operation_id="createVectorStore",
        security=ADMIN_SECURITY,
        responses=openai_responses(400, 401, 403, 404, 409, 415, 429),
    )
    async def create_store(
        self,
        data: JSONBody[CreateVectorStore],
        settings: NamedDependency[AppSettings],
        writes: NamedDependency[Writes],
        files: NamedDependency[FileStore],
        access: NamedDependency[Access],
    ) -> VectorStoreObject:
        """OpenAI's ``vector_stores.create``: a new collection (admin keys only, as
        ``POST /v1/collections``) named after ``name`` (lower case, other characters as ``-``; a random
        ``vs_...`` name without one), which is also its id; 409 if a collection has that name. The
        uploaded files of ``file_ids`` are attached to it (all must exist and be of a type a reader
        reads, else 404 or 400 and nothing is made). ``chunking_strategy`` must be ``auto`` (the
        service's); ``expires_after`` and ``metadata`` are refused (400): stores do not expire, and
        keep a ``description``."""
        _refuse_unsupported(data)
        vector_files.check_chunking(data.chunking_strategy, settings)
        records = [find_file(files, file_id, access) for file_id in data.file_ids]
        for record in records:  # all checked before anything is made
            vector_files.check_searchable(record)
        name = collection_name(data.name)
        await writes.create_collection(name, data.description)
        for record in records:
            await vector_files.attach(writes, files, name, record, None)
        return store_object(writes, name)

    @get(
        "/",
        summary="List vector stores (OpenAI Vector Stores)",
        operation_id="listVectorStores",
        responses=openai_responses(400, 401, 429),
    )
    async def list_stores(
        self,
        writes: NamedDependency[Writes],
        access: NamedDependency[Access],
        limit: Limit = 20,
        order: FromQuery[Order] = "asc",
        after: Cursor = None,
        before: Cursor = None,
    ) -> ListPage[VectorStoreObject]:
        """OpenAI's ``vector_stores.list``: the collections this key may search, by id (``order``
        ``asc`` or ``desc``), ``limit`` per page after (or before) the store ``after`` (``before``)."""
        names = sorted(access.visible(writes.collections.names))
        chosen, more = window(names, str, order=order, after=after, before=before, limit=limit)
        shown = [store_object(writes, name) for name in chosen]
        return list_page(shown, more)

    @get(
        "/{vector_store_id:str}",
        summary="Describe a vector store (OpenAI Vector Stores)",
        operation_id="getVectorStore",
        responses=openai_responses(401, 404, 429),
    )
    async def get_store(
        self,
        vector_store_id: FromPath[str],
        settings: NamedDependency[AppSettings],
        writes: NamedDependency[Writes],
        access: NamedDependency[Access],
    ) -> VectorStoreObject:
        """OpenAI's ``vector_stores.retrieve``: the collection's files counted by status, their bytes."""
        return store_object(writes, visible(vector_store_id, settings, writes, access))

    @delete(
        "/{vector_store_id:str}",
        opt=ADMIN,
        status_code=200,
        summary="Delete a vector store (OpenAI Vector Stores)",
        operation_id="deleteVectorStore",
        security=ADMIN_SECURITY,
        responses=openai_responses(401, 403, 404, 409, 429),
    )
    async def delete_store(
        self,
        vector_store_id: FromPath[str],
        settings: NamedDependency[AppSettings],
        writes: NamedDependency[Writes],
        access: NamedDependency[Access],
    ) -> Deleted:
        """OpenAI's ``vector_stores.delete``: the collection, its documents and its index are removed
        (admin keys only); the uploaded files stay in ``/v1/files``. 409 for a collection of
        ``config.yaml``."""
        name = visible(vector_store_id, settings, writes, access)
        await writes.delete_collection(name)
        return Deleted(id=vector_store_id, object="vector_store.deleted")


class VectorStoreFilesController(FilesAreaController):
    path = "/v1/vector_stores/{vector_store_id:str}/files"

    @post(
        "/",
        guards=[require_json],
        dto=StrictJSON[CreateVectorStoreFile],
        return_dto=None,
        status_code=200,
        summary="Add a file to a vector store (OpenAI Vector Stores)",
        operation_id="createVectorStoreFile",
        responses=openai_responses(400, 401, 403, 404, 409, 413, 415, 429),
    )
    async def attach_file(
        self,
        vector_store_id: FromPath[str],
        data: JSONBody[CreateVectorStoreFile],
        settings: NamedDependency[AppSettings],
        writes: NamedDependency[Writes],
        files: NamedDependency[FileStore],
        access: NamedDependency[Access],
    ) -> Response[VectorStoreFileObject]:
        """OpenAI's ``vector_stores.files.create``: the uploaded file ``file_id`` becomes the document
        ``<file_id>/<filename>`` of the collection, its ``attributes`` the document's metadata
        (filterable in search, shown in results). Written durably before the answer, then indexed:
        ``status`` is ``in_progress`` until it is searchable (``completed``) or could not be
        (``failed``, with ``last_error``). A file type no reader reads is refused (400). Needs the
        key's ``write`` permission on the collection (403) and a file of this key (404)."""
        name = writable(vector_store_id, settings, writes, access)
        vector_files.check_chunking(data.chunking_strategy, settings)
        record = find_file(files, data.file_id, access)
        attached = await vector_files.attach(writes, files, name, record, data.attributes)
        return _polled(attached)

    @get(
        "/",
        summary="List a vector store's files (OpenAI Vector Stores)",
        operation_id="listVectorStoreFiles",
        responses=openai_responses(400, 401, 404, 429),
    )
    async def list_files(
        self,
        vector_store_id: FromPath[str],
        settings: NamedDependency[AppSettings],
        writes: NamedDependency[Writes],
        access: NamedDependency[Access],
        limit: Limit = 20,
        order: FromQuery[Order] = "asc",
        after: Cursor = None,
        before: Cursor = None,
        status: Annotated[OpenAIStatus | None, QueryParameter(name="filter")] = None,
    ) -> ListPage[VectorStoreFileObject]:
        """OpenAI's ``vector_stores.files.list``: the collection's documents by id (an uploaded file
        shows under its ``file-...`` id, any other document under its document id), only those in
        status ``filter`` when given."""
        name = visible(vector_store_id, settings, writes, access)
        return await vector_files.page(
            writes, name, status=status, order=order, after=after, before=before, limit=limit
        )

    @get(
        "/{file_id:path}",
        summary="Describe a vector store file (OpenAI Vector Stores)",
        operation_id="getVectorStoreFile",
        responses=openai_responses(401, 404, 429),
    )
    async def get_file(
        self,
        vector_store_id: FromPath[str],
        file_id: FromPath[str],
        settings: NamedDependency[AppSettings],
        writes: NamedDependency[Writes],
        files: NamedDependency[FileStore],
        access: NamedDependency[Access],
    ) -> Response[VectorStoreFileObject]:
        """OpenAI's ``vector_stores.files.retrieve`` (what ``*_and_poll`` polls): ``status``
        ``in_progress``, ``completed`` or ``failed`` with ``last_error`` (e.g. ``no text layer``)."""
        name = visible(vector_store_id, settings, writes, access)
        found = await vector_files.describe(writes, name, file_id.lstrip("/"), files)
        return _polled(found)

    @delete(
        "/{file_id:path}",
        status_code=200,
        summary="Remove a file from a vector store (OpenAI Vector Stores)",
        operation_id="deleteVectorStoreFile",
        responses=openai_responses(401, 403, 404, 429),
    )
    async def delete_file(
        self,
        vector_store_id: FromPath[str],
        file_id: FromPath[str],
        settings: NamedDependency[AppSettings],
        writes: NamedDependency[Writes],
        files: NamedDependency[FileStore],
        access: NamedDependency[Access],
    ) -> Deleted:
        """OpenAI's ``vector_stores.files.delete``: the document is deleted from the collection (gone
        from search once published, within seconds); the uploaded file stays in ``/v1/files``."""
        name = writable(vector_store_id, settings, writes, access)
        doc = vector_files.find(writes, name, file_id.lstrip("/"), files)
        await vector_files.detach(writes, name, doc)
        return Deleted(id=file_id_of(doc.doc_id), object="vector_store.file.deleted")


class VectorStoreFileBatchesController(FilesAreaController):
    path = "/v1/vector_stores/{vector_store_id:str}/file_batches"

    @post(
        "/",
        guards=[require_json],
        dto=StrictJSON[CreateFileBatch],
        return_dto=None,
        status_code=200,
        summary="Add several files to a vector store (OpenAI Vector Stores)",
        operation_id="createVectorStoreFileBatch",
        responses=openai_responses(400, 401, 403, 404, 409, 413, 415, 429),
    )
    async def create_batch(
        self,
        vector_store_id: FromPath[str],
        data: JSONBody[CreateFileBatch],
        settings: NamedDependency[AppSettings],
        writes: NamedDependency[Writes],
        files: NamedDependency[FileStore],
        access: NamedDependency[Access],
    ) -> Response[FileBatchObject]:
        """OpenAI's ``vector_stores.file_batches.create`` (what ``file_batches.upload_and_poll``
        calls): up to 500 uploaded files, as ``file_ids`` (sharing ``attributes``) or as ``files``
        (each with its own), attached as ``POST .../files`` attaches one. Every file is checked first
        (404 for a file of another key, 400 for a type no reader reads): then nothing is written."""
        name = writable(vector_store_id, settings, writes, access)
        store = BatchStore(settings.index_dir)
        batch = await batches.create(writes, files, store, name, data, access, settings)
        return _polled(batches.batch_object(writes, batch))

    @get(
        "/{batch_id:str}",
        summary="Describe a file batch (OpenAI Vector Stores)",
        operation_id="getVectorStoreFileBatch",
        responses=openai_responses(401, 404, 429),
    )
    async def get_batch(
        self,
        vector_store_id: FromPath[str],
        batch_id: FromPath[str],
        settings: NamedDependency[AppSettings],
        writes: NamedDependency[Writes],
        access: NamedDependency[Access],
    ) -> Response[FileBatchObject]:
        """OpenAI's ``vector_stores.file_batches.retrieve`` (what ``*_and_poll`` polls): its files
        counted by status now; ``in_progress`` until none is, then ``completed`` (failures counted in
        ``file_counts.failed``; a file deleted since in ``cancelled``)."""
        name = visible(vector_store_id, settings, writes, access)
        batch = await anyio.to_thread.run_sync(BatchStore(settings.index_dir).get, name, batch_id)
        return _polled(batches.batch_object(writes, batch))

    @get(
        "/{batch_id:str}/files",
        summary="List a file batch's files (OpenAI Vector Stores)",
        operation_id="listVectorStoreFileBatchFiles",
        responses=openai_responses(400, 401, 404, 429),
    )
    async def list_batch_files(
        self,
        vector_store_id: FromPath[str],
        batch_id: FromPath[str],
        settings: NamedDependency[AppSettings],
        writes: NamedDependency[Writes],
        access: NamedDependency[Access],
        limit: Limit = 20,
        order: FromQuery[Order] = "asc",
        after: Cursor = None,
        before: Cursor = None,
        status: Annotated[OpenAIStatus | None, QueryParameter(name="filter")] = None,
    ) -> ListPage[VectorStoreFileObject]:
        """OpenAI's ``vector_stores.file_batches.list_files``: the batch's files still in the store,
        by id, only those in status ``filter`` when given."""
        name = visible(vector_store_id, settings, writes, access)
        batch = await anyio.to_thread.run_sync(BatchStore(settings.index_dir).get, name, batch_id)
        return await batches.files_page(
            writes, batch, status=status, order=order, after=after, before=before, limit=limit
        )
