"""File names as the index keeps and shows them: a document id is valid UTF-8 whatever bytes the
name holds, and a name (or anything read from a file) printed to a terminal cannot drive it."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

_SHOWN_AS_IS = frozenset("\t")


def doc_id_for(root: Path, path: Path) -> str:
    """``path`` relative to ``root``, with forward slashes. Bytes of the name that are not UTF-8 are
    written as ``\\xNN`` (``caf\\xe9.txt``), so the id can be stored, searched and shown."""
    relative = path.relative_to(root).as_posix()
    return os.fsencode(relative).decode("utf-8", "backslashreplace")


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: control and format characters (escape sequences,
    carriage returns, bidirectional overrides) written as ``\\x1b`` / ``\\u202e``."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char in _SHOWN_AS_IS or unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(char)
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(f"\\u{ord(char):04x}")
    return "".join(out)
