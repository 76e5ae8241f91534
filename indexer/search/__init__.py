"""The query side: one engine answers every search, for the service and for ``indexer eval``.

:class:`SearchEngine` holds the model, the micro-batcher and the query-vector cache;
:meth:`SearchEngine.open` gives a :class:`Searcher` over one snapshot, whose
:meth:`~Searcher.search` embeds the query (batched with concurrent ones), searches the vector and
lexical indexes (only the rows a filter allows: :mod:`indexer.search.filters`), fuses and hydrates
the hits, within a :class:`Deadline` when given one. :mod:`indexer.search.packing` packs hits into a token
budget for prompts. ``Embedder`` is re-exported: an engine may be given an already loaded model.
"""

from indexer.config import EngineOptions
from indexer.embedding import Embedder
from indexer.search.deadline import Deadline
from indexer.search.engine import SearchEngine, Searcher, SearchObserver
from indexer.search.filters import Comparison, Compound, FieldSpec, Filter, comparison
from indexer.search.hydration import Hit

__all__ = [
    "Comparison",
    "Compound",
    "Deadline",
    "Embedder",
    "EngineOptions",
    "FieldSpec",
    "Filter",
    "Hit",
    "SearchEngine",
    "SearchObserver",
    "Searcher",
    "comparison",
]
