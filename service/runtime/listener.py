"""The service's listening socket: bound once, by the process that starts first, and owned by it.

It is bound without ``SO_REUSEPORT``, so a port another process listens on is an error at start (not a
second server silently sharing the port), and with ``--workers N`` the supervisor binds it and hands
it to every worker (as gunicorn does): the workers accept from one kernel queue, so connections
waiting to be accepted are not lost with a worker that dies, only the requests it was answering.

A worker finds the socket as the file descriptor named by ``CITESEARCH_LISTEN_FD`` (inherited from its
supervisor; any process manager may hand one over the same way).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket

LISTEN_FD_ENV = "CITESEARCH_LISTEN_FD"
BACKLOG = 2048
"""Connections the kernel keeps waiting to be accepted (the server accepts at most
``service.max_connections`` at once per process)."""


class ListenError(Exception):
    """The service cannot listen where it was told to (a port in use, an address not on this machine);
    the message names the address and the reason, on one line."""


def address(host: str, port: int) -> str:
    """``host:port`` as written in a URL (``[::1]:8000`` for IPv6)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind(host: str, port: int, backlog: int = BACKLOG) -> socket.socket:
    """A TCP socket listening on ``host``:``port`` (port 0: one the kernel picks). ``SO_REUSEADDR`` lets
    a restarted service take its port back from connections still closing, never from a listener."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen on {address(host, port)}: {exc.strerror}") from None
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(sockaddr)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        reason = "the port is in use by another process" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise ListenError(f"cannot listen on {address(host, port)}: {reason}") from None
    return sock


def inherited(environ: dict[str, str] | None = None) -> socket.socket | None:
    """The listening socket named by ``CITESEARCH_LISTEN_FD``, if set (it must be one)."""
    value = (os.environ if environ is None else environ).get(LISTEN_FD_ENV)
    if value is None:
        return None
    try:
        sock = socket.socket(fileno=int(value))
    except (ValueError, OSError) as exc:
        raise ListenError(f"{LISTEN_FD_ENV}={value!r} is not an open socket: {exc}") from None
    if sock.type != socket.SOCK_STREAM or not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        sock.detach()
        raise ListenError(f"{LISTEN_FD_ENV}={value!r} is not a listening TCP socket")
    return sock


def bound_port(sock: socket.socket) -> int:
    """The port ``sock`` listens on (the one the kernel picked, for port 0)."""
    return int(sock.getsockname()[1])


def close(sock: socket.socket) -> None:
    """Stop listening (connections still waiting to be accepted are refused)."""
    with contextlib.suppress(OSError):
        sock.close()
