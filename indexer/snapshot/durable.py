"""Durable writes, as the snapshot publish does them: a file written beside its place, fsynced and
renamed over it, then its folder fsynced, so that no reader sees half a file and a crash keeps either
the old file or the new one."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make the entries of folder ``path`` (files created, renamed or removed in it) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(path: Path, data: bytes, *, staged: Path | None = None) -> None:
    """Put ``data`` at ``path`` atomically and durably. ``staged`` is where it is written first (in
    the same folder; a hidden name of its own by default); raises :class:`OSError`."""
    staged = staged or path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with staged.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
