"""Configuration errors a user can act on: the environment variable named when it set the wrong
value, the choices listed when a value is not one of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.config import load_settings
from indexer.errors import ConfigError
from service.settings import load_app_settings


def _config(tmp_path: Path, text: str = "retrieval:\n  mode: hybrid\n") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path | None, **environ: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=environ)
    return str(caught.value)


def test_a_wrong_value_from_the_environment_names_the_variable_and_the_choices(tmp_path: Path) -> None:
    message = _error(_config(tmp_path), CITESEARCH__RETRIEVAL__MODE="Dense")
    assert message.startswith("environment variable CITESEARCH__RETRIEVAL__MODE: Invalid enum value 'Dense'")
    assert message.endswith("(choose from dense, hybrid, lexical)")
    assert "config.yaml" not in message


def test_a_wrong_value_in_the_file_names_the_file_and_the_choices(tmp_path: Path) -> None:
    path = _config(tmp_path, "index:\n  large: flat\n")
    message = _error(path, CITESEARCH__RETRIEVAL__MODE="dense")  # a good override is not blamed
    assert message.startswith(f"{path}: Invalid enum value 'flat' - at `$.index.large`")
    assert message.endswith("(choose from hnsw, ivf, ivfpq)")


def test_a_misspelt_variable_is_named(tmp_path: Path) -> None:
    message = _error(_config(tmp_path), CITESEARCH__RETRIEVAL__MDOE="dense")
    assert message.startswith("environment variable CITESEARCH__RETRIEVAL__MDOE: ")
    assert "unknown field `mdoe`" in message


def test_a_variable_that_sets_a_whole_section_is_named(tmp_path: Path) -> None:
    message = _error(_config(tmp_path), CITESEARCH__MODEL="{variant: int8}")
    assert message.startswith("environment variable CITESEARCH__MODEL: Invalid enum value 'int8'")
    assert "(choose from onnx-fp32, onnx-int8, torch)" in message


def test_a_conflict_between_file_and_environment_names_both(tmp_path: Path) -> None:
    path = _config(tmp_path, "chunking:\n  max_tokens: 100\n")
    message = _error(path, CITESEARCH__CHUNKING__OVERLAP_TOKENS="100")
    assert message.startswith(f"{path} with environment variable CITESEARCH__CHUNKING__OVERLAP_TOKENS: ")


def test_without_a_config_file_the_variable_is_still_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./config.yaml: defaults plus the environment
    message = _error(None, CITESEARCH__MODEL__BATCH_SIZE="many")
    assert message == (
        "environment variable CITESEARCH__MODEL__BATCH_SIZE: Expected `int`, got `str` "
        "- at `$.model.batch_size`"
    )


def test_the_service_sections_say_the_same(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_app_settings(_config(tmp_path), environ={"CITESEARCH__SERVICE__PORT": "many"})
    assert str(caught.value).startswith("environment variable CITESEARCH__SERVICE__PORT: Expected `int`")
