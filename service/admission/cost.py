"""What a request costs, in the rate limiter's units: one unit is a plain search's work.

The rate limiter (:mod:`service.admission.rate_limit`) charges each request one unit as it arrives;
the door then charges what its work is worth beyond that (:func:`charge_work`), and the same figure
decides whether the search runs in the small pool of expensive work
(:mod:`service.runtime.work`). A request costs:

- 1 per query (a vector store search may send up to ``service.max_queries``);
- 1 more per 20 results beyond the first 20 of each query (``top_k`` 100: +4);
- its filter's work (:class:`indexer.search.filters.FilterWork`): 1 per text comparison (each reads
  every distinct value of its field), 1 per full 16 other filters, 1 per full 256 values;
- for ``/v1/context``, 1 more per 8,000 tokens of context beyond the first 8,000 it may pack.
"""

from __future__ import annotations

from litestar.types import Scope

from indexer.search import Filter
from indexer.search.filters import work
from service.admission.rate_limit import RateLimiter, charge

RESULTS_PER_UNIT = 20
CONTEXT_TOKENS_PER_UNIT = 8000


def search_units(
    top_k: int, filters: Filter | None = None, *, queries: int = 1, context_tokens: int = 0
) -> int:
    """The units a search of ``queries`` queries for ``top_k`` results each, filtered by ``filters``
    (and packing up to ``context_tokens`` tokens), is worth."""
    per_query = 1 + max(0, top_k - 1) // RESULTS_PER_UNIT
    units = queries * per_query
    if filters is not None:
        units += work(filters).units()
    units += max(0, context_tokens - 1) // CONTEXT_TOKENS_PER_UNIT
    return units


def charge_work(scope: Scope, limiter: RateLimiter | None, units: int) -> int:
    """Charge ``units`` (less the one the middleware took) to the request's client: 429 if its
    allowance has not that many; returns ``units``."""
    charge(scope, limiter, units - 1)
    return units
