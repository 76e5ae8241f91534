"""YAML front matter (``---`` ... ``---`` at the very start of a text file): parsed into metadata, kept
in the text but not indexed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from indexer.config import ReadingSettings
from indexer.errors import UnreadableDocumentError
from indexer.reading.readers.base import MetaValue
from indexer.reading.readers.metadata import flatten, iso_date

_BLOCK = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (several times faster), else PyYAML's."""
_EMPTY_BLOCK = re.compile(r"\A---[ \t]*\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)")


@dataclass(frozen=True, slots=True)
class FrontMatter:
    end: int
    """Where the text after the closing ``---`` starts (0: no front matter)."""
    metadata: dict[str, MetaValue] = field(default_factory=dict)
    title: str | None = None
    date: str | None = None


def front_matter(text: str, limits: ReadingSettings) -> FrontMatter:
    """The front matter at the start of ``text``; a block that is not a YAML mapping is not one. A
    block larger than ``reading.max_front_matter_kb`` is refused before YAML parses it."""
    if not text.startswith("---"):
        return FrontMatter(0)
    empty = _EMPTY_BLOCK.match(text)
    if empty:
        return FrontMatter(empty.end())
    match = _BLOCK.match(text)
    if match is None:
        return FrontMatter(0)
    size = len(match.group(1).encode("utf-8", "surrogatepass"))
    if size > limits.max_front_matter_bytes:
        raise UnreadableDocumentError(
            f"front matter of {size / 2**10:.0f} KB, more than reading.max_front_matter_kb "
            f"({limits.max_front_matter_kb:g})"
        )
    try:
        data = yaml.load(match.group(1), Loader=_LOADER)
    except (yaml.YAMLError, RecursionError, ValueError):
        return FrontMatter(0)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return FrontMatter(0)
    title = data.get("title")
    return FrontMatter(
        end=match.end(),
        metadata=flatten(data),
        title=" ".join(title.split()) if isinstance(title, str) and title.strip() else None,
        date=iso_date(data.get("date")),
    )
