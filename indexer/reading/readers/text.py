"""Plain text and Markdown: UTF-8, kept byte-for-byte (no newline translation) so offsets are exact."""

from __future__ import annotations

from pathlib import Path

from indexer.errors import UnreadableDocumentError


class TextReader:
    suffixes: tuple[str, ...] = (".txt", ".md", ".markdown")

    def read(self, data: bytes, path: Path) -> str:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnreadableDocumentError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
