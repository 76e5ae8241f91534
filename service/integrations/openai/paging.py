"""OpenAI's cursor pagination (``limit``, ``order``, ``after``, ``before``) over a list sorted by id."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

Order = Literal["asc", "desc"]
T = TypeVar("T")


def window(
    items: Sequence[T],
    id_of: Callable[[T], str],
    *,
    order: Order,
    after: str | None,
    before: str | None,
    limit: int,
    span: Callable[[str], tuple[str, str]] = lambda cursor: (cursor, cursor),
) -> tuple[list[T], bool]:
    """The page of ``items`` (sorted by id, ascending) a request asks for, and whether more follow
    (``before``: whether more come before it). ``span`` gives the ids a cursor's object may have (the
    lowest and highest): an object is after a cursor when its id is above the highest, in ascending
    order. ``after``: the ``limit`` items just after it; ``before``: the ``limit`` items just before."""
    ordered = list(items) if order == "asc" else list(reversed(items))

    def beyond(item: T, cursor: str) -> bool:
        low, high = span(cursor)
        return id_of(item) > high if order == "asc" else id_of(item) < low

    def short_of(item: T, cursor: str) -> bool:
        low, high = span(cursor)
        return id_of(item) < low if order == "asc" else id_of(item) > high

    if after is not None:
        ordered = [item for item in ordered if beyond(item, after)]
    if before is not None:
        ordered = [item for item in ordered if short_of(item, before)]
        return ordered[-limit:], len(ordered) > limit
    return ordered[:limit], len(ordered) > limit
