"""Pack ranked hits into a token budget: one numbered passage per stretch of a document.

Hits are taken in rank order. A hit that overlaps or adjoins a passage already taken from the same
document (overlapping character ranges, or neighbouring chunk positions) widens that passage instead
of repeating its text; the passage keeps its place and number. A hit that would push the rendered
context over the budget is skipped (a later, smaller one may still fit). If the best passage alone
does not fit, it is cut at a token boundary rather than left out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from indexer.reading import box_packing
from indexer.reading.encodings import get_encoding
from indexer.reading.positions import page_span
from indexer.search.deadline import Deadline, check
from indexer.search.hydration import Hit
from indexer.snapshot.store import Box, DocumentRecord, Store

if TYPE_CHECKING:
    from tiktoken import Encoding

log = logging.getLogger(__name__)

SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Passage:
    document: DocumentRecord
    """The document's metadata (its text is looked up separately)."""
    char_start: int
    char_end: int
    text: str
    """``document_text[char_start:char_end]``."""
    line_start: int
    line_end: int
    score: float
    """The score of the best hit merged into this passage."""
    chunk_ids: tuple[str, ...]
    positions: frozenset[int] = field(repr=False)
    truncated: bool = False
    page_start: int | None = None
    """Paged formats: the first and last page (1-based) of ``text``."""
    page_end: int | None = None
    section: str | None = None
    """The heading path the passage starts under."""
    boxes: tuple[Box, ...] = ()
    """Formats drawn on pages (PDF): the rectangles of exactly ``text``, one per stretch of a line
    (filled by :func:`pack_context` once the passages are final)."""
    collection: str = ""
    """The collection of its document (:attr:`Hit.collection`)."""


@dataclass(frozen=True)
class Packed:
    context: str
    passages: list[Passage]
    used_tokens: int


def render(passages: Sequence[Passage]) -> str:
    """The ready-to-paste context: ``[n] title (date)`` then the passage, blank line between."""
    blocks = []
    for number, passage in enumerate(passages, start=1):
        doc = passage.document
        header = f"[{number}] {doc.title}" + (f" ({doc.date})" if doc.date else "")
        blocks.append(f"{header}\n{passage.text}")
    return SEPARATOR.join(blocks)


def count_tokens(encoding: Encoding, text: str) -> int:
    # Text from documents is data: special-token markers in it are counted as plain text.
    return len(encoding.encode(text, disallowed_special=()))


def _lines(text: str, start: int, end: int) -> tuple[int, int]:
    return text.count("\n", 0, start) + 1, text.count("\n", 0, max(start, end - 1)) + 1


def _span(doc: DocumentRecord, text: str, start: int, end: int, members: Sequence[Passage | Hit]) -> Passage:
    chunk_ids: list[str] = []
    positions: set[int] = set()
    score = float("-inf")
    first: tuple[int, str | None] | None = None  # the earliest member's start and section
    for member in members:
        if isinstance(member, Passage):
            chunk_ids.extend(member.chunk_ids)
            positions |= member.positions
            score = max(score, member.score)
            here = (member.char_start, member.section)
        else:
            chunk_ids.append(member.chunk.chunk_id)
            positions.add(member.chunk.position)
            score = max(score, member.score)
            here = (member.chunk.char_start, member.chunk.section)
        first = here if first is None or here[0] < first[0] else first
    line_start, line_end = _lines(text, start, end)
    page_start, page_end = page_span(doc.pages, start, end)
    return Passage(
        document=doc,
        char_start=start,
        char_end=end,
        text=text[start:end],
        line_start=line_start,
        line_end=line_end,
        score=score,
        chunk_ids=tuple(chunk_ids),
        positions=frozenset(positions),
        page_start=page_start,
        page_end=page_end,
        section=first[1] if first is not None else None,
        collection=members[0].collection,
    )


def _touches(passage: Passage, hit: Hit) -> bool:
    chunk = hit.chunk
    if passage.document.doc_id != chunk.doc_id or passage.collection != hit.collection:
        return False
    overlaps = chunk.char_start <= passage.char_end and passage.char_start <= chunk.char_end
    neighbours = any(abs(chunk.position - p) == 1 for p in passage.positions)
    return overlaps or neighbours


def add_hit(passages: list[Passage], hit: Hit, document_text: str) -> list[Passage] | None:
    """``passages`` with ``hit`` merged in (a new list), or None if its text is already included."""
    touching = [i for i, p in enumerate(passages) if _touches(p, hit)]
    chunk = hit.chunk
    if not touching:
        return [*passages, _span(hit.document, document_text, chunk.char_start, chunk.char_end, [hit])]
    members = [passages[i] for i in touching]
    if len(members) == 1:
        first = members[0]
        if first.char_start <= chunk.char_start and chunk.char_end <= first.char_end:
            return None
    start = min(chunk.char_start, *(p.char_start for p in members))
    end = max(chunk.char_end, *(p.char_end for p in members))
    merged = _span(hit.document, document_text, start, end, [*members, hit])
    out = list(passages)
    out[touching[0]] = merged
    for i in reversed(touching[1:]):
        del out[i]
    return out


def _truncated(passage: Passage, encoding: Encoding, budget: int) -> Passage | None:
    """The longest prefix of ``passage`` (cut at a token boundary) whose rendering fits ``budget``."""
    tokens = encoding.encode(passage.text, disallowed_special=())
    low, high = 0, len(tokens)
    best: Passage | None = None
    while low <= high:
        size = (low + high) // 2
        prefix = encoding.decode_bytes(tokens[:size]).decode("utf-8", errors="ignore")
        while prefix and not passage.text.startswith(prefix):  # a character cut between tokens
            prefix = prefix[:-1]
        end = passage.char_start + len(prefix)
        candidate = replace(
            passage,
            char_end=end,
            text=prefix,
            line_end=passage.line_start + prefix.count("\n", 0, max(len(prefix) - 1, 0)),
            page_end=page_span(passage.document.pages, passage.char_start, end)[1],
            truncated=True,
        )
        if prefix and count_tokens(encoding, render([candidate])) <= budget:
            best, low = candidate, size + 1
        else:
            high = size - 1
    return best


class DocumentTexts:
    """Full document texts of a hit, each read from its collection's store at most once (hits carry
    metadata only), with their character boxes where they are drawn on pages (PDF)."""

    def __init__(self, stores: Store | Mapping[str, Store]) -> None:
        self._stores = stores
        self._texts: dict[tuple[str, str], str] = {}
        self._packed: dict[tuple[str, str], bytes] = {}

    def __call__(self, hit: Hit) -> str:
        return self.text(hit.collection, hit.chunk.doc_id)

    def text(self, collection: str, doc_id: str) -> str:
        key = (collection, doc_id)
        if key not in self._texts:
            stores = self._stores
            store = stores.get(collection) if isinstance(stores, Mapping) else stores
            record = store.document(doc_id) if store is not None else None
            self._texts[key] = record.text if record is not None else ""
            self._packed[key] = record.char_boxes if record is not None else b""
        return self._texts[key]

    def boxed(self, passages: Sequence[Passage]) -> list[Passage]:
        """``passages`` with the rectangles of exactly their characters (none where the document has
        no character boxes: not drawn on pages, or indexed before they were kept); one document's
        boxes decoded at a time, over the stretch its passages cover."""
        out = list(passages)
        for key in dict.fromkeys((p.collection, p.document.doc_id) for p in passages):
            collection, doc_id = key
            text, packed = self.text(collection, doc_id), self._packed[key]
            if not packed:
                continue
            mine = [i for i, p in enumerate(passages) if (p.collection, p.document.doc_id) == key]
            start = min(passages[i].char_start for i in mine)
            try:
                layout = box_packing.unpack(text, packed, start, max(passages[i].char_end for i in mine))
            except ValueError as exc:  # a damaged store: the passages are still cited, without boxes
                log.warning("no boxes for %s: %s", doc_id, exc)
                continue
            for i in mine:
                found = layout.boxes(passages[i].char_start - start, passages[i].char_end - start)
                out[i] = replace(passages[i], boxes=tuple(found))
        return out


def pack_context(
    hits: Sequence[Hit],
    encoding: str,
    max_tokens: int,
    store: Store | Mapping[str, Store],
    deadline: Deadline | None = None,
) -> Packed:
    """:func:`pack` with tokens counted in the tiktoken ``encoding`` named (raises
    :class:`~indexer.errors.EncodingNotFoundError` if it is not available offline) and texts read
    from ``store`` (or, hits of several collections, from each one's store by collection name); each
    passage comes with its boxes (PDF)."""
    texts = DocumentTexts(store)
    packed = pack(hits, get_encoding(encoding), max_tokens, lambda _: "", deadline, text_of=texts)
    return replace(packed, passages=texts.boxed(packed.passages))


def pack(
    hits: Sequence[Hit],
    encoding: Encoding,
    max_tokens: int,
    document_text: Callable[[str], str],
    deadline: Deadline | None = None,
    *,
    text_of: Callable[[Hit], str] | None = None,
) -> Packed:
    """The best passages of ``hits`` whose rendered context stays within ``max_tokens``
    (``deadline`` checked before each hit); each hit's document text is ``text_of(hit)``, or
    ``document_text(doc_id)``.

    Each passage's block is tokenized once, when it is made or widened, and a candidate context is
    measured as the sum of its blocks (re-tokenizing the whole context for each hit made packing
    quadratic: 200 ms for 100 hits). The final context is counted exactly; where the joins tokenized
    differently and it went over (not seen in practice), packing is done again counting each
    candidate context whole."""
    if text_of is None:
        text_of = lambda hit: document_text(hit.chunk.doc_id)  # noqa: E731
    blocks = _BlockTokens(encoding)
    passages: list[Passage] = []
    for hit in hits:
        check(deadline)
        text = text_of(hit)
        candidate = add_hit(passages, hit, text)
        if candidate is None:
            continue
        if blocks.total(candidate) <= max_tokens:
            passages = candidate
        elif not passages:
            # The best passage alone is over the budget: cut it rather than skip it.
            cut = _truncated(candidate[0], encoding, max_tokens)
            if cut is not None:  # None: not even its header fits; try the next one
                passages = [cut]
    context = render(passages)
    used = count_tokens(encoding, context)
    if used > max_tokens:
        return _pack_exact(hits, encoding, max_tokens, text_of, deadline)
    return Packed(context, passages, used)


class _BlockTokens:
    """Tokens of each passage's block (``[n] title`` and its text; the same for any n below 1,000),
    counted once per passage."""

    def __init__(self, encoding: Encoding) -> None:
        self._encoding = encoding
        self._counts: dict[int, tuple[Passage, int]] = {}  # by id; the passage is kept, so ids stay unique
        self._separator = count_tokens(encoding, SEPARATOR)

    def total(self, passages: Sequence[Passage]) -> int:
        total = self._separator * max(0, len(passages) - 1)
        for passage in passages:
            known = self._counts.get(id(passage))
            if known is None:
                known = (passage, count_tokens(self._encoding, render([passage])))
                self._counts[id(passage)] = known
            total += known[1]
        return total


def _pack_exact(
    hits: Sequence[Hit],
    encoding: Encoding,
    max_tokens: int,
    text_of: Callable[[Hit], str],
    deadline: Deadline | None,
) -> Packed:
    """:func:`pack`, counting each candidate context whole (quadratic in the hits; exact)."""
    passages: list[Passage] = []
    used = 0
    for hit in hits:
        check(deadline)
        text = text_of(hit)
        candidate = add_hit(passages, hit, text)
        if candidate is None:
            continue
        tokens = count_tokens(encoding, render(candidate))
        if tokens <= max_tokens:
            passages, used = candidate, tokens
        elif not passages:
            cut = _truncated(candidate[0], encoding, max_tokens)
            if cut is not None:
                passages, used = [cut], count_tokens(encoding, render([cut]))
    return Packed(render(passages), passages, used)
