"""Which changes in a source folder concern its index, and the document each one names."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from indexer.reading.names import doc_id_for
from indexer.reading.sidecar import SIDECAR_SUFFIX, is_sidecar

TEMPORARY_NAMES = re.compile(
    r"""~$                  # backups: report.md~
    | ^~\$                  # office lock files: ~$report.docx
    | ^\#.*\#$              # emacs auto-saves: #notes.md#
    | ^4913$                # vim's probe file
    | \.___jb_\w+___$       # JetBrains safe-write files
    | \.(?:tmp|temp|part|partial|crdownload|download|swp|swx)$  # downloads and copies in progress
    """,
    re.IGNORECASE | re.VERBOSE,
)
"""Files editors, browsers and office suites write beside a document while it is edited or
downloaded: never documents themselves. Hidden files (``.name``) are left out as the build leaves
them out."""


class SourcePaths:
    """The paths of one source folder that can be documents: not hidden (as the build leaves hidden
    files and folders out), not an editor's temporary file, not inside a folder that is ignored (the
    index folder, when it is inside the source folder)."""

    def __init__(self, root: Path, ignore: Iterable[Path] = ()) -> None:
        self.root = Path(os.path.abspath(root))
        folders = (Path(os.path.abspath(path)) for path in ignore)
        # a folder that holds the source folder (a collection created over HTTP keeps its sources in
        # its index folder) is not left out: only what it holds beside the sources is
        self.ignore = tuple(folder for folder in folders if not self.root.is_relative_to(folder))

    def _parts(self, path: Path) -> tuple[str, ...] | None:
        try:
            return path.relative_to(self.root).parts
        except ValueError:
            return None

    def wanted(self, path: str | Path) -> bool:
        """Whether a change of ``path`` (a file or a folder) can concern a document."""
        path = Path(path)
        parts = self._parts(path)
        if not parts:
            return False
        if any(part.startswith(".") for part in parts) or TEMPORARY_NAMES.search(parts[-1]):
            return False
        return not any(path == folder or path.is_relative_to(folder) for folder in self.ignore)

    def doc_id(self, path: str | Path) -> str | None:
        """The id of the document a change of the file ``path`` concerns (a metadata sidecar's change,
        ``report.pdf.meta.json``, is its document's), or None when it concerns none."""
        path = Path(path)
        if not self.wanted(path):
            return None
        if is_sidecar(path):
            base = path.name[: -len(SIDECAR_SUFFIX)]
            if not base or base.startswith(".") or TEMPORARY_NAMES.search(base):
                return None
            path = path.with_name(base)
        return doc_id_for(self.root, path)

    def files_under(self, folder: Path) -> Iterator[Path]:
        """Every wanted file under ``folder`` (a folder moved or copied in arrives as one event)."""
        for dirpath, dirnames, filenames in os.walk(folder):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if self.wanted(here / d))
            for name in sorted(filenames):
                if self.wanted(here / name):
                    yield here / name
