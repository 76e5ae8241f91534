"""How OpenAI's ids name our things: a vector store is a collection (its id is the collection's name),
and an uploaded file attached to one is the document ``<file id>/<filename>`` of that collection (its
own folder in the collection's source folder, so two files of the same name never collide, and the
filename keeps the suffix that picks the reader). A document that was not uploaded through
``/v1/files`` shows as a vector store file whose id is its document id."""

from __future__ import annotations

import re
import secrets

from indexer.config import COLLECTION_NAME

FILE_ID = re.compile(r"^file-[0-9a-f]{24}$")
_UPLOADED = re.compile(r"^(file-[0-9a-f]{24})/([^/]+)$")
_NOT_NAME = re.compile(r"[^a-z0-9_-]+")
CURSOR_END = "/\U0010ffff"
"""After ``<file id>``: sorts after every document id that starts with ``<file id>/``."""


def doc_id_of(file_id: str, filename: str) -> str:
    """The document id of uploaded file ``file_id`` (named ``filename``) in a vector store."""
    return f"{file_id}/{filename}"


def file_id_of(doc_id: str) -> str:
    """The vector store file id of document ``doc_id``: the upload's ``file-...`` id, else ``doc_id``."""
    found = _UPLOADED.match(doc_id)
    return found.group(1) if found else doc_id


def filename_of(doc_id: str) -> str:
    """The name a document shows as a vector store file: an upload's own filename, else its id."""
    found = _UPLOADED.match(doc_id)
    return found.group(2) if found else doc_id


def after_cursor(file_id: str) -> str:
    """The document id a page that starts after vector store file ``file_id`` starts after."""
    return file_id + CURSOR_END if FILE_ID.match(file_id) else file_id


def collection_name(name: str | None) -> str:
    """A valid collection name made of a vector store's ``name``: lower case, runs of other
    characters as ``-``, at most 64 characters; ``vs_`` and random hex digits when nothing is left."""
    made = _NOT_NAME.sub("-", (name or "").strip().lower()).strip("-_")[:64].rstrip("-_")
    if made and COLLECTION_NAME.match(made):
        return made
    return f"vs_{secrets.token_hex(8)}"
