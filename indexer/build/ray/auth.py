"""Ray's token authentication for a build that connects to a running cluster (``--ray auto`` or
``ray://``): the build sends the cluster's token when it is where Ray looks for it, and says in one line
how to give it when the cluster refuses the connection.

Ray reads the token from ``RAY_AUTH_TOKEN``, else the file ``RAY_AUTH_TOKEN_PATH`` names, else
``~/.ray/auth_token``, but sends it only in token mode (``RAY_AUTH_MODE=token``). A cluster started with
``ray start --head`` where a token exists runs in token mode, while Ray turns the mode on for a client
only when it finds the cluster on its own (no ``RAY_ADDRESS``, no ``ray://``). The build turns it on,
unless ``RAY_AUTH_MODE`` is set, when a token is given in ``RAY_AUTH_TOKEN`` or ``RAY_AUTH_TOKEN_PATH``,
or, for ``--ray auto`` (a node of the cluster), in ``~/.ray/auth_token``. Not for ``ray://`` from that
file alone: a local ``ray.init()`` (``--ray local``) leaves one there, and a client in token mode fails
on a cluster that runs without token authentication."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

from indexer.errors import DistributedBuildError

MODE = "RAY_AUTH_MODE"
TOKEN = "RAY_AUTH_TOKEN"
TOKEN_PATH = "RAY_AUTH_TOKEN_PATH"
DEFAULT_FILE = "~/.ray/auth_token"
HOW = (
    f"give the cluster's token (`ray get-auth-token` on its head node) in {TOKEN}, in a file named by "
    f"{TOKEN_PATH}, or in {DEFAULT_FILE}"
)
_REFUSED = ("InvalidAuthToken", "Unauthenticated", "UNAUTHENTICATED", "authentication token")


def token_source(environ: MutableMapping[str, str], *, home: bool = True) -> str | None:
    """Where Ray will read the token from, in Ray's order (None: nowhere; ``home``: ``~/.ray/auth_token``
    counts). A ``RAY_AUTH_TOKEN_PATH`` that cannot be read is a :class:`DistributedBuildError` (Ray would
    abort the process)."""
    if environ.get(TOKEN, "").strip():
        return TOKEN
    named = environ.get(TOKEN_PATH, "")
    if named:
        try:
            text = Path(named).expanduser().read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise DistributedBuildError(
                f"{TOKEN_PATH}={named}: cannot read the Ray token file ({exc.strerror or exc})"
            ) from exc
        if not text.strip():
            raise DistributedBuildError(f"{TOKEN_PATH}={named}: the Ray token file is empty")
        return f"{TOKEN_PATH} ({named})"
    if not home:
        return None
    default = Path(environ.get("HOME") or Path.home()) / ".ray" / "auth_token"
    return DEFAULT_FILE if default.is_file() and default.stat().st_size else None


def use_token(*, home: bool, environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Token mode on for this process's connection when ``RAY_AUTH_MODE`` is unset and a token is
    given (``home``: ``~/.ray/auth_token`` counts); returns where the token comes from, or None when
    none is sent."""
    mode = environ.get(MODE, "").strip().lower()
    if mode == "token":
        return token_source(environ)
    source = token_source(environ, home=home) if not mode else None
    if source is None:
        return None
    environ[MODE] = "token"
    _reload_ray_config()
    return source


def _reload_ray_config() -> None:
    """Ray reads its mode once, when it is first imported: read it again (as ``ray start`` does when it
    turns token mode on)."""
    from ray._raylet import Config  # type: ignore[attr-defined]

    Config.initialize("")


def refused(text: str) -> bool:
    """Whether Ray's error (or what it printed) says the cluster refused the connection's token."""
    return any(word in text for word in _REFUSED)


def refusal(address: str, environ: MutableMapping[str, str] = os.environ) -> str:
    """The one-line error for a cluster that refused the build's connection for its token."""
    mode = environ.get(MODE, "").strip().lower()
    if mode and mode != "token":
        return (
            f"cannot connect to Ray at {address}: the cluster requires a token but {MODE} is {mode!r} "
            f"here: unset it or set it to token, and {HOW}"
        )
    source = None if mode != "token" else _quiet_source(environ)
    if source is None and _quiet_source(environ) == DEFAULT_FILE:
        return (
            f"cannot connect to Ray at {address}: the cluster requires a token: set {MODE}=token to send the "
            f"one in {DEFAULT_FILE}, or {HOW}"
        )
    if source is None:
        return f"cannot connect to Ray at {address}: the cluster requires a token and none was found: {HOW}"
    return f"cannot connect to Ray at {address}: the cluster refused the token from {source}: {HOW}"


def _quiet_source(environ: MutableMapping[str, str]) -> str | None:
    try:
        return token_source(environ)
    except DistributedBuildError:
        return None


def job_hint(environ: MutableMapping[str, str] = os.environ) -> str:
    """A suffix for a job that failed after connecting in token mode: on a cluster that runs without
    token authentication, Ray accepts such a driver and then loses its actors."""
    if environ.get(MODE, "").strip().lower() != "token":
        return ""
    return (
        f"; the build sent a Ray token: if the cluster runs without token authentication, set {MODE}=disabled"
    )
