"""OpenAI's Files API: ``POST /v1/files`` (multipart ``file`` and ``purpose``), ``GET /v1/files``,
``GET``/``DELETE /v1/files/{file_id}`` and ``GET /v1/files/{file_id}/content``.

A file is kept (fsynced) in the service's files area until it is deleted, for attaching to vector
stores. Uploading needs a key that may write to some collection (or an admin key); each file belongs
to the key that uploaded it: another key gets 404, as for a file that does not exist (admin keys see
every file). Deleting a file also deletes it from the vector stores it was attached to, as OpenAI's."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import anyio.to_thread
from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream

from service.admission.auth import API_SECURITY, Access
from service.errors import ForbiddenError, NotFoundError, UnavailableError, exception_handlers
from service.integrations.openai import vector_files
from service.integrations.openai.api import openai_error, openai_responses
from service.integrations.openai.file_store import FileLimits, FileStore, FileTooLargeError, StoredFile
from service.integrations.openai.identity import FILE_ID
from service.integrations.openai.objects import Deleted, FileObject, ListPage, list_page
from service.integrations.openai.uploads import MULTIPART_SLACK, PURPOSES, receive
from service.runtime.writes import Writes
from service.settings import AppSettings

Order = Literal["asc", "desc"]


@dataclass
class FileUploadOperation(Operation):
    """``POST /v1/files``'s body, read as it streams in (no Litestar ``data`` parameter declares it)."""

    def __post_init__(self) -> None:
        form = Schema(
            type=OpenAPIType.OBJECT,
            properties={
                "file": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, description="The file."),
                "purpose": Schema(type=OpenAPIType.STRING, enum=list(PURPOSES)),
            },
            required=["file", "purpose"],
        )
        self.request_body = RequestBody(
            content={"multipart/form-data": OpenAPIMediaType(schema=form)},
            description="multipart/form-data with the file (`file`, its filename kept) and its `purpose`.",
            required=True,
        )


def provide_files(state: State) -> FileStore:
    files: FileStore | None = state.get("files")
    if files is None:
        raise UnavailableError("the service is starting")
    return files


def files_lifespan(settings: AppSettings) -> Any:
    """Open the files area when the app starts (``app.state.files``)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        limits = FileLimits(settings.writes.max_upload_bytes, settings.integrations.max_files_per_key)
        app.state.files = await anyio.to_thread.run_sync(FileStore.open, settings.index_dir, limits)
        try:
            yield
        finally:
            app.state.files = None

    return lifespan


def owner_of(access: Access) -> str | None:
    """Whose files a caller sees: its key's (``None``: every file, for an admin key)."""
    return None if access.admin else access.name


def may_upload(access: Access) -> bool:
    return access.admin or any("write" in permissions for permissions in access.scopes.values())


def file_object(record: StoredFile) -> FileObject:
    return FileObject(
        id=record.id,
        bytes=record.bytes,
        created_at=record.created_at,
        filename=record.filename,
        purpose=record.purpose,
    )


def find_file(files: FileStore, file_id: str, access: Access) -> StoredFile:
    """File ``file_id`` as ``access`` may see it; 404 otherwise (another key's file too)."""
    record = files.get(file_id, owner_of(access)) if FILE_ID.match(file_id) else None
    if record is None:
        raise NotFoundError(f"No such File object: {file_id[:80]!r}")
    return record


def _page(records: list[StoredFile], after: str | None, limit: int) -> ListPage[FileObject]:
    if after is not None:
        ids = [r.id for r in records]
        records = records[ids.index(after) + 1 :] if after in ids else []
    shown = [file_object(r) for r in records[:limit]]
    return list_page(shown, len(records) > limit)


class FilesAreaController(Controller):
    """A controller of OpenAI's files and vector stores: OpenAI's error bodies, the files area."""

    exception_handlers = exception_handlers(openai_error)
    dependencies = {"files": Provide(provide_files, sync_to_thread=False)}  # noqa: RUF012
    tags = ["chatbots"]  # noqa: RUF012


class FilesController(FilesAreaController):
    path = "/v1/files"
    security = API_SECURITY

    @post(
        "/",
        summary="Upload a file (OpenAI Files)",
        operation_id="createFile",
        status_code=200,
        request_max_body_size=None,  # the file part is capped while it streams in (writes.max_upload_mb)
        operation_class=FileUploadOperation,
        responses=openai_responses(400, 401, 403, 409, 413, 415, 429),
    )
    async def create_file(
        self,
        request: Request[Any, Any, Any],
        files: NamedDependency[FileStore],
        access: NamedDependency[Access],
    ) -> FileObject:
        """OpenAI's ``files.create``: a ``multipart/form-data`` body with ``file`` and ``purpose``
        (``assistants`` or ``user_data``). The file is kept on disk (fsynced before the answer) until
        deleted, for ``POST /v1/vector_stores/{id}/files``; it is not searchable by itself. 413 above
        ``writes.max_upload_mb``; 409 when the key already keeps ``integrations.max_files_per_key``
        files. Needs a key that may write to some collection (403 otherwise)."""
        if not may_upload(access):
            raise ForbiddenError("this API key may not write to any collection, so it may not upload files")
        limit = files.limits.max_bytes + MULTIPART_SLACK
        if (request.content_length or 0) > limit:
            raise FileTooLargeError(f"the file is larger than the limit of {files.limits.max_bytes} bytes")
        record = await receive(
            _capped(request.stream(), limit, files.limits.max_bytes),
            request.headers.get("content-type"),
            files,
            access.name,
        )
        return file_object(record)

    @get(
        "/",
        summary="List files (OpenAI Files)",
        operation_id="listFiles",
        responses=openai_responses(400, 401, 429),
    )
    async def list_files(
        self,
        files: NamedDependency[FileStore],
        access: NamedDependency[Access],
        purpose: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 10_000,
        order: FromQuery[Order] = "desc",
        after: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> ListPage[FileObject]:
        """OpenAI's ``files.list``: this key's files (every file for an admin key), newest first
        (``order=asc``: oldest first), ``limit`` per page after the file ``after``."""
        records = await anyio.to_thread.run_sync(files.list, owner_of(access), purpose)
        if order == "desc":
            records.reverse()
        return _page(records, after, limit)

    @get(
        "/{file_id:str}",
        summary="Describe a file (OpenAI Files)",
        operation_id="getFile",
        responses=openai_responses(401, 404, 429),
    )
    async def get_file(
        self, file_id: FromPath[str], files: NamedDependency[FileStore], access: NamedDependency[Access]
    ) -> FileObject:
        """OpenAI's ``files.retrieve``: the file's size, name, purpose and time of upload."""
        return file_object(find_file(files, file_id, access))

    @get(
        "/{file_id:str}/content",
        summary="Download a file (OpenAI Files)",
        operation_id="getFileContent",
        media_type="application/octet-stream",
        responses=openai_responses(401, 404, 429),
    )
    async def get_file_content(
        self, file_id: FromPath[str], files: NamedDependency[FileStore], access: NamedDependency[Access]
    ) -> Stream:
        """OpenAI's ``files.content``: the file's bytes, as uploaded (streamed from disk)."""
        record = find_file(files, file_id, access)
        return Stream(
            vector_files.read_chunks(files, record),
            media_type=record.media_type or "application/octet-stream",
            headers={"Content-Length": str(record.bytes)},
        )

    @delete(
        "/{file_id:str}",
        summary="Delete a file (OpenAI Files)",
        operation_id="deleteFile",
        status_code=200,
        responses=openai_responses(401, 404, 429),
    )
    async def delete_file(
        self,
        file_id: FromPath[str],
        files: NamedDependency[FileStore],
        access: NamedDependency[Access],
        writes: NamedDependency[Writes],
    ) -> Deleted:
        """OpenAI's ``files.delete``: the file is removed, and from every vector store this key may
        write to that it was attached to (gone from search once that deletion is published)."""
        record = find_file(files, file_id, access)
        await vector_files.detach_everywhere(writes, record, access)
        await anyio.to_thread.run_sync(files.delete, record)
        return Deleted(id=record.id, object="file")


async def _capped(chunks: AsyncIterator[bytes], limit: int, file_limit: int) -> AsyncIterator[bytes]:
    """``chunks``, 413 once more than ``limit`` bytes came (a body of small fields cannot grow
    without bound either)."""
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise FileTooLargeError(f"the file is larger than the limit of {file_limit} bytes")
        yield chunk
