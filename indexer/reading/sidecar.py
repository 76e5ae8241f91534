"""Metadata sidecars: ``<file>.meta.json`` beside a document holds a JSON object whose keys are
merged over the document's own metadata (front matter, PDF info, HTML meta) when it is read. Uploads
over HTTP keep their metadata there, so the source folder alone rebuilds the same index. A sidecar
is never a document; one larger than ``reading.max_front_matter_kb`` (the bound of front matter) or
not a JSON object makes its document skipped, with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from indexer.errors import UnreadableDocumentError

SIDECAR_SUFFIX = ".meta.json"


def is_sidecar(path: Path) -> bool:
    return path.name.lower().endswith(SIDECAR_SUFFIX)


def sidecar_path(document: Path) -> Path:
    """Where ``document``'s metadata sidecar is (whether or not there is one)."""
    return document.with_name(document.name + SIDECAR_SUFFIX)


def sidecar_bytes(path: Path, max_bytes: int) -> bytes | None:
    """The sidecar at ``path`` (None: there is none); :class:`UnreadableDocumentError` when it is
    larger than ``max_bytes`` or cannot be read."""
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UnreadableDocumentError(f"its metadata sidecar cannot be read ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:
        raise UnreadableDocumentError(
            f"its metadata sidecar is larger than reading.max_front_matter_kb ({max_bytes // 1024} KB)"
        )
    return data


def parse_sidecar(data: bytes) -> dict[str, Any]:
    """A sidecar's JSON object; :class:`UnreadableDocumentError` if it is not one."""
    try:
        found = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnreadableDocumentError(f"its metadata sidecar is not valid JSON ({exc})") from exc
    if not isinstance(found, dict):
        raise UnreadableDocumentError("its metadata sidecar is not a JSON object")
    return found


def read_sidecar(document: Path, max_bytes: int = 1 << 20) -> dict[str, Any]:
    """``document``'s sidecar metadata ({} when it has none)."""
    data = sidecar_bytes(sidecar_path(document), max_bytes)
    return {} if data is None else parse_sidecar(data)
