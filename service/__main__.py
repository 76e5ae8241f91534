"""python -m service: serve the index over HTTP (or the MCP tools over stdio: mcp).

The service starts whether or not a snapshot has been published: /health answers at once, /ready
answers 503 until python -m indexer build publishes one, which is then picked up."""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import socket
import sys

# One OpenMP thread per search (torch, faiss) unless the operator says otherwise: searches already run
# in parallel on worker threads, and an OpenMP team per worker thread oversubscribes the CPUs (on 2
# cores one search took ~490 ms instead of ~16 ms). Set before torch or faiss is loaded.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from indexer.errors import IndexerError, NoSnapshotError
from indexer.snapshot import check_queryable, current_dir, read_manifest
from service.runtime import listener
from service.runtime.observability import configure_logging
from service.settings import AppSettings, load_app_settings, with_address

MAX_WORKERS = 256


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m service", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", help="config file (default: $CITESEARCH_CONFIG or ./config.yaml)")
    parser.add_argument("--host", help="address to listen on (overrides service.host)")
    parser.add_argument(
        "--port",
        type=int,
        help="port to listen on (overrides service.port; links in answers, over HTTP and over stdio MCP, "
        "follow it unless integrations.public_base_url is set)",
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="serve with N processes on one listening socket (POSIX), each its own model, sharing "
        "the memory-mapped index; default 1 (docs/deployment.md)",
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=["serve", "mcp", "keys"],
        default="serve",
        help="serve: HTTP on host:port (the default); mcp: MCP over stdin/stdout, for desktop assistants; "
        "keys new: print a new random API key and its sha256 (for auth.keys)",
    )
    parser.add_argument("action", nargs="?", choices=["new"], help=argparse.SUPPRESS)
    return parser


def _new_key() -> int:
    """Print a new random key (256 bits) and the line of ``auth.keys`` that accepts it."""
    key = secrets.token_urlsafe(32)
    digest = hashlib.sha256(key.encode("ascii")).hexdigest()
    print(f"key:    {key}")
    print(f"sha256: {digest}")
    print("give the key to its holder; config.yaml keeps only the sha256:", file=sys.stderr)
    entry = f'{{name: NAME, sha256: "{digest}", collections: {{default: [search]}}}}'
    print(f"  auth: {{keys: [{entry}]}}", file=sys.stderr)
    return 0


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"expected a number of processes from 1 to {MAX_WORKERS}, got {text!r}"
        )
    return value


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "keys" or args.action is not None:
        if args.command != "keys" or args.action != "new":
            parser.error("use: python -m service keys new")
        return _new_key()
    try:
        settings = with_address(load_app_settings(args.config), host=args.host, port=args.port)
        _refuse_other_model(settings)
        if args.command == "mcp":
            from service.integrations.mcp import run_stdio

            _say_where_links_point(settings)
            run_stdio(settings)  # stdout carries the protocol; warnings and errors go to stderr
            return 0
        sock = listener.inherited() or listener.bind(settings.service.host, settings.service.port)
    except (IndexerError, listener.ListenError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # Port 0: the one the kernel picked, in links and logs.
    settings = with_address(settings, port=listener.bound_port(sock))
    if args.workers > 1:
        return _supervise(parser, settings, args.workers, sys.argv[1:] if argv is None else argv, sock)
    _serve(settings, sock)
    return 0


def _supervise(
    parser: argparse.ArgumentParser, settings: AppSettings, workers: int, argv: list[str], sock: socket.socket
) -> int:
    """Run ``workers`` service processes on ``sock`` (:mod:`service.runtime.replicas`)."""
    if sys.platform == "win32":
        parser.error("--workers needs a POSIX system (the workers inherit the listening socket)")
    configure_logging(settings.service.log_level, settings.observability.log_format)
    from service.runtime.replicas import Supervisor, worker_command

    try:
        return Supervisor(worker_command(argv), workers, sock).run()
    finally:
        listener.close(sock)


def _say_where_links_point(settings: AppSettings) -> None:
    """Over stdio the HTTP service's address is not known: links are built from the configuration,
    exactly as the HTTP service builds them. Say so on stderr (the MCP client's log) when they rest on
    ``service.host``/``service.port`` rather than ``integrations.public_base_url``."""
    if not settings.integrations.public_base_url:
        print(
            f"citation links point at {settings.public_url} (service.host and service.port); if "
            "python -m service listens elsewhere, give both the same --port or set "
            "integrations.public_base_url",
            file=sys.stderr,
            flush=True,
        )


def _refuse_other_model(settings: AppSettings) -> None:
    """Fail fast, before the model loads, when the published snapshot was built with another model
    than the configured one (its manifest says so; the files are verified when it is opened). No
    snapshot yet is fine: the service starts and serves the first one published."""
    for name in settings.collection_names:
        try:
            directory = current_dir(settings.collection(name).index_dir)
        except NoSnapshotError:
            continue
        manifest = read_manifest(directory)
        check_queryable(manifest.snapshot_id, manifest.model, settings.model, None)


def _serve(settings: AppSettings, sock: socket.socket) -> None:
    service = settings.service
    configure_logging(service.log_level, settings.observability.log_format)

    from service.app import create_app
    from service.runtime.serving import run

    run(create_app(settings), service, sock)


if __name__ == "__main__":
    sys.exit(main())
