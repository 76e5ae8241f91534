"""Evaluation: retrieval quality on BEIR-format collections, measured with the indexer and the query
engine the service runs (``python -m indexer eval``). :mod:`~indexer.evaluation.beir` reads the
collections (also for the benchmarks), :mod:`~indexer.evaluation.metrics` scores runs with ranx."""

from indexer.evaluation.beir import (
    Collection,
    EvaluationError,
    document_file,
    document_id,
    document_text,
    load_beir,
    slice_collection,
    write_corpus,
)
from indexer.evaluation.evaluate import (
    EvalReport,
    ModeResult,
    QueryVectors,
    default_workdir,
    eval_settings,
    evaluate,
    rank_documents,
)
from indexer.evaluation.metrics import METRICS, Run, require_ranx, roc_auc, score

__all__ = [
    "METRICS",
    "Collection",
    "EvalReport",
    "EvaluationError",
    "ModeResult",
    "QueryVectors",
    "Run",
    "default_workdir",
    "document_file",
    "document_id",
    "document_text",
    "eval_settings",
    "evaluate",
    "load_beir",
    "rank_documents",
    "require_ranx",
    "roc_auc",
    "score",
    "slice_collection",
    "write_corpus",
]
