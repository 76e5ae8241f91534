"""Heading paths: the titles of the headings a passage sits under, outermost first."""

from __future__ import annotations

SEPARATOR = " > "


class HeadingPath:
    """Feed headings in document order; each gets its path (``"Apollo program > Part 2"``)."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> str:
        """The path of a heading of ``level`` (1 outermost) titled ``title``."""
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title.replace(SEPARATOR, " - ")))
        return SEPARATOR.join(t for _, t in self._stack)
