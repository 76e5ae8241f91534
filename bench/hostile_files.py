"""What each hostile file of tests/security/test_hostile_files.py costs to read: wall time and peak
resident memory of a fresh process that reads it with ``parse_document`` (no worker budget: the
readers' own cost), and the outcome. Then the per-file overhead of reading through the budgeted
worker pool (:mod:`indexer.reading.budget`) against reading in the build's own process, on small
documents. Run from the repository root, under the heavy-job lock:

    flock /tmp/heavy.lock python -m bench.hostile_files [--docs 1000] [--code DIR]

``--code DIR``: read with the ``indexer`` package found in DIR (another checkout, to compare). Each
file's process is capped at ``--cap-seconds`` (60) and ``--cap-mb`` (4,096 MB of address space) so an
unfixed reader cannot take the machine: a capped file reports ``capped``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.security.test_hostile_files import write_hostile_seeds

CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading import documents
root, path = Path(sys.argv[2]), Path(sys.argv[3])
started = time.perf_counter()
try:
    source = documents.load_source(root, path, ReadingSettings())
    outcome = f"read, {len(documents.parse_document(source, 'x', ReadingSettings()).text)} characters"
except UnreadableDocumentError as exc:
    outcome = f"skipped: {exc}"
except Exception as exc:
    outcome = f"failed: {type(exc).__name__}"
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "outcome": outcome[:90]}))
"""


def read_one(code: Path, root: Path, path: Path, cap_seconds: float, cap_mb: int) -> dict[str, object]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap_mb * 2**20, cap_mb * 2**20))

    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(code), str(root), str(path)],
            capture_output=True,
            timeout=cap_seconds,
            preexec_fn=limit,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": cap_seconds, "peak_mb": None, "outcome": f"capped: over {cap_seconds:g} s"}
    lines = done.stdout.decode().strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"seconds": None, "peak_mb": None, "outcome": f"capped: died ({done.returncode})"}
    return dict(json.loads(lines[-1]))


def hostile(args: argparse.Namespace, root: Path) -> None:
    seeds = write_hostile_seeds(root)
    print(f"{'file':<24} {'seconds':>8} {'peak MB':>8}  outcome")
    for path in sorted(seeds.iterdir()):
        if path.is_symlink() or not path.is_file():
            continue  # links and FIFOs are not opened: nothing to measure
        found = read_one(args.code, seeds, path, args.cap_seconds, args.cap_mb)
        seconds = "-" if found["seconds"] is None else f"{found['seconds']:.2f}"
        peak = "-" if found["peak_mb"] is None else f"{found['peak_mb']:.0f}"
        name = os.fsencode(path.name).decode("utf-8", "backslashreplace").encode("unicode_escape").decode()
        print(f"{name[:24]:<24} {seconds:>8} {peak:>8}  {found['outcome']}")


def overhead(docs: int, root: Path) -> None:
    """Seconds to read ``docs`` small Markdown notes in this process and through the pool."""
    from indexer.config import ReadingSettings
    from indexer.reading.budget import ReadingPool
    from indexer.reading.documents import load_sources, parse_document

    folder = root / "small"
    folder.mkdir()
    for n in range(docs):
        (folder / f"note-{n:05d}.md").write_text(
            f"# Note {n}\n\nThe lamp room is inspected every morning, shift {n}, before the first ferry.\n"
        )
    limits = ReadingSettings()
    sources = load_sources(folder, limits)
    started = time.perf_counter()
    for source in sources:
        parse_document(source, source.doc_id, limits)
    inline = time.perf_counter() - started
    started = time.perf_counter()
    with ReadingPool(limits) as pool:
        first = next(iter(pool.read([(sources[0], sources[0].doc_id, None)])))
        ready = time.perf_counter() - started
        assert not isinstance(first, str)
        started = time.perf_counter()
        for outcome in pool.read((s, s.doc_id, None) for s in sources):
            assert not isinstance(outcome, str)
        pooled = time.perf_counter() - started
    print(
        f"\n{docs} small Markdown notes: read in this process {inline:.2f} s ({inline / docs * 1e3:.2f} ms a "
        f"note); through the worker pool {pooled:.2f} s ({pooled / docs * 1e3:.2f} ms a note), plus "
        f"{ready:.2f} s to start its worker"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--docs", type=int, default=1000, help="small notes for the pool's overhead (0: skip)"
    )
    parser.add_argument("--code", type=Path, default=Path.cwd(), help="folder holding the indexer package")
    parser.add_argument("--cap-seconds", type=float, default=60)
    parser.add_argument("--cap-mb", type=int, default=4096)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hostile(args, Path(tmp))
        if args.docs:
            overhead(args.docs, Path(tmp))


if __name__ == "__main__":
    main()
