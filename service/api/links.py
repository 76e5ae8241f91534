"""Links to our own ``GET /v1/documents/{doc_id}`` view (the default collection) and
``GET /v1/collections/{name}/documents/{doc_id}`` (any collection), the target of every citation."""

from __future__ import annotations

from urllib.parse import quote

DOCUMENTS_PATH = "/v1/documents/"
COLLECTIONS_PATH = "/v1/collections/"


def document_url(
    doc_id: str,
    *,
    base: str = "",
    start: int | None = None,
    end: int | None = None,
    collection: str | None = None,
) -> str:
    """The URL of document ``doc_id`` (relative unless ``base`` is given), optionally naming the
    cited character range ``?start=&end=``; in ``collection`` (None: the default collection's
    ``/v1/documents/`` path).

    Ids are paths relative to the seeds folder: their ``/`` stay as they are, every other character
    that is not safe in a path (space, ``#``, ``?``, ``%``, non-ASCII) is percent-encoded."""
    where = DOCUMENTS_PATH if collection is None else f"{COLLECTIONS_PATH}{collection}/documents/"
    url = base.rstrip("/") + where + quote(doc_id, safe="/")
    if start is not None and end is not None:
        url += f"?start={int(start)}&end={int(end)}"  # integers: nothing to encode (urlencode cost ~10 µs)
    return url
