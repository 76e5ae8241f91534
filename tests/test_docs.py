"""The README's commands, the CLI's --help and the config keys stay in step."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import msgspec
import yaml

from service.settings import AppSettings as Settings

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def _setup_commands() -> list[str]:
    section = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section, flags=re.DOTALL)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    commands = _setup_commands()
    assert len(commands) == 2
    serve, test = commands
    assert "pip install" in serve and "indexer build" in serve and "-m service" in serve
    assert "pip install" in test and "pytest" in test
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci.splitlines()


def test_config_yaml_sets_every_documented_key() -> None:
    data = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    _assert_same_keys(data, Settings)


def _assert_same_keys(data: dict[str, object], section: type, prefix: str = "") -> None:
    """Every key of ``section`` (nested sections too) is set in ``data``, and nothing else."""
    fields = {f.name: f for f in msgspec.structs.fields(section)}
    assert set(data) == set(fields), prefix or "top level"
    for name, value in data.items():
        if isinstance(value, dict):
            _assert_same_keys(value, fields[name].type, f"{prefix}{name}.")


def test_cli_help_lists_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "indexer", "--help"], cwd=REPO, capture_output=True, text=True, check=True
    )
    for command in ("build", "inspect"):
        assert command in result.stdout
        assert f"python -m indexer {command}" in README
