"""Write benchmark: how soon an upload is searchable, and a deletion invisible, in a large collection
(a script that prints figures).

    flock /tmp/heavy.lock python -m bench.write_bench                      # 1,000,000 chunks
    flock /tmp/heavy.lock python -m bench.write_bench --chunks 100000 --updates 10

The base collection is written through the product's writer (store, vector index as ``index.type``
chooses it or ``--index-type``, BM25, manifest, atomic publish): ``--chunks`` chunks of synthetic
text (40 words drawn from a Zipf vocabulary), 100 per document, with vectors drawn around real
all-MiniLM-L6-v2 chunk vectors as :mod:`bench.scale_bench` draws them. It is written once under
``--workdir`` and reused (its build time is printed when it is written).

Then, in a fresh process with the real model: the service's reload path (``SnapshotHolder``) opens it;
each update writes a new 10-page PDF (reportlab, ~30 chunks) into the source folder, calls
``indexer.build.update`` with its id, reloads the holder and searches until the PDF is found: the
seconds from the file written (what the service acknowledges with 202) to searchable, p50/p95.
Updates run as the service's writer runs them: on the product's writer thread (lower CPU priority)
with the writer's own one-thread model (``--shared-model``: the searches' model instead). Deletions
the same way, to invisible. Search latency (hybrid, top 10, distinct uncached queries) idle
and while another thread keeps ingesting PDFs. RSS of the measuring process and the index's size on
disk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from bench.common import REPO, describe_machine, rss_mib, warn_unless_locked
from bench.scale_bench import dataset, draw, mixture

WORDS_PER_CHUNK = 40
CHUNKS_PER_DOC = 100
VOCABULARY = 30_000


def vocabulary() -> list[str]:
    """Pronounceable made-up words (none a stopword), the same every run."""
    rng = np.random.default_rng(7)
    consonants, vowels = "bcdfghjklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < VOCABULARY:
        n = int(rng.integers(2, 4))
        words.add("".join(consonants[rng.integers(17)] + vowels[rng.integers(5)] for _ in range(n)) + "x")
    return sorted(words)


def chunk_texts(count: int, words: list[str], seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    ranks = (rng.zipf(1.2, size=(count, WORDS_PER_CHUNK)) - 1) % len(words)
    return [" ".join(words[i] for i in row) for row in ranks.tolist()]


def settings_for(workdir: Path, index_type: str) -> Any:
    from indexer.config import load_settings

    base = load_settings(REPO / "config.yaml", environ={})
    index = msgspec.structs.replace(base.index, type=index_type)
    return msgspec.structs.replace(
        base, seeds_dir=workdir / "seeds", index_dir=workdir / "index", index=index
    )


def base_vectors(workdir: Path, chunks: int, centres: Path | None) -> tuple[Path, str]:
    """The base's vectors (a file, written once): drawn around ``centres`` (a ``vectors.npy`` of
    real chunk vectors) or as :mod:`bench.scale_bench` draws them."""
    if centres is None:
        path, _, description = dataset(workdir, chunks, 10, "auto")
        return path, description
    path = workdir / f"vectors-{chunks}.npy"
    real = np.load(centres).astype(np.float32)
    centre_rows, basis, description = mixture("real", real)
    if not path.exists():
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(chunks, real.shape[1]))
        for start in range(0, chunks, 50_000):
            out[start : start + 50_000] = draw(
                min(50_000, chunks - start), centre_rows, basis, seed=1 + start
            )
        out.flush()
    return path, description


def build_base(workdir: Path, chunks: int, index_type: str, centres: Path | None) -> float:
    """Write the base collection through the product's writer; its build seconds."""
    from indexer.build.write import write_indexes, write_snapshot_manifest
    from indexer.embedding import load_embedder
    from indexer.snapshot.manifest import ModelInfo
    from indexer.snapshot.publish import build_lock, new_snapshot_id, publish, staging_dir

    settings = settings_for(workdir, index_type)
    settings.seeds_dir.mkdir(parents=True, exist_ok=True)
    vectors_path, description = base_vectors(workdir, chunks, centres)
    print(f"vectors: {description}", flush=True)
    embedder = load_embedder(settings.model)
    model = ModelInfo(
        name=settings.model.name,
        dimension=embedder.dimension,
        max_seq_length=embedder.max_seq_length,
        source=embedder.source,
        variant=embedder.variant,
        artifact_sha256=embedder.artifact_sha256,
    )
    started = time.perf_counter()
    with build_lock(settings.index_dir):
        snapshot_id = new_snapshot_id()
        staged = staging_dir(settings.index_dir, snapshot_id)
        collected = synthetic_collection(staged, chunks, np.load(vectors_path, mmap_mode="r"))
        written = write_indexes(settings, staged, collected, None, model.dimension)
        seconds = time.perf_counter() - started
        limit = embedder.max_seq_length
        write_snapshot_manifest(settings, staged, snapshot_id, collected, written, model, limit, seconds)
        publish(settings.index_dir, staged, snapshot_id)
    return time.perf_counter() - started


def synthetic_collection(staged: Path, chunks: int, vectors: Any) -> Any:
    """The store of ``chunks`` synthetic chunks (documents of :data:`CHUNKS_PER_DOC`) and what the
    writer needs of them (texts in row order, vectors, manifest entries)."""
    from indexer.build.collect import Collected
    from indexer.snapshot.layout import STORE_NAME
    from indexer.snapshot.manifest import DocumentEntry
    from indexer.snapshot.store import ChunkRecord, DocumentRecord, StoreWriter

    words = vocabulary()
    writer = StoreWriter(staged / STORE_NAME)
    out = Collected()
    for first in range(0, chunks, CHUNKS_PER_DOC):
        count = min(CHUNKS_PER_DOC, chunks - first)
        texts = chunk_texts(count, words, seed=first)
        doc_id = f"synthetic/{first // CHUNKS_PER_DOC:06d}.txt"
        starts = np.cumsum([0] + [len(t) + 2 for t in texts[:-1]]).tolist()
        records = [
            ChunkRecord(first + i, doc_id, i, s, s + len(t), i + 1, i + 1, t)
            for i, (s, t) in enumerate(zip(starts, texts, strict=True))
        ]
        text = "\n\n".join(texts)
        sha = f"{first:064x}"
        record = DocumentRecord(
            doc_id, f"seeds/{doc_id}", doc_id, None, sha, count, text=text, first_row=first
        )
        writer.add_document(record)
        writer.add_chunks(records)
        out.texts.extend(texts)
        out.entries[doc_id] = DocumentEntry(sha256=sha, chunks=count, bytes=len(text), chars=len(text))
    writer.close()
    out.parts.append((0, vectors, chunks))
    return out


def english_words() -> list[str]:
    """The distinct words of the repository's sample documents (real English prose)."""
    found: dict[str, None] = {}
    for path in sorted((REPO / "seeds").glob("*.txt")):
        for word in path.read_text(encoding="utf-8").split():
            if word.isalpha() and len(word) >= 3:
                found.setdefault(word.lower())
    return list(found)[:8000]


def make_pdf(number: int, words: list[str]) -> bytes:
    """A 10-page report (35 lines of 10 English words a page, about 20 chunks) whose first word
    names it (``pdfword<number>``)."""
    from tests.documents import make_pdf as render

    rng = np.random.default_rng(10_000 + number)
    pages = [
        [" ".join(words[int(i)] for i in rng.integers(0, len(words), size=10)) for _ in range(35)]
        for _ in range(10)
    ]
    pages[0][0] = f"pdfword{number} " + pages[0][0]
    return render(pages, title=f"Report {number}")


def write_file(path: Path, data: bytes) -> None:
    """Write and fsync, as the service does before it answers 202."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--deletes", type=int, default=5)
    parser.add_argument("--queries", type=int, default=300, help="searches timed in each phase")
    parser.add_argument("--index-type", default="auto", help="the base's index.type (auto: as configured)")
    parser.add_argument(
        "--shared-model", action="store_true", help="updates embed with the searches' model, not their own"
    )
    parser.add_argument("--workdir", type=Path, default=Path.home() / ".cache/citesearch/write_bench")
    parser.add_argument("--centres", type=Path, help="a vectors.npy of real chunk vectors to draw around")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = base_dir(args.workdir, args.chunks, args.index_type, args.centres)
    if args.measure:
        print(json.dumps(measure(workdir, args)), flush=True)
        return
    warn_unless_locked()
    print(describe_machine())
    ensure_base(workdir, args.chunks, args.index_type, args.centres)
    command = [sys.executable, "-m", "bench.write_bench", "--measure", *sys.argv[1:]]
    result = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
    report(json.loads(result.stdout.strip().splitlines()[-1]))


def base_dir(workdir: Path, chunks: int, index_type: str, centres: Path | None) -> Path:
    """Where the base of this size and kind is kept (``seeds/`` and ``index/``)."""
    return workdir / f"{chunks}-{index_type}{'-real' if centres else ''}"


def ensure_base(workdir: Path, chunks: int, index_type: str, centres: Path | None) -> None:
    """Write the base under ``workdir`` unless a published one is there (its build time printed)."""
    if (workdir / "index" / "current").exists():
        return
    shutil.rmtree(workdir / "index", ignore_errors=True)
    shutil.rmtree(workdir / "seeds", ignore_errors=True)
    seconds = build_base(workdir, chunks, index_type, centres)
    print(f"base build ({chunks} chunks): {seconds:.1f} s", flush=True)


def report(figures: dict[str, Any]) -> None:
    for key, value in figures.items():
        print(f"{key}: {value}")


# -- measuring (a fresh process) ------------------------------------------------------------------


class Bench:
    """The collection served as the service serves it (a ``SnapshotHolder`` over one engine)."""

    def __init__(self, workdir: Path, args: argparse.Namespace) -> None:
        from indexer.search import SearchEngine
        from service.runtime.hot_swap import SnapshotHolder

        self.settings = settings_for(workdir, args.index_type)
        self.engine = SearchEngine(self.settings)
        self.holder = SnapshotHolder(self.engine)
        self.shared_model = args.shared_model
        self.words = vocabulary()
        self.english = english_words()
        self.queries = 0

    def found(self, word: str) -> list[str]:
        with self.holder.lease() as searcher:
            return [hit.chunk.doc_id for hit in searcher.search(word, 10, "lexical")]

    def apply(self, doc_ids: list[str]) -> None:
        """What the service's writer does: update (on the product's writer thread, with the
        writer's own model unless ``--shared-model``), then swap the new state in."""
        from indexer.build import update, writer_model

        model = (lambda: self.engine.embedder) if self.shared_model else writer_model(self.settings.model)
        update(self.settings, model, doc_ids)
        self.holder.reload()

    def add(self, number: int) -> float:
        """Seconds from the PDF written to it being searchable."""
        doc_id = f"uploads/report-{number}.pdf"
        data = make_pdf(number, self.english)
        started = time.perf_counter()
        write_file(self.settings.seeds_dir / doc_id, data)
        self.apply([doc_id])
        if doc_id not in self.found(f"pdfword{number}"):
            raise SystemExit(f"{doc_id} is not searchable after its update")
        return time.perf_counter() - started

    def delete(self, number: int) -> float:
        doc_id = f"uploads/report-{number}.pdf"
        started = time.perf_counter()
        (self.settings.seeds_dir / doc_id).unlink()
        self.apply([doc_id])
        if doc_id in self.found(f"pdfword{number}"):
            raise SystemExit(f"{doc_id} is still found after its deletion")
        return time.perf_counter() - started

    def search_latencies(self, count: int) -> list[float]:
        """Hybrid top-10 searches of distinct (uncached) queries, seconds each."""
        rng = np.random.default_rng(self.queries)
        out = []
        for _ in range(count):
            self.queries += 1
            query = " ".join(self.words[int(i)] for i in rng.integers(0, 2000, size=4))
            started = time.perf_counter()
            with self.holder.lease() as searcher:
                searcher.search(query, 10, "hybrid")
            out.append(time.perf_counter() - started)
        return out


def reset(workdir: Path, uploads: tuple[str, ...] = ("uploads",)) -> None:
    """Back to the base alone: earlier runs' uploads (these folders of the source folder), segments
    and state removed."""
    from indexer.snapshot.layout import SEGMENTS_DIR, STATE_NAME

    for folder in uploads:
        shutil.rmtree(workdir / "seeds" / folder, ignore_errors=True)
    shutil.rmtree(workdir / "index" / SEGMENTS_DIR, ignore_errors=True)
    (workdir / "index" / STATE_NAME).unlink(missing_ok=True)


def measure(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    reset(workdir)
    bench = Bench(workdir, args)
    started = time.perf_counter()
    bench.holder.reload()
    figures: dict[str, Any] = {"base open and verify (s)": round(time.perf_counter() - started, 2)}
    bench.search_latencies(10)  # warm-up
    idle = bench.search_latencies(args.queries)
    adds = [bench.add(i) for i in range(args.updates)]
    deletes = [bench.delete(i) for i in range(args.deletes)]
    with_deltas = bench.search_latencies(args.queries)
    during = ingesting(bench, args.updates, args.queries)
    figures.update(
        {
            "update to searchable p50 (s)": round(statistics.median(adds), 2),
            "update to searchable p95 (s)": round(percentile(adds, 0.95), 2),
            "delete to invisible p50 (s)": round(statistics.median(deletes), 2),
            "delete to invisible max (s)": round(max(deletes), 2),
            "search p50 idle, base alone (ms)": round(1000 * statistics.median(idle), 1),
            "search p50 idle, base and deltas (ms)": round(1000 * statistics.median(with_deltas), 1),
            "search p50 during ingestion (ms)": round(1000 * statistics.median(during), 1),
            "rss (MiB)": round(rss_mib(), 0),
            "index on disk (MiB)": round(disk_mib(workdir / "index"), 0),
        }
    )
    with bench.holder.lease() as searcher:
        figures["served"] = f"{searcher.manifest.counts.chunks} chunks, {searcher.snapshot_id}"
    return figures


def ingesting(bench: Bench, first: int, queries: int) -> list[float]:
    """Search latencies while another thread keeps adding PDFs (one after another)."""
    done = threading.Event()

    def ingest() -> None:
        number = 1000 + first
        while not done.is_set():
            bench.add(number)
            number += 1

    thread = threading.Thread(target=ingest, daemon=True)
    thread.start()
    time.sleep(1.0)  # the first PDF is being embedded
    try:
        return bench.search_latencies(queries)
    finally:
        done.set()
        thread.join()


def disk_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


if __name__ == "__main__":
    main()
