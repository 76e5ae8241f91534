"""Which Ray cluster ``--ray ADDRESS`` means, and whether Ray and Ray Data's pyarrow (and for ``ray://``,
Ray Client's gRPC) are installed (checked without importing them)."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass

from indexer.errors import RayUnavailableError

INSTALL_HINT = "pip install -e '.[ray]' (or pip install 'ray[data,client]')"
_CLIENT = re.compile(r"ray://[^\s/:]+(:\d{1,5})?")


@dataclass(frozen=True, slots=True)
class RayTarget:
    address: str
    """``auto``, ``local`` or ``ray://host:port``."""

    @property
    def local(self) -> bool:
        """Whether the build starts its own Ray in this process (and stops it afterwards)."""
        return self.address == "local"

    @property
    def client(self) -> bool:
        """Whether the build connects through the cluster's Ray Client server (``ray://``)."""
        return self.address.startswith("ray://")

    def describe(self, environ: Mapping[str, str]) -> str:
        """The address for messages: ``auto`` says which cluster ``RAY_ADDRESS`` names."""
        named = environ.get("RAY_ADDRESS", "").strip()
        return f"auto (RAY_ADDRESS={named})" if self.address == "auto" and named else self.address


def parse_target(address: str) -> RayTarget:
    """``auto`` (the cluster this machine belongs to), ``local`` (a Ray started in this process) or
    ``ray://host:port`` (a cluster's Ray Client server); anything else, or ``ray://`` without Ray Client
    installed, is a :class:`RayUnavailableError`."""
    address = address.strip()
    if address in ("auto", "local") or _CLIENT.fullmatch(address):
        target = RayTarget(address)
        require_client(target)
        return target
    raise RayUnavailableError(
        f"--ray {address!r}: expected auto (a running cluster), local (start Ray here) or ray://host:port"
    )


def require_ray() -> None:
    """:class:`RayUnavailableError`, saying how to install it, unless Ray (with Ray Data's pyarrow) is
    installed."""
    if any(importlib.util.find_spec(name) is None for name in ("ray", "pyarrow")):
        raise RayUnavailableError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}")


def require_client(target: RayTarget) -> None:
    """:class:`RayUnavailableError`, saying how to install it, when ``target`` is a ``ray://`` address
    and Ray Client's gRPC is not installed (Ray's own error names only ``ray[client]``)."""
    if target.client and importlib.util.find_spec("grpc") is None:
        raise RayUnavailableError(
            f"--ray {target.address} connects through Ray Client, which is not installed: {INSTALL_HINT}"
        )
