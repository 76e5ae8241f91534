"""Two checkouts of citesearch under the same load, side by side in one run.

    python -m bench.load_compare --against ../old-checkout --beir ../shared/bench/scifact --docs 1000 \\
        --concurrency 1,16 --rounds 3

``--against`` is another checkout of this repository with its own virtual environment (``.venv``
inside it, or ``--against-python``): an older commit, a branch with another HTTP server, ... Each
checkout builds its own index of the same documents with its own code and ``config.yaml``; then, in
every round, each checkout's ``python -m service`` is started in turn and driven by this checkout's
load client (:mod:`bench.load_bench`: same questions, levels, duration and request cap), then
stopped, so the two never share the CPUs and the machine's drift over the run falls on both.

For every level it prints each checkout's requests/s and p50/p95 latency as the median and the
min-max over the rounds, and calls a difference only where the two min-max ranges do not overlap.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import REPO, describe_machine, first_documents, machine, warn_unless_locked, write_json
from bench.load_bench import questions_of, serve_and_load, service_env
from indexer.evaluation import load_beir, write_corpus

FIGURES = (("req/s", "rps", True), ("p50 ms", "p50_ms", False), ("p95 ms", "p95_ms", False))
"""(title, key, higher is better)"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load_compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--against", type=Path, required=True, help="the other checkout")
    parser.add_argument("--against-python", help="its Python (default: <against>/.venv/bin/python)")
    parser.add_argument("--beir", type=Path, help="a BEIR folder to index (default: --seeds)")
    parser.add_argument("--docs", type=int, default=1000, help="documents taken from --beir (default 1000)")
    parser.add_argument(
        "--seeds", type=Path, default=REPO / "seeds", help="the documents to index (default: seeds/)"
    )
    parser.add_argument("--concurrency", default="1,16", help="comma-separated levels (default 1,16)")
    parser.add_argument("--duration", type=float, default=15, help="seconds per level (default 15)")
    parser.add_argument("--requests", type=int, default=3000, help="at most this many per level")
    parser.add_argument("--warmup", type=int, default=20, help="requests sent before measuring (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="each checkout once per round (default 3)")
    parser.add_argument(
        "--query-cache", type=int, default=0, help="service.query_cache_size for the run (default 0: off)"
    )
    parser.add_argument("--json", type=Path, help="also write every round's figures here")
    return parser


def build(checkout: Path, python: str, env: dict[str, str]) -> None:
    command = [python, "-m", "indexer", "build", "--no-progress"]
    subprocess.run(command, cwd=checkout, env=env, check=True, timeout=3600, capture_output=True)


def spread(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def verdict(ours: list[float], theirs: list[float], higher_is_better: bool) -> str:
    """Which checkout is ahead, only when the two min-max ranges do not overlap."""
    if min(ours) > max(theirs):
        return "this ahead" if higher_is_better else "against ahead"
    if max(ours) < min(theirs):
        return "against ahead" if higher_is_better else "this ahead"
    return "within spread"


def report(rounds: dict[str, list[list[dict[str, Any]]]], levels: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    header = ("concurrency", "figure", "this: median (min-max)", "against: median (min-max)")
    print(f"{header[0]:>11} {header[1]:>7} {header[2]:>26} {header[3]:>26}  verdict")
    for index, level in enumerate(levels):
        for title, key, higher in FIGURES:
            ours = [run[index][key] for run in rounds["this"]]
            theirs = [run[index][key] for run in rounds["against"]]
            cells = []
            for values in (ours, theirs):
                median, low, high = spread(values)
                cells.append(f"{median:.1f} ({low:.1f}-{high:.1f})")
            said = verdict(ours, theirs, higher)
            print(f"{level:>11} {title:>7} {cells[0]:>26} {cells[1]:>26}  {said}")
            row = {"concurrency": level, "figure": key, "this": ours, "against": theirs, "verdict": said}
            rows.append(row)
    errors = {name: sum(level["errors"] for run in runs for level in run) for name, runs in rounds.items()}
    print(f"errors: this {errors['this']}, against {errors['against']}")
    return rows


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    warn_unless_locked()
    against = args.against.resolve()
    checkouts = {
        "this": (REPO, sys.executable),
        "against": (against, args.against_python or str(against / ".venv" / "bin" / "python")),
    }
    levels = [int(c) for c in args.concurrency.split(",")]
    questions = questions_of(args.beir)
    with tempfile.TemporaryDirectory(prefix="citesearch-load-compare-") as tmp:
        root = Path(tmp)
        seeds = args.seeds.resolve()
        if args.beir:
            seeds = root / "seeds"
            write_corpus(first_documents(load_beir(args.beir), args.docs), seeds)
        envs = {}
        for name, (checkout, python) in checkouts.items():
            config = checkout / "config.yaml"
            envs[name] = service_env(seeds, root / f"index-{name}", args.query_cache, [], config)
            build(checkout, python, envs[name])
        rounds: dict[str, list[list[dict[str, Any]]]] = {name: [] for name in checkouts}
        for number in range(args.rounds):
            for name, (checkout, python) in checkouts.items():
                log = root / f"service-{name}-{number}.log"
                run = serve_and_load(args, envs[name], questions, log, checkout, python)
                rounds[name].append(run["levels"])
                figures = ", ".join(f"c{lv['concurrency']} {lv['rps']} req/s" for lv in run["levels"])
                print(f"round {number + 1}, {name} ({checkout.name}): {figures}", file=sys.stderr)
    print(
        f"this: {REPO}; against: {against}; {describe_machine()}; {args.rounds} rounds; "
        f"{args.docs if args.beir else 'seed'} documents; query cache {args.query_cache}"
    )
    rows = report(rounds, levels)
    if args.json:
        write_json(args.json, {"rounds": rounds, "comparison": rows, "machine": machine()})
    return 1 if any(level["errors"] for runs in rounds.values() for run in runs for level in run) else 0


if __name__ == "__main__":
    sys.exit(main())
