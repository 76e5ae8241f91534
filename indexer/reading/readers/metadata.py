"""Metadata values as the index keeps them: JSON scalars and lists of scalars, dates as ISO strings."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

from indexer.reading.readers.base import MetaScalar, MetaValue

MAX_KEYS = 100
"""Metadata keys kept per document (the first ones)."""
MAX_VALUE_CHARS = 2000
"""Longer strings are cut."""
MAX_LIST = 100
"""List items kept per value."""
_ISO_DATE = re.compile(r"\A\s*(\d{4})-(\d{2})-(\d{2})(?:$|[T ]|\s)")


def iso_date(value: Any) -> str | None:
    """``YYYY-MM-DD`` from a date, a datetime, or a string starting with an ISO date; else None."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        match = _ISO_DATE.match(value)
        if match:
            try:
                return dt.date(int(match[1]), int(match[2]), int(match[3])).isoformat()
            except ValueError:
                return None
    return None


def scalar(value: Any) -> MetaScalar | None:
    """A JSON scalar for ``value`` (dates as ISO strings); None for what is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)  # beyond float precision: kept as text
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str):
        value = value.strip()
        return value[:MAX_VALUE_CHARS] if value else None
    return None


def meta_value(value: Any) -> MetaValue | None:
    """A scalar, or a list of the scalars in ``value`` (None when nothing is left)."""
    if isinstance(value, list | tuple):
        items = [s for s in (scalar(v) for v in value[:MAX_LIST]) if s is not None]
        return items or None
    return scalar(value)


def flatten(mapping: Mapping[Any, Any], prefix: str = "", depth: int = 0) -> dict[str, MetaValue]:
    """``mapping``'s scalar and list values by key, nested mappings as ``outer.inner`` keys."""
    out: dict[str, MetaValue] = {}
    for raw_key, raw in mapping.items():
        key = f"{prefix}{str(raw_key).strip()}"
        if not key or len(out) >= MAX_KEYS:
            continue
        if isinstance(raw, Mapping):
            if depth < 3:
                for inner, value in flatten(raw, f"{key}.", depth + 1).items():
                    if len(out) < MAX_KEYS:
                        out[inner] = value
            continue
        found = meta_value(raw)
        if found is not None:
            out[key] = found
    return out
