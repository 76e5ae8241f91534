"""OpenAI's file, vector store and vector store file objects, and the bodies that create them, field
for field as the ``openai`` client reads and sends them. Unknown request fields are ignored, as newer
clients may send more; fields we cannot honour are refused by the endpoints with a clear message."""

from __future__ import annotations

from typing import Annotated, Generic, Literal, Protocol, TypeVar

import msgspec
from msgspec import Meta

T = TypeVar("T")

AttributeValue = Annotated[str, Meta(max_length=512)] | int | float | bool
Attributes = Annotated[
    dict[Annotated[str, Meta(min_length=1, max_length=64)], AttributeValue],
    Meta(max_length=16, description="Up to 16 pairs: filterable metadata of the document."),
]
FileId = Annotated[str, Meta(min_length=1, max_length=1024)]


class FileObject(msgspec.Struct, frozen=True):
    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: Literal["uploaded", "processed", "error"] = "processed"
    status_details: str | None = None
    expires_at: int | None = None
    object: Literal["file"] = "file"


class Deleted(msgspec.Struct, frozen=True):
    """A deletion's answer (``object``: ``file``, ``vector_store.deleted``, ``vector_store.file.deleted``)."""

    id: str
    object: str
    deleted: bool = True


class ListPage(msgspec.Struct, Generic[T], frozen=True):
    """OpenAI's cursor page: the next one is asked for with ``after=<last_id>``."""

    data: list[T]
    first_id: str | None
    last_id: str | None
    has_more: bool
    object: Literal["list"] = "list"


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


Listed = TypeVar("Listed", bound=_Identified)


def list_page(shown: list[Listed], has_more: bool) -> ListPage[Listed]:
    """The page of ``shown`` objects, its cursors their first and last ids."""
    return ListPage(
        data=shown,
        first_id=shown[0].id if shown else None,
        last_id=shown[-1].id if shown else None,
        has_more=has_more,
    )


class FileCounts(msgspec.Struct, frozen=True):
    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    total: int = 0


class VectorStoreObject(msgspec.Struct, frozen=True):
    id: Annotated[str, Meta(description="The collection's name.")]
    name: str
    created_at: int
    file_counts: FileCounts
    usage_bytes: int
    status: Literal["expired", "in_progress", "completed"]
    last_active_at: int | None = None
    metadata: dict[str, str] | None = None
    description: str | None = None
    expires_after: None = None
    expires_at: None = None
    object: Literal["vector_store"] = "vector_store"


class AutoChunking(msgspec.Struct, frozen=True, tag_field="type", tag="auto"):
    pass


class StaticSizes(msgspec.Struct, frozen=True):
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int


class StaticChunking(msgspec.Struct, frozen=True, tag_field="type", tag="static"):
    static: StaticSizes


class CreateVectorStore(msgspec.Struct, frozen=True):
    name: (
        Annotated[
            str,
            Meta(
                max_length=256,
                description="Made into the collection's name (and id): lower case, `-` for others.",
            ),
        ]
        | None
    ) = None
    description: Annotated[str, Meta(max_length=1000)] = ""
    file_ids: Annotated[list[FileId], Meta(max_length=100)] = msgspec.field(default_factory=list)
    metadata: dict[str, str] | None = None
    expires_after: dict[str, object] | None = None
    chunking_strategy: AutoChunking | StaticChunking | None = None


class CreateVectorStoreFile(msgspec.Struct, frozen=True):
    file_id: FileId
    attributes: Attributes | None = None
    chunking_strategy: AutoChunking | StaticChunking | None = None


class LastError(msgspec.Struct, frozen=True):
    code: Literal["server_error", "unsupported_file", "invalid_file"]
    message: str


class VectorStoreFileObject(msgspec.Struct, frozen=True):
    id: Annotated[
        str, Meta(description="The file's id (`file-...`), or the document id of a document not uploaded.")
    ]
    vector_store_id: str
    created_at: int
    usage_bytes: int
    status: Literal["in_progress", "completed", "cancelled", "failed"]
    last_error: LastError | None
    chunking_strategy: StaticChunking
    attributes: dict[str, str | int | float | bool] | None = None
    object: Literal["vector_store.file"] = "vector_store.file"


class BatchFile(msgspec.Struct, frozen=True):
    file_id: FileId
    attributes: Attributes | None = None
    chunking_strategy: AutoChunking | StaticChunking | None = None


class CreateFileBatch(msgspec.Struct, frozen=True):
    file_ids: Annotated[list[FileId], Meta(max_length=500)] = msgspec.field(default_factory=list)
    files: Annotated[list[BatchFile], Meta(max_length=500)] = msgspec.field(default_factory=list)
    attributes: Attributes | None = None
    chunking_strategy: AutoChunking | StaticChunking | None = None
