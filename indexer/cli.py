"""python -m indexer: build each collection's index snapshot from its seeds folder, keep it in step with
the folder as it changes, inspect one, or measure retrieval quality on a BEIR-format collection."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from indexer.config import MODES, Settings, load_settings
from indexer.embedding import Embedder, load_embedder
from indexer.errors import IndexerError
from indexer.reading.names import printable
from indexer.snapshot import Manifest, current_dir, open_current

if TYPE_CHECKING:
    from indexer.build import BuildReport


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
    build.add_argument(
        "--collection", metavar="NAME", help="build only this collection (default: every collection)"
    )
    build.add_argument("--force", action="store_true", help="re-embed every document")
    build.add_argument("--no-progress", action="store_true", help="hide progress bars")
    build.add_argument(
        "--allow-shrink",
        action="store_true",
        help="publish even if the build removes every served document, or more than index.max_shrink of them",
    )
    _add_ray_arguments(build)
    _add_watch_command(commands)
    inspect = commands.add_parser("inspect", help="print what a collection's current snapshot holds")
    inspect.add_argument(
        "--collection", metavar="NAME", help="the collection to inspect (default: default_collection)"
    )
    inspect.add_argument("--json", action="store_true", help="print the full manifest as JSON")
    inspect.add_argument(
        "--documents", action="store_true", help="list every document: format, chunks, date, title, metadata"
    )
    evaluate = commands.add_parser(
        "eval",
        help="measure retrieval quality on a BEIR-format collection",
        description="Index a BEIR collection (corpus.jsonl, queries.jsonl, qrels/<split>.tsv; title and "
        "text together) with this configuration, run every judged query through the service's query engine "
        "(a document scores its best chunk's score) and report nDCG@10, Recall@10, Recall@100 and MRR@10 "
        "(ranx: pip install -e '.[eval]'). The index is kept in a work folder per model and chunking "
        "settings, so later runs reuse its vectors.",
    )
    evaluate.add_argument("--dataset", required=True, type=Path, help="folder of a BEIR-format collection")
    evaluate.add_argument("--split", default="train", help="qrels split to score (default: train)")
    evaluate.add_argument(
        "--mode",
        action="append",
        choices=MODES,
        help="search mode to evaluate; repeat for several (default: dense, lexical and hybrid)",
    )
    evaluate.add_argument("--json", type=Path, help="also write the results to this JSON file")
    evaluate.add_argument(
        "--workdir",
        type=Path,
        help="folder for the corpus copy and its index (default: ~/.cache/citesearch/eval/<dataset>-<hash>"
        ", or under $CITESEARCH_EVAL_CACHE)",
    )
    evaluate.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def _add_watch_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``watch [--collection NAME]``."""
    watch = commands.add_parser(
        "watch",
        help="keep the index in step with the seeds folders: apply each change within seconds",
        description="Watch each collection's seeds folder (the operating system's change notifications) and "
        "apply added, changed and deleted documents (a document's .meta.json sidecar included) through the "
        "same incremental update as a build, within seconds. A file is read once it stops changing "
        "(watch.settle_seconds); a burst of changes goes into a few updates; what changed while nobody "
        "watched is applied first. Hidden files, editors' temporary files and the index folder are left "
        "out. One log line per update. Runs until Ctrl-C or SIGTERM (the update in progress is finished).",
    )
    watch.add_argument(
        "--collection",
        metavar="NAME",
        action="append",
        help="watch only this collection; repeat for several (default: every collection)",
    )


def _add_ray_arguments(build: argparse.ArgumentParser) -> None:
    """``build --ray ADDRESS`` and the options of a build on a Ray cluster."""
    build.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="read, chunk and embed on a Ray cluster: auto (the cluster this machine is part of), "
        "ray://host:port (a cluster's Ray Client address) or local (start Ray in this process); "
        "needs pip install -e '.[ray]'",
    )
    build.add_argument(
        "--ray-actors", type=_positive, metavar="N", help="embedding actors (overrides ray.actors)"
    )
    build.add_argument(
        "--ray-batch-size",
        type=_positive,
        metavar="N",
        help="chunks per call of an embedding actor (overrides ray.batch_size)",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(args.config)
        if args.command == "build":
            return _build(_with_ray(settings, args), args)
        if args.command == "eval":
            return _eval(settings, args)
        if args.command == "watch":
            return _watch(settings, args)
        _warn_legacy(settings)
        name = args.collection or settings.default_collection
        return _inspect(settings.collection(name), as_json=args.json, documents=args.documents)
    except IndexerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a folder or file the indexer cannot read or write
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1


def _announce(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _model(settings: Settings) -> Embedder:
    """The configured model; a first-time ONNX export (~15 s) gets its own line on stderr."""
    return load_embedder(settings.model, on_export=_announce)


def _with_ray(settings: Settings, args: argparse.Namespace) -> Settings:
    """``settings`` with ``--ray-actors`` and ``--ray-batch-size`` applied."""
    ray = settings.ray
    if args.ray_actors is not None:
        ray = msgspec.structs.replace(ray, actors=args.ray_actors)
    if args.ray_batch_size is not None:
        ray = msgspec.structs.replace(ray, batch_size=args.ray_batch_size)
    return msgspec.structs.replace(settings, ray=ray)


def _warn_legacy(settings: Settings) -> None:
    """Say so when ``index_dir`` still holds the index of a single-collection configuration, which
    ``collections`` does not read (it is left where it is, never deleted)."""
    if settings.legacy_index():
        folder = settings.index_dir
        target = folder / settings.default_collection
        print(
            f"note: {folder}/current is the index from before `collections` was set and is no longer "
            f"served; to keep it as collection {settings.default_collection!r}: mkdir {target} && "
            f"mv {folder}/current {folder}/snapshots {target}/",
            file=sys.stderr,
        )


def _shared_model(settings: Settings) -> Callable[[], Embedder]:
    """The configured model, loaded once (on first use) for every collection of one build."""
    loaded: list[Embedder] = []

    def model() -> Embedder:
        if not loaded:
            loaded.append(_model(settings))
        return loaded[0]

    return model


def _build(settings: Settings, args: argparse.Namespace) -> int:
    """Build the collection ``--collection`` names, or every one; a collection that fails is
    reported and the others are built all the same (exit status 1 if any failed)."""
    from indexer.build import Builder

    _warn_legacy(settings)
    names = (args.collection,) if args.collection else settings.collection_names
    chosen = [settings.collection(name) for name in names]  # an unknown name fails before any work
    several = bool(settings.collections)
    progress = not args.no_progress and sys.stderr.isatty()
    model = _shared_model(settings)
    failed = 0
    for name, collection in zip(names, chosen, strict=True):
        label = f"{name}: " if several else ""
        try:
            builder = Builder(collection, model, progress=progress, ray=args.ray)
            report = builder.build(force=args.force, allow_shrink=args.allow_shrink)
        except IndexerError as exc:
            if not several:
                raise
            print(f"{label}error: {exc}", file=sys.stderr)
            failed += 1
            continue
        _summary(label, report)
    if failed:
        print(f"{failed} of {len(names)} collections failed", file=sys.stderr)
    return 1 if failed else 0


def _watch(settings: Settings, args: argparse.Namespace) -> int:
    """Apply the changes of the named collections' seeds folders (every one by default) until stopped."""
    from indexer.watch.loop import WatchLoop, stop_on_signals

    _warn_legacy(settings)
    if not args.verbose:
        logging.getLogger("indexer.watch").setLevel(logging.INFO)  # one line per update, for people
    loop = WatchLoop(settings, args.collection or settings.collection_names, _shared_model(settings))
    with stop_on_signals(loop):
        try:
            return loop.run()
        except KeyboardInterrupt:  # a second Ctrl-C: the update in progress is cut short
            return 130


def _summary(label: str, report: BuildReport) -> None:
    formats = _formats(report.formats)
    if not report.published:
        print(
            f"{label}index is up to date: snapshot {report.snapshot_id}, {report.documents} documents"
            f"{formats}, {report.chunks} chunks, {len(report.skipped)} skipped ({report.seconds:.2f}s)"
        )
        return
    print(
        f"{label}published snapshot {report.snapshot_id}: {report.documents} documents{formats}, "
        f"{report.chunks} chunks; embedded {report.embedded_documents} documents ({report.embedded_chunks} "
        f"chunks), reused {report.reused_documents}, removed {report.deleted_documents}, skipped "
        f"{len(report.skipped)} in {report.seconds:.2f}s"
    )
    for doc_id, reason in report.skipped.items():
        print(f"  skipped {printable(doc_id)}: {printable(reason)}")


def _formats(counts: dict[str, int]) -> str:
    """`` (pdf 3, html 2)``: documents per format."""
    return f" ({', '.join(f'{name} {n}' for name, n in counts.items())})" if counts else ""


def _eval(settings: Settings, args: argparse.Namespace) -> int:
    from indexer.evaluation import evaluate, load_beir, require_ranx

    require_ranx()
    collection = load_beir(args.dataset, args.split)
    print(
        f"{collection.name} ({args.split}): {len(collection.queries)} judged queries, "
        f"{len(collection.corpus)} documents",
        file=sys.stderr,
    )
    report = evaluate(
        collection,
        settings,
        modes=args.mode or MODES,
        split=args.split,
        workdir=args.workdir,
        embedder_factory=lambda: _model(settings),
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    build = report.build
    how = (
        f"embedded {build.embedded_chunks} chunks, reused {build.reused_documents} documents"
        if build.published
        else "index up to date"
    )
    print(
        f"index: {report.documents} documents, {report.chunks} chunks in {report.workdir} "
        f"({how}, {build.seconds:.1f}s)"
    )
    retrieval = settings.retrieval
    print(
        f"model {settings.model.name} ({settings.model.variant}); chunks of {settings.chunking.max_tokens} "
        f"tokens, overlap {settings.chunking.overlap_tokens}; fusion {retrieval.fusion}; "
        f"candidates {retrieval.candidates}"
    )
    print()
    print(report.table())
    print(f"\ntotal {report.seconds:.1f}s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _fields(manifest: Manifest) -> str:
    """The metadata keys filters may use: ``author (string, 3 documents), tags (string list, ...)``."""
    return ", ".join(
        f"{key} ({info.type}{' list' if info.multiple else ''}, {info.documents} "
        f"document{'' if info.documents == 1 else 's'})"
        for key, info in manifest.fields.items()
    )


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
        (
            "model",
            f"{manifest.model.name} ({manifest.model.source}), variant {manifest.model.variant}, "
            f"dim {manifest.model.dimension}, "
            f"max {manifest.model.max_seq_length} tokens, normalised, {manifest.model.metric}",
        ),
        (
            "chunking",
            f"{manifest.chunking.encoding}, max {manifest.chunking.max_tokens} tokens, overlap "
            f"{manifest.chunking.overlap_tokens}",
        ),
        ("index", f"{manifest.index.type}, {manifest.index.vectors} vectors"),
        ("documents", f"{manifest.counts.documents}{_formats(manifest.counts.formats)}"),
        ("chunks", str(manifest.counts.chunks)),
        ("skipped", str(manifest.counts.skipped)),
        ("fields", _fields(manifest) or "-"),
        ("reading", ", ".join(f"{k} {v}" for k, v in msgspec.structs.asdict(manifest.reading).items())),
        ("build time", f"{manifest.build_seconds:.2f}s"),
        ("versions", ", ".join(f"{k} {v}" for k, v in sorted(manifest.versions.items()))),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {printable(value)}")
    if documents:
        print()
        for record in snapshot.store.iter_documents():
            metadata = msgspec.json.encode(dict(record.metadata)).decode() if record.metadata else "-"
            pages = f", {len(record.pages)} pages" if record.pages else ""
            date = record.date or "-"
            fields = (record.doc_id, record.format, f"{record.chunk_count} chunks{pages}", date, record.title)
            print("\t".join(printable(field) for field in (*fields, metadata)))
    for doc_id, entry in manifest.skipped.items():
        print(f"skipped {printable(doc_id)}: {printable(entry.reason)}")
    snapshot.close()
    return 0
