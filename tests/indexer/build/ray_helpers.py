"""A corpus for the Ray builds' tests and what they compare: every chunk and vector of an index."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np

from indexer.config import Settings
from indexer.snapshot import open_current

VOCABULARY = (
    "volcano magma crust lava tide moon gravity ocean protein cell membrane enzyme gene river delta "
    "sediment glacier climate carbon forest soil nitrogen bacteria virus vaccine neuron cortex signal "
    "orbit planet comet asteroid telescope photon electron quantum field energy heat pressure"
)
WORDS = VOCABULARY.split()


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 18))).capitalize() + "."


def corpus(seeds: Path, documents: int, *, seed: int = 7) -> None:
    """``documents`` text and Markdown files of 1 to ~15 chunks, an empty file and an unreadable PDF."""
    rng = random.Random(seed)
    for i in range(documents):
        paragraphs = [
            " ".join(sentence(rng) for _ in range(rng.randint(2, 12))) for _ in range(rng.randint(1, 8))
        ]
        if i % 3 == 0:
            (seeds / f"notes/doc{i:03d}.md").parent.mkdir(exist_ok=True)
            body = "\n\n".join(f"## Part {n}\n\n{p}" for n, p in enumerate(paragraphs))
            (seeds / f"notes/doc{i:03d}.md").write_text(f"# Document {i}\n\n{body}\n", encoding="utf-8")
        else:
            (seeds / f"doc{i:03d}.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")
    (seeds / "empty.txt").write_text("", encoding="utf-8")
    (seeds / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a PDF")


def rows(settings: Settings) -> tuple[list[tuple[Any, ...]], np.ndarray, dict[str, str]]:
    """Every chunk (id, document, position, offsets, lines, text, section, pages), the vectors in
    the same order, and the skipped documents with their reasons."""
    snapshot = open_current(settings.index_dir)
    try:
        chunks = []
        for doc_id in sorted(snapshot.manifest.documents):
            for c in snapshot.store.chunks_of(doc_id):
                key = (c.chunk_id, c.doc_id, c.position, c.char_start, c.char_end, c.line_start, c.line_end)
                chunks.append((*key, c.text, c.section, c.page_start, c.page_end, c.row))
        vectors = np.asarray(snapshot.vectors(), dtype=np.float32)[[c[-1] for c in chunks]]
        skipped = {k: v.reason for k, v in snapshot.manifest.skipped.items()}
        return [c[:-1] for c in chunks], vectors, skipped
    finally:
        snapshot.close()
