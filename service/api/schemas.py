"""Request and response bodies: validation and the OpenAPI schema come from these declarations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, Protocol, Self

import msgspec
from litestar.openapi import ResponseSpec
from msgspec import Meta

from indexer.config import SearchMode
from indexer.search import Hit
from indexer.snapshot import DocumentRecord
from service.api.links import document_url

MAX_TOP_K = 100
DEFAULT_TOP_K = 5
QUERY_HARD_LIMIT = 10_000
"""Absolute cap on query length; the configured ``service.max_query_chars`` (default 2000) is lower."""

Query = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=QUERY_HARD_LIMIT,
        pattern=r"\S",
        description="The question, in natural language; must contain a non-whitespace character.",
        examples=["What did the Secretary General call the war against Ukraine an example of?"],
    ),
]
TopK = Annotated[int, Meta(ge=1, le=MAX_TOP_K, description="How many passages to return.")]
Filters = Annotated[
    dict[str, Any],
    Meta(
        description="Only passages matching this filter (OpenAI's vector store filter grammar): a comparison "
        '{"type": "eq"|"ne"|"gt"|"gte"|"lt"|"lte"|"in"|"nin", "key", "value"} or a compound '
        '{"type": "and"|"or", "filters": [...]}. Keys: doc_id, source, title, date, format, section, '
        "page_start, page_end, chunk_id, char_start, char_end, line_start, line_end, and the metadata keys "
        "of the documents (front matter, PDF and HTML metadata; `python -m indexer inspect` lists them). "
        '`eq` on a list field (tags) means "contains". An unknown key or a value of the wrong type is a 422.',
        examples=[
            {
                "type": "and",
                "filters": [
                    {"type": "eq", "key": "format", "value": "pdf"},
                    {"type": "gte", "key": "date", "value": "2024-01-01"},
                ],
            }
        ],
    ),
]
Mode = Annotated[
    SearchMode,
    Meta(description="Retrieval mode; the configured default (retrieval.mode) when omitted."),
]
MinScore = Annotated[
    float,
    Meta(
        ge=0,
        le=1,
        description="Leave out passages whose score (calibrated relevance, 0 to 1) is below this.",
        examples=[0.2],
    ),
]
Score = Annotated[
    float,
    Meta(
        ge=0,
        le=1,
        description="Calibrated relevance, 0 to 1: about the chance that the passage's document answers "
        'the query, comparable across queries and collections (docs/retrieval-quality.md, "Scores").',
    ),
]


CollectionNames = Annotated[
    list[Annotated[str, Meta(max_length=64)]],
    Meta(
        min_length=1,
        max_length=100,
        description='The collections to search, one ranked list by calibrated score ("*": every collection '
        "this key may search); default: the default collection. One this key may not search is a 404, as "
        "one that does not exist.",
        examples=[["default", "papers"]],
    ),
]


class SearchRequest(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    query: Query
    top_k: TopK = DEFAULT_TOP_K
    mode: Mode | None = None
    max_per_doc: (
        Annotated[
            int,
            Meta(
                ge=1,
                le=MAX_TOP_K,
                description="At most this many passages of one document (1: one per document, ranked by its "
                "best passage), so overlapping chunks of one document do not crowd out others. "
                "No cap when omitted.",
            ),
        ]
        | None
    ) = None
    min_score: MinScore | None = None
    filters: Filters | None = None
    collections: CollectionNames | None = None


Unit = Annotated[float, Meta(ge=0, le=1)]


class PageBox(msgspec.Struct, frozen=True):
    """A rectangle of the passage on its page, in 0-1 coordinates of the rendered page (top-left
    origin): multiply by the page image's width and height to draw it."""

    page: Annotated[int, Meta(ge=1, description="The page (1-based) it is drawn on.")]
    x0: Annotated[Unit, Meta(description="Left edge, from the page's left (0) to its right (1).")]
    y0: Annotated[Unit, Meta(description="Top edge, from the page's top (0) to its bottom (1).")]
    x1: Annotated[Unit, Meta(description="Right edge.")]
    y1: Annotated[Unit, Meta(description="Bottom edge.")]


class Span(Protocol):
    """Where a passage sits in its document: an indexed chunk, or passages merged for a context."""

    @property
    def char_start(self) -> int: ...
    @property
    def char_end(self) -> int: ...
    @property
    def line_start(self) -> int: ...
    @property
    def line_end(self) -> int: ...
    @property
    def page_start(self) -> int | None: ...
    @property
    def page_end(self) -> int | None: ...
    @property
    def section(self) -> str | None: ...
    @property
    def boxes(self) -> Sequence[tuple[int, float, float, float, float]]: ...


class Citation(msgspec.Struct, frozen=True, kw_only=True):
    """Where a passage comes from, the same on every endpoint (the chatbot APIs flatten it into their
    attributes: :meth:`attributes`); built only by :meth:`of`."""

    doc_id: str
    source: str
    title: str
    date: str | None
    char_start: Annotated[int, Meta(description="Start offset (characters) in the document text.")]
    char_end: Annotated[int, Meta(description="End offset: text[char_start:char_end] is the passage.")]
    line_start: Annotated[int, Meta(description="1-based line of the first character.")]
    line_end: Annotated[int, Meta(description="1-based line of the last character.")]
    url: Annotated[
        str,
        Meta(
            description="Where to fetch the document to show or verify the citation, with the cited range "
            "as ?start=&end=."
        ),
    ]
    page_start: Annotated[
        int | None, Meta(description="First page (1-based) of the passage; null for formats without pages.")
    ] = None
    page_end: Annotated[int | None, Meta(description="Last page (1-based) of the passage.")] = None
    section: Annotated[
        str | None,
        Meta(
            description='The heading path the passage sits under ("Apollo program > Part 2"); null if none.'
        ),
    ] = None
    format: Annotated[str, Meta(description="The document's format: text, markdown, pdf, html, docx.")] = (
        "text"
    )
    page_label_start: Annotated[
        str | None,
        Meta(
            description='The first page\'s printed label ("iv", "A-3") when the PDF defines page labels; '
            "else null (use page_start)."
        ),
    ] = None
    page_label_end: Annotated[str | None, Meta(description="The last page's printed label, or null.")] = None
    boxes: Annotated[
        list[PageBox],
        Meta(
            description="PDF: where the passage is drawn, one rectangle per stretch of a line, in reading "
            "order (the path of `url` followed by /pages/{page} renders the page: "
            "GET /v1/documents/{doc_id}/pages/{page}, or "
            "/v1/collections/{name}/documents/{doc_id}/pages/{page} for other collections); empty for "
            "other formats and for indexes built before boxes were kept."
        ),
    ] = msgspec.field(default_factory=list)

    collection: Annotated[
        str | None, Meta(description="The collection of the document (null: the default collection).")
    ] = None

    @classmethod
    def of(
        cls,
        document: DocumentRecord,
        span: Span,
        *,
        base: str = "",
        collection: str = "",
        default: str | None = None,
        **extra: Any,
    ) -> Self:
        """The citation of ``span`` in ``document`` of ``collection``, with its pages' printed labels and
        its rectangles on the pages (PDF); its ``url`` starts with ``base`` (empty: relative) and is
        ``/v1/documents/...`` for the ``default`` collection (or no collection named),
        ``/v1/collections/<name>/documents/...`` for the others. ``extra``: the fields a subclass adds."""
        path_collection = collection if collection and collection != default else None
        return cls(
            doc_id=document.doc_id,
            source=document.source,
            title=document.title,
            date=document.date,
            char_start=span.char_start,
            char_end=span.char_end,
            line_start=span.line_start,
            line_end=span.line_end,
            url=document_url(
                document.doc_id,
                base=base,
                start=span.char_start,
                end=span.char_end,
                collection=path_collection,
            ),
            page_start=span.page_start,
            page_end=span.page_end,
            section=span.section,
            format=document.format,
            page_label_start=document.page_label(span.page_start),
            page_label_end=document.page_label(span.page_end),
            boxes=[PageBox(*box) for box in span.boxes],
            collection=collection or None,
            **extra,
        )

    @classmethod
    def from_hit(cls, hit: Hit, *, base: str = "", default: str | None = None) -> Self:
        """The citation of a search hit: an indexed chunk of ``hit.collection``."""
        return cls.of(hit.document, hit.chunk, base=base, collection=hit.collection, default=default)

    def attributes(self, chunk_id: str) -> dict[str, str | int]:
        """The citation as flat attributes (OpenAI's ``attributes``, Dify's ``metadata``), with the
        passage's ``chunk_id``; fields without a value (no date, no pages) are left out, and so are
        the PDF rectangles (``boxes``: not a flat value)."""
        found: dict[str, str | int] = {"chunk_id": chunk_id}
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if value is not None and value != "" and isinstance(value, str | int):
                found[name] = value
        return found


class ScoreParts(msgspec.Struct, frozen=True):
    """The raw scores behind ``score``, to debug and tune with."""

    dense: Annotated[
        float | None, Meta(description="Cosine of the query and passage vectors; null in lexical mode.")
    ]
    lexical: Annotated[float | None, Meta(description="The passage's BM25 score; null in dense mode.")]


class SearchResult(msgspec.Struct, frozen=True):
    rank: int
    score: Score
    chunk_id: str
    text: str
    citation: Citation
    scores: ScoreParts
    highlights: Annotated[
        list[tuple[int, int]],
        Meta(
            description="[start, end] offsets in `text` of each word matching a query term, as the keyword "
            'index matches them (case, stemming and stopwords: "rovers" matches "rover"), in order; '
            "bold `text[start:end]` to show why the passage matched."
        ),
    ] = msgspec.field(default_factory=list)


class SearchResponse(msgspec.Struct, frozen=True):
    query: str
    results: list[SearchResult]
    took_ms: float
    snapshot_id: Annotated[str, Meta(description="The snapshot searched (the first collection's).")]
    snapshot_ids: Annotated[
        dict[str, str], Meta(description="Each collection searched, with its snapshot.")
    ] = msgspec.field(default_factory=dict)


class SectionStart(msgspec.Struct, frozen=True):
    start: Annotated[int, Meta(description="Where the section (its heading) starts in `text`.")]
    path: Annotated[str, Meta(description='The heading path ("Apollo program > Part 2").')]


class DocumentResponse(msgspec.Struct, frozen=True):
    doc_id: str
    source: str
    title: str
    date: str | None
    sha256: str
    chunk_count: int
    char_count: int
    text: Annotated[
        str,
        Meta(
            description="The text the document was indexed from (for PDF, HTML and DOCX: the extracted text)."
        ),
    ]
    snapshot_id: str
    format: Annotated[str, Meta(description="text, markdown, pdf, html or docx.")] = "text"
    metadata: Annotated[
        dict[str, Any],
        Meta(description="Front matter, PDF document information or HTML meta tags: scalars and lists."),
    ] = msgspec.field(default_factory=dict)
    page_starts: Annotated[
        list[int] | None,
        Meta(description="Paged formats (PDF): where each page starts in `text`, page 1 first; else null."),
    ] = None
    sections: Annotated[
        list[SectionStart],
        Meta(description="The headings found, in order, with where each starts in `text`."),
    ] = msgspec.field(default_factory=list)


class FieldDescription(msgspec.Struct, frozen=True):
    key: Annotated[str, Meta(description="The name a filter uses.")]
    type: Annotated[
        Literal["string", "number", "boolean", "date"],
        Meta(description="How values compare (date: ISO dates, compared as text)."),
    ]
    multiple: Annotated[bool, Meta(description='Some documents give a list (tags): "eq" means "contains".')]
    scope: Annotated[
        Literal["document", "passage", "metadata"],
        Meta(description="Built into every document, every passage, or a metadata key the documents have."),
    ]
    documents: Annotated[
        int | None, Meta(description="Metadata keys: how many documents have it; null for built-in fields.")
    ]


class SearchDefaults(msgspec.Struct, frozen=True):
    mode: Annotated[Mode, Meta(description="The mode of a search that names none (retrieval.mode).")]
    top_k: Annotated[int, Meta(description="Passages returned when a search names no top_k.")]
    max_top_k: Annotated[int, Meta(description="The largest top_k accepted (service.max_top_k).")]
    min_score: Annotated[
        float, Meta(description="The chatbot endpoints' default threshold (retrieval.min_score).")
    ]
    max_query_chars: Annotated[int, Meta(description="The longest query accepted (service.max_query_chars).")]


class IndexResponse(msgspec.Struct, frozen=True):
    snapshot_id: str
    created_at: Annotated[str, Meta(description="When the indexer built it (ISO 8601, UTC).")]
    documents: int
    chunks: int
    formats: Annotated[dict[str, int], Meta(description="Documents per format (text, markdown, pdf, ...).")]
    fields: Annotated[list[FieldDescription], Meta(description="The fields `filters` may name.")]
    search: SearchDefaults
    collection: Annotated[
        str,
        Meta(
            description="The collection described: the default one, or for a key that may not search it, "
            "the first one the key may search."
        ),
    ] = ""
    default: Annotated[
        bool, Meta(description="Whether the collection described is the one a search naming none reads.")
    ] = True
    collections: Annotated[
        list[str],
        Meta(
            description="Every collection this key may search, the default first "
            "(each described at GET /v1/collections/{name}/index)."
        ),
    ] = msgspec.field(default_factory=list)


class HealthResponse(msgspec.Struct, frozen=True):
    status: Annotated[Literal["ok"], Meta(description="Always ok: the process is up and answering.")]
    version: str
    uptime_seconds: float


class SnapshotInfo(msgspec.Struct, frozen=True):
    snapshot_id: str
    created_at: Annotated[str, Meta(description="When the indexer built it (ISO 8601, UTC).")]
    age_seconds: Annotated[float, Meta(description="Seconds since it was built.")]
    loaded_at: Annotated[str, Meta(description="When this service started serving it (ISO 8601, UTC).")]
    documents: int
    chunks: int
    model: str
    dimension: int


class RefusalInfo(msgspec.Struct, frozen=True):
    snapshot: Annotated[str, Meta(description="The refused snapshot's folder name.")]
    reason: str
    at: Annotated[str, Meta(description="When it was refused (ISO 8601, UTC).")]


class CollectionInfo(msgspec.Struct, frozen=True):
    name: str
    description: str
    default: Annotated[bool, Meta(description="Searched when a request names no collection.")]
    status: Annotated[
        Literal["ready", "unavailable"],
        Meta(description="unavailable: not built yet, refused or damaged; its searches answer 503."),
    ]
    documents: int
    chunks: int
    formats: Annotated[dict[str, int], Meta(description="Documents per format.")]
    snapshot_id: str | None
    updated: Annotated[str | None, Meta(description="When its served snapshot was built (ISO 8601, UTC).")]
    permissions: Annotated[list[str], Meta(description="What this key may do in it: search, write.")]


class CollectionList(msgspec.Struct, frozen=True):
    collections: list[CollectionInfo]


class CollectionState(msgspec.Struct, frozen=True):
    name: str
    status: Annotated[
        Literal["ready", "unavailable"],
        Meta(description="unavailable: not built yet, refused or damaged; its searches answer 503."),
    ]
    snapshot_id: str | None
    documents: int
    chunks: int
    detail: Annotated[str | None, Meta(description="Why the collection is unavailable, when it is.")]


class ReadyResponse(msgspec.Struct, frozen=True):
    status: Annotated[
        Literal["ready", "unavailable"],
        Meta(description="ready: at least one collection is loaded and searches work."),
    ]
    snapshot: Annotated[SnapshotInfo | None, Meta(description="The default collection's snapshot.")]
    detail: Annotated[str | None, Meta(description="Why the service is not ready, when it is not.")]
    last_refusal: Annotated[
        RefusalInfo | None, Meta(description="The last snapshot refused (corrupt, incomplete, other model).")
    ]
    loads: Annotated[int, Meta(description="Snapshots loaded since start (the first one included).")]
    refusals: Annotated[int, Meta(description="Snapshots refused since start.")]
    collections: Annotated[
        list[CollectionState],
        Meta(
            description="Each collection the caller's key may search (none for a caller without a key "
            "where search needs one), the default first."
        ),
    ] = msgspec.field(default_factory=list)


class ReloadResponse(msgspec.Struct, frozen=True):
    status: Annotated[
        Literal["loaded", "unchanged"],
        Meta(description="loaded: a new snapshot is now served; unchanged: the current one is the newest."),
    ]
    snapshot_id: str
    previous_snapshot_id: str | None


class Problem(msgspec.Struct, frozen=True):
    """RFC 9457 problem details, the body of every error response."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | msgspec.UnsetType = msgspec.UNSET


_PROBLEM_DESCRIPTIONS = {
    400: "The body is empty, not JSON, not UTF-8, or nested too deeply.",
    401: "The API key is missing or wrong (send Authorization: Bearer <key>).",
    403: "The API key is a search key; this endpoint needs an admin key.",
    404: "Not found.",
    409: "The published snapshot was refused (corrupt, incomplete or built with another model); the "
    "previous one is still served.",
    413: "The request body is larger than the configured limit.",
    415: "The body is not sent as application/json.",
    422: "The body is valid JSON but not a valid request (see errors).",
    429: "Too many requests from this client; retry after the Retry-After seconds.",
    503: "No index snapshot is loaded.",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem details a handler may answer with."""
    return {
        status: ResponseSpec(
            Problem,
            description=_PROBLEM_DESCRIPTIONS[status],
            media_type="application/problem+json",
            generate_examples=False,
        )
        for status in statuses
    }
