"""Which Ray cluster ``--ray ADDRESS`` means, and whether Ray and Ray Data's pyarrow are installed
(checked without importing them)."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass

from indexer.errors import RayUnavailableError

INSTALL_HINT = "pip install -e '.[ray]' (or pip install 'ray[data]')"
_CLIENT = re.compile(r"ray://[^\s/:]+(:\d{1,5})?")


@dataclass(frozen=True, slots=True)
class RayTarget:
    address: str
    """``auto``, ``local`` or ``ray://host:port``."""

    @property
    def local(self) -> bool:
        """Whether the build starts its own Ray in this process (and stops it afterwards)."""
        return self.address == "local"


def parse_target(address: str) -> RayTarget:
    """``auto`` (the cluster this machine belongs to), ``local`` (a Ray started in this process) or
    ``ray://host:port`` (a cluster's Ray Client server); anything else is a :class:`RayUnavailableError`."""
    address = address.strip()
    if address in ("auto", "local") or _CLIENT.fullmatch(address):
        return RayTarget(address)
    raise RayUnavailableError(
        f"--ray {address!r}: expected auto (a running cluster), local (start Ray here) or ray://host:port"
    )


def require_ray() -> None:
    """:class:`RayUnavailableError`, saying how to install it, unless Ray (with Ray Data's pyarrow) is
    installed."""
    if any(importlib.util.find_spec(name) is None for name in ("ray", "pyarrow")):
        raise RayUnavailableError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}")
