"""``python -m indexer``: build the index snapshot from the seeds folder, or inspect it."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import msgspec

from indexer.config import Settings, load_settings
from indexer.errors import IndexerError
from indexer.snapshot import current_dir, open_current


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m indexer", description=__doc__)
    parser.add_argument("--config", help="config file (default: $CITESEARCH_CONFIG or ./config.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser(
        "build",
        help="build or incrementally update the index from the seeds folder",
        description="Chunk and embed new or changed documents (unchanged ones are reused), drop deleted "
        "ones, and publish a new snapshot atomically. Does nothing if the index is up to date.",
    )
    build.add_argument("--force", action="store_true", help="re-embed every document")
    build.add_argument("--no-progress", action="store_true", help="hide progress bars")
    inspect = commands.add_parser("inspect", help="print what the current snapshot holds")
    inspect.add_argument("--json", action="store_true", help="print the full manifest as JSON")
    inspect.add_argument("--documents", action="store_true", help="list every document")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(args.config)
        if args.command == "build":
            return _build(settings, force=args.force, progress=not args.no_progress)
        return _inspect(settings, as_json=args.json, documents=args.documents)
    except IndexerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _build(settings: Settings, *, force: bool, progress: bool) -> int:
    from indexer.builder import Builder

    report = Builder(settings, progress=progress and sys.stderr.isatty()).build(force=force)
    if not report.published:
        print(
            f"index is up to date: snapshot {report.snapshot_id}, {report.documents} documents, "
            f"{report.chunks} chunks ({report.seconds:.2f}s)"
        )
        return 0
    print(
        f"published snapshot {report.snapshot_id}: {report.documents} documents, {report.chunks} chunks; "
        f"embedded {report.embedded_documents} documents ({report.embedded_chunks} chunks), reused "
        f"{report.reused_documents}, removed {report.deleted_documents}, skipped {len(report.skipped)} "
        f"in {report.seconds:.2f}s"
    )
    for doc_id, reason in report.skipped.items():
        print(f"  skipped {doc_id}: {reason}")
    return 0


def _inspect(settings: Settings, *, as_json: bool, documents: bool) -> int:
    snapshot = open_current(settings.index_dir)
    manifest = snapshot.manifest
    if as_json:
        print(msgspec.json.format(msgspec.json.encode(manifest), indent=2).decode())
        return 0
    rows = [
        ("snapshot", f"{manifest.snapshot_id} ({current_dir(settings.index_dir)})"),
        ("created", manifest.created_at),
        ("seeds", manifest.seeds_dir),
        ("model", f"{manifest.model.name} ({manifest.model.source}), dim {manifest.model.dimension}, "
                  f"max {manifest.model.max_seq_length} tokens, normalised, {manifest.model.metric}"),
        ("chunking", f"{manifest.chunking.encoding}, max {manifest.chunking.max_tokens} tokens, overlap "
                     f"{manifest.chunking.overlap_tokens}"),
        ("index", f"{manifest.index.type}, {manifest.index.vectors} vectors"),
        ("documents", str(manifest.counts.documents)),
        ("chunks", str(manifest.counts.chunks)),
        ("skipped", str(manifest.counts.skipped)),
        ("build time", f"{manifest.build_seconds:.2f}s"),
        ("versions", ", ".join(f"{k} {v}" for k, v in sorted(manifest.versions.items()))),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    if documents:
        print()
        for record in snapshot.store.iter_documents():
            print(f"{record.doc_id}\t{record.chunk_count} chunks\t{record.date or '-'}\t{record.title}")
    for doc_id, entry in manifest.skipped.items():
        print(f"skipped {doc_id}: {entry.reason}")
    snapshot.close()
    return 0
