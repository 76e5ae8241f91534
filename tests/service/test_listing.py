"""Paging through a collection's documents: every document exactly once, in doc_id order, whatever
the page size, with the writes not yet published over the snapshot's, and a status filter."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from service.runtime.listing import SortedIds, page


@dataclass(frozen=True)
class Doc:
    doc_id: str
    status: str


ids = st.text(alphabet="abc/.", min_size=1, max_size=4)
statuses = st.sampled_from(["queued", "indexing", "indexed", "failed"])


@settings(max_examples=200, deadline=None)
@given(
    documents=st.sets(ids, max_size=15),
    skipped=st.sets(ids, max_size=6),
    written=st.dictionaries(ids, st.one_of(st.none(), statuses), max_size=8),
    status=st.one_of(st.none(), statuses),
    limit=st.integers(1, 5),
)
def test_pages_list_every_document_once_in_order(
    documents: set[str], skipped: set[str], written: dict[str, str | None], status: str | None, limit: int
) -> None:
    skipped -= documents

    def resolve(doc_id: str) -> Doc | None:
        if doc_id in written:
            state = written[doc_id]
            return None if state is None else Doc(doc_id, state)
        if doc_id in documents:
            return Doc(doc_id, "indexed")
        return Doc(doc_id, "failed") if doc_id in skipped else None

    everything = sorted(documents | skipped | set(written))
    expected = [d for d in (resolve(i) for i in everything) if d is not None and status in (None, d.status)]
    sorted_ids = SortedIds()
    sorted_ids.refresh("snap", documents, skipped)
    seen: list[Doc] = []
    after = None
    for _ in range(100):
        found, after = page(sorted_ids, written, resolve, status=status, after=after, limit=limit)
        assert len(found) <= limit
        seen += found
        if after is None:
            break
    assert seen == expected
