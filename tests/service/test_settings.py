from __future__ import annotations

from pathlib import Path

import pytest

from indexer.errors import ConfigError
from service.settings import load_app_settings as load_settings
from service.settings import with_address


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("seeds_dir: docs\nchunking:\n  max_tokens: 128\n")
    settings = load_settings(path, environ={})
    assert settings.seeds_dir == tmp_path / "docs"
    assert settings.index_dir == tmp_path / "index"
    assert settings.chunking.max_tokens == 128
    assert settings.model.name == "all-MiniLM-L6-v2"


def test_environment_overrides_are_typed(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("service:\n  port: 8000\n")
    settings = load_settings(path, environ={"CITESEARCH__SERVICE__PORT": "9001"})
    assert settings.service.port == 9001


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("chunking:\n  max_tokens: 5\n", "max_tokens"),
        ("chunking:\n  max_tokens: 100\n  overlap_tokens: 100\n", "overlap_tokens"),
        ("unknown_section: 1\n", "unknown_section"),
        ("service:\n  port: many\n", "port"),
        ("- a list\n", "mapping"),
        ("retrieval:\n  mode: psychic\n", "mode"),
    ],
)
def test_invalid_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(path, environ={})


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml", environ={})


def test_repository_config_parses() -> None:
    settings = load_settings(Path(__file__).resolve().parents[2] / "config.yaml", environ={})
    assert settings.seeds_dir.name == "seeds"


def test_links_follow_the_listening_address(tmp_path: Path) -> None:
    """With ``integrations.public_base_url`` empty (the default), links in the chatbot APIs' answers
    use the address given by ``--host``/``--port``; a set ``public_base_url`` wins."""
    path = tmp_path / "config.yaml"
    path.write_text("service:\n  port: 8000\n")
    settings = load_settings(path, environ={})
    assert settings.integrations.public_base_url == ""
    assert with_address(settings, port=9123).public_url == "http://127.0.0.1:9123"
    assert with_address(settings, host="0.0.0.0", port=9000).public_url == "http://127.0.0.1:9000"
    assert with_address(settings, host="::1", port=9000).public_url == "http://[::1]:9000"
    public = load_settings(
        path, environ={"CITESEARCH__INTEGRATIONS__PUBLIC_BASE_URL": "https://search.example"}
    )
    assert with_address(public, port=9123).public_url == "https://search.example"
