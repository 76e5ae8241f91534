"""The HTTP server of ``python -m service``: granian, run inside this process, with limits that hold
before a request reaches the application.

granian (hyper) answers 431 to a request head that fills its read buffer of
``service.max_header_bytes`` (to the byte: :mod:`service.admission.head_size`) or has more than 100
headers, closes a connection whose head is not complete within
``service.header_timeout_seconds``, and serves at most ``service.max_connections`` connections at once
(more wait in the kernel's accept queue): none of these can be enforced from inside an ASGI app,
which only sees a request once its head is parsed. Only HTTP/1.1 is spoken (HTTP/2's header limits
are looser). It serves on a socket bound by :mod:`service.runtime.listener`, not one of its own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import signal
import socket
import sys
from typing import Any

from service.runtime import listener
from service.settings import ServiceSettings

log = logging.getLogger(__name__)

FD_RESERVE = 256
"""Open files kept for the process's own use (index files, model, logs) below the connection cap."""

GIL_SWITCH_INTERVAL_SECONDS = 0.0005
"""How long a thread holding the GIL runs before one waiting for it is let in (Python's default: 5 ms).
granian's I/O threads need the GIL to hand every request to the event loop and every answer back, while
a worker thread searches; with 5 ms each hand-off could wait up to 5 ms. Measured with
``python -m bench.load_compare`` (1,000 SciFact documents, query cache off, two rounds): 0.5 ms served
22% more requests per second at concurrency 1 and 30% more at 16 than the default, p95 at 1 went from
14.1 to 10.4 ms; 0.1 ms gained at 1 and lost at 16 against 0.5 ms (docs/performance.md)."""


def raise_fd_limit() -> int:
    """Raise the soft limit on open files to the hard limit where allowed; the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = 1_048_576 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d: %s", soft, exc)
    return soft


def connection_cap(settings: ServiceSettings, open_files: int) -> int:
    """``service.max_connections``, lowered to stay below the open-file limit."""
    cap = max(1, min(settings.max_connections, open_files - FD_RESERVE))
    if cap < settings.max_connections:
        log.warning(
            "serving at most %d connections at once (service.max_connections is %d, the open-file limit %d)",
            cap,
            settings.max_connections,
            open_files,
        )
    return cap


class _QuietExperimental(logging.Filter):
    """granian's embedded mode says it is experimental at every start; say it once, in the docs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "experimental" not in record.getMessage()


def _embedded_server() -> type[Any]:
    """granian's embedded server, serving on a socket this process already listens on."""
    from granian import _granian
    from granian.server.embed import Server

    holder: Any = _granian.SocketHolder  # its stub declares no constructor: (fd, uds[, backlog])

    class ListeningServer(Server):
        """granian binds its own socket with ``SO_REUSEPORT`` on Linux (any number of servers share a
        port, each with its own accept queue); this one takes the listening socket it is given. granian
        2 has no public way to pass one: ``_init_shared_socket`` is where it makes its own."""

        listening: socket.socket

        def _init_shared_socket(self) -> None:
            fd = os.dup(self.listening.fileno())  # granian's to close when its worker stops
            backlog = (listener.BACKLOG,) if sys.platform.startswith(("linux", "freebsd")) else ()
            shared: Any = self
            shared._ssp = None
            shared._shd = holder(fd, False, *backlog)
            shared._sfd = fd

        async def shutdown(self, exit_code: int = 0) -> None:
            await super().shutdown(exit_code)  # type: ignore[no-untyped-call]
            listener.close(self.listening)

    return ListeningServer


def server(app: Any, settings: ServiceSettings, *, sock: socket.socket | None = None) -> Any:
    """A granian server for ``app`` (not started) with the service's limits, serving on ``sock`` (default:
    a socket bound now on ``service.host``:``service.port``; :class:`listener.ListenError` if it cannot
    be). The server closes the socket when it stops."""
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings

    listening = listener.bind(settings.host, settings.port) if sock is None else sock
    handlers = logging.getLogger().handlers[:]
    embedded = _embedded_server()(
        app,
        address=settings.host,
        port=listener.bound_port(listening),
        interface=Interfaces.ASGI,
        http=HTTPModes.http1,
        websockets=False,
        backlog=listener.BACKLOG,
        backpressure=connection_cap(settings, raise_fd_limit()),
        http1_settings=HTTP1Settings(
            header_read_timeout=round(settings.header_timeout_seconds * 1000),
            keep_alive=True,
            max_buffer_size=settings.max_header_bytes,
        ),
        log_enabled=True,
        log_level=settings.log_level,
        log_dictconfig={"handlers": {}, "loggers": {"_granian": {"handlers": [], "propagate": True}}},
    )
    embedded.listening = listening
    # granian configures logging when built; the service's handler (JSON lines) stays the one in use.
    logging.getLogger().handlers[:] = handlers
    logging.getLogger("_granian").addFilter(_QuietExperimental())
    return embedded


async def serve(app: Any, settings: ServiceSettings, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until SIGINT or SIGTERM, then finish the requests in flight and run the
    shutdown."""
    embedded = server(app, settings, sock=sock)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, embedded.stop)
    await embedded.serve()


def run(app: Any, settings: ServiceSettings, sock: socket.socket) -> None:
    """Serve on ``sock`` (a listening socket, from :mod:`service.runtime.listener`) on uvloop (asyncio's
    loop if it is missing)."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux and macOS
        asyncio.run(serve(app, settings, sock))
    else:
        uvloop.run(serve(app, settings, sock))
