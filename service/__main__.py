"""``python -m service``: serve the current index snapshot over HTTP (or MCP over stdio: ``mcp``)."""

from __future__ import annotations

import argparse
import os
import sys

# One OpenMP thread per search (torch, faiss) unless the operator says otherwise: searches already run
# in parallel on worker threads, and an OpenMP team per worker thread oversubscribes the CPUs (on 2
# cores one search took ~490 ms instead of ~16 ms). Set before torch or faiss is loaded.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from indexer.config import load_settings
from indexer.errors import IndexerError
from indexer.snapshot import open_current
from service.observability import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    parser.add_argument("--config", help="config file (default: $CITESEARCH_CONFIG or ./config.yaml)")
    parser.add_argument("--host", help="override service.host")
    parser.add_argument("--port", type=int, help="override service.port")
    parser.add_argument(
        "command",
        nargs="?",
        choices=["serve", "mcp"],
        default="serve",
        help="serve: HTTP on host:port (the default); mcp: MCP over stdin/stdout, for desktop assistants",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        # Fail fast, with a readable message, before the server starts.
        snapshot = open_current(settings.index_dir)
        snapshot.check_model(settings.model.name, variant=settings.model.variant)
        snapshot.close()
    except IndexerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.command == "mcp":
        from service.mcp_server import run_stdio

        run_stdio(settings)  # stdout carries the protocol; warnings and errors go to stderr
        return 0
    service = settings.service
    configure_logging(service.log_level, settings.observability.log_format)

    import uvicorn

    from service.app import create_app

    uvicorn.run(
        create_app(settings),
        host=args.host or service.host,
        port=args.port if args.port is not None else service.port,
        log_level=service.log_level,
        log_config=None,  # uvicorn's records go through our handler (JSON lines by default)
        access_log=False,  # the service writes its own access log, with request ids
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
