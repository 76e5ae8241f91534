"""BEIR-format test collections (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``): the one
reader of them, shared by ``indexer eval`` and the benchmarks."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from indexer.errors import IndexerError


class EvaluationError(IndexerError):
    """The collection cannot be read or evaluated."""


@dataclass(frozen=True)
class Collection:
    """A BEIR collection restricted to the judged queries of one split."""

    name: str
    corpus: dict[str, tuple[str, str]]
    """``_id`` -> (title, text), in file order."""
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    """query id -> {document id: relevance}; only queries with a relevant document."""


def load_beir(directory: Path, split: str = "train") -> Collection:
    """Read ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv`` from ``directory``."""
    directory = directory.resolve()
    paths = {name: directory / name for name in ("corpus.jsonl", "queries.jsonl")}
    paths["qrels"] = directory / "qrels" / f"{split}.tsv"
    for path in paths.values():
        if not path.is_file():
            raise EvaluationError(_not_found(path, split))
    corpus: dict[str, tuple[str, str]] = {}
    for record in _jsonl(paths["corpus.jsonl"]):
        corpus[str(record["_id"])] = (str(record.get("title") or ""), str(record.get("text") or ""))
    qrels = _qrels(paths["qrels"], corpus)
    queries = {
        str(r["_id"]): str(r["text"]) for r in _jsonl(paths["queries.jsonl"]) if str(r["_id"]) in qrels
    }
    qrels = {q: docs for q, docs in qrels.items() if q in queries}
    if not qrels:
        raise EvaluationError(f"{paths['qrels']}: no judged query has a relevant document in the corpus")
    return Collection(directory.name, corpus, queries, qrels)


LAYOUT = "corpus.jsonl, queries.jsonl and qrels/<split>.tsv"
SOURCE = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/scifact.zip"
"""Where a BEIR collection can be had: SciFact, the one docs/retrieval-quality.md measures."""


def _not_found(path: Path, split: str) -> str:
    """Which file is missing, what a BEIR collection holds and where one can be had; for a missing
    split, the splits the collection has."""
    splits = sorted(p.stem for p in path.parent.glob("*.tsv")) if path.parent.name == "qrels" else []
    if splits:
        return f"{path} not found: no split {split!r} in this collection (it has {', '.join(splits)})"
    return (
        f"{path} not found: a BEIR collection is a folder with {LAYOUT} (for example SciFact, "
        f"unzipped from {SOURCE}; see docs/retrieval-quality.md)"
    )


def _qrels(path: Path, corpus: dict[str, tuple[str, str]]) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            parts = line.rstrip("\n").split("\t")
            if (number == 1 and parts[0] == "query-id") or not line.strip():
                continue
            if len(parts) < 3:
                raise EvaluationError(f"{path}:{number}: expected query-id, corpus-id, score")
            query_id, doc_id, relevance = parts[0], parts[1], int(parts[2])
            if relevance > 0 and doc_id in corpus:
                qrels.setdefault(query_id, {})[doc_id] = relevance
    return qrels


def _jsonl(path: Path) -> Iterable[dict[str, object]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise EvaluationError(f"{path}:{number}: not JSON: {exc}") from exc


def slice_collection(collection: Collection, queries: int, distractors: int) -> Collection:
    """A small, deterministic piece of ``collection``: its first ``queries`` judged queries, every
    document judged for them, and the first ``distractors`` other documents of the corpus."""
    kept = list(collection.queries)[:queries]
    qrels = {q: collection.qrels[q] for q in kept}
    judged = {d for docs in qrels.values() for d in docs}
    others = [d for d in collection.corpus if d not in judged][:distractors]
    wanted = judged | set(others)
    corpus = {d: v for d, v in collection.corpus.items() if d in wanted}
    return Collection(
        f"{collection.name}-slice{queries}x{distractors}",
        corpus,
        {q: collection.queries[q] for q in kept},
        qrels,
    )


def document_file(doc_id: str) -> str:
    """The file name of a corpus document: its ``_id`` made safe for a path, plus ``.txt``."""
    name = quote(doc_id, safe="")
    return ("%2E" + name[1:] if name.startswith(".") else name) + ".txt"


def document_id(file_name: str) -> str:
    return unquote(file_name.removesuffix(".txt"))


def document_text(title: str, text: str) -> str:
    """Title first, then the text, as BEIR indexes them."""
    return f"{title}\n\n{text}" if title else text


def write_corpus(collection: Collection, seeds: Path) -> int:
    """Mirror the corpus into ``seeds`` (one ``document_file`` per document, title and text); returns
    how many files were written or removed."""
    seeds.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, bytes] = {
        document_file(doc_id): document_text(title, text).encode("utf-8")
        for doc_id, (title, text) in collection.corpus.items()
    }
    changed = 0
    for existing in seeds.iterdir():
        if existing.is_file() and existing.name not in wanted:
            existing.unlink()
            changed += 1
    for name, data in wanted.items():
        path = seeds / name
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
            changed += 1
    return changed
