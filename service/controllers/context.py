"""``POST /v1/context``: the best passages, merged and numbered, packed into a token budget."""

from __future__ import annotations

import time

import anyio.to_thread
import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from indexer.encodings import get_encoding
from indexer.errors import EncodingNotFoundError
from service import retrieval
from service.errors import InvalidInputError
from service.guards import require_json
from service.links import document_url
from service.packing import pack
from service.resources import Resources
from service.schemas_context import ContextCitation, ContextRequest, ContextResponse


class ContextController(Controller):
    path = "/v1"

    @post(
        "/context",
        guards=[require_json],
        summary="Build a prompt context",
        operation_id="buildContext",
        tags=["chatbots"],
        status_code=200,
    )
    async def context(
        self,
        request: Request,  # type: ignore[type-arg]
        data: JSONBody[ContextRequest],
        resources: NamedDependency[Resources],
    ) -> ContextResponse:
        """The best passages for ``query`` in rank order, packed until ``max_tokens`` (counted with
        tiktoken in ``encoding``) is reached. Overlapping or adjacent chunks of one document are
        merged into one passage. ``context`` numbers the passages ``[1]``, ``[2]``, ...; ``citations``
        carries the same numbers with exact character ranges."""
        started = time.perf_counter()
        # Decode again strictly, as /v1/search does: "5" or 5.0 for an integer is a 422.
        data = msgspec.json.decode(await request.body(), type=ContextRequest)
        retrieval.check_query(data.query, resources)
        try:
            encoding = get_encoding(data.encoding)
        except EncodingNotFoundError as exc:
            raise InvalidInputError(
                str(exc), errors=[{"key": "encoding", "message": str(exc), "source": "body"}]
            ) from exc
        hits = await retrieval.search(resources, data.query, data.top_k, data.mode)
        packed = await anyio.to_thread.run_sync(
            pack, hits, encoding, data.max_tokens, retrieval.DocumentTexts(resources)
        )
        citations = [
            ContextCitation(
                number=number,
                doc_id=p.document.doc_id,
                source=p.document.source,
                title=p.document.title,
                date=p.document.date,
                char_start=p.char_start,
                char_end=p.char_end,
                line_start=p.line_start,
                line_end=p.line_end,
                url=document_url(p.document.doc_id, start=p.char_start, end=p.char_end),
                text=p.text,
                chunk_ids=list(p.chunk_ids),
                score=p.score,
                truncated=p.truncated,
            )
            for number, p in enumerate(packed.passages, start=1)
        ]
        return ContextResponse(
            query=data.query,
            context=packed.context,
            citations=citations,
            used_tokens=packed.used_tokens,
            max_tokens=data.max_tokens,
            encoding=data.encoding,
            took_ms=round((time.perf_counter() - started) * 1000, 3),
            snapshot_id=resources.snapshot.snapshot_id,
        )
