"""Benchmarks: scripts that measure citesearch and print figures (not tests). Run each from the
repository root as ``python -m bench.<name>``, under ``flock /tmp/heavy.lock`` (timings taken beside
other heavy work are noise):

- :mod:`bench.load_bench`: the HTTP service under load (req/s, latency, server CPU, memory);
- :mod:`bench.scale_bench`: the vector index types at 100k and 1M vectors;
- :mod:`bench.faiss_bench`: FAISS search threads and the BLAS threshold;
- :mod:`bench.embed_bench`: the embedding model variants (speed, and cosine to torch's vectors);
- :mod:`bench.eval_bench`: a cold build of a BEIR collection, quality and per-query latency per mode;
- :mod:`bench.tune`: retrieval parameter sweeps through the query engine;
- :mod:`bench.page_bench`: the search page's weight and render times in Chromium;
- :mod:`bench.compare`: citesearch beside txtai and Haystack (:mod:`bench.competitors` run in their
  own virtual environments).

Nothing here is imported by ``indexer`` or ``service``.
"""
