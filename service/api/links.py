"""Links to our own ``GET /v1/documents/{doc_id}`` view, the target of every citation."""

from __future__ import annotations

from urllib.parse import quote

DOCUMENTS_PATH = "/v1/documents/"


def document_url(doc_id: str, *, base: str = "", start: int | None = None, end: int | None = None) -> str:
    """The URL of document ``doc_id`` (relative unless ``base`` is given), optionally naming the
    cited character range ``?start=&end=``.

    Ids are paths relative to the seeds folder: their ``/`` stay as they are, every other character
    that is not safe in a path (space, ``#``, ``?``, ``%``, non-ASCII) is percent-encoded."""
    url = base.rstrip("/") + DOCUMENTS_PATH + quote(doc_id, safe="/")
    if start is not None and end is not None:
        url += f"?start={int(start)}&end={int(end)}"  # integers: nothing to encode (urlencode cost ~10 µs)
    return url
