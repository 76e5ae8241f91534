"""The README's commands, layout and length, the CLI's --help and the config keys stay in step."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import msgspec
import pytest
import yaml

from service.settings import AppSettings as Settings

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
README_MAX_LINES = 250
NO_COMMIT_HASHES = ("README.md", "docs/retrieval-quality.md", "docs/performance.md", "docs/comparison.md")
COMMIT_HASH = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b")
"""A git object name: 7 to 40 hex digits with at least one letter and one digit, standing alone."""
RESTRUCTURED_TEXT = re.compile(r"``|:(?:class|func|meth|mod|attr|data|obj|exc|ref|doc):`")


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
    for command in ("build", "watch", "inspect"):
        assert command in result.stdout
        assert f"python -m indexer {command}" in README


def test_readme_is_short() -> None:
    lines = len(README.splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; figures belong in docs/"


@pytest.mark.parametrize("name", NO_COMMIT_HASHES)
def test_no_commit_hashes_in_user_documents(name: str) -> None:
    """Figures name the command that reproduces them, not the commit they were measured at."""
    text = (REPO / name).read_text(encoding="utf-8")
    found = [m.group() for m in COMMIT_HASH.finditer(text)]
    assert not found, f"{name} names commits: {found}"


def _layout_folders() -> set[str]:
    """The folders the README's Layout tree names, as paths (two spaces of indent per level)."""
    section = README.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```\n(.+?)\n```", section, flags=re.DOTALL)
    assert match, "the Layout section has no tree"
    folders: set[str] = set()
    parents: list[str] = []
    for line in match.group(1).splitlines():
        entry = re.match(r"( *)([\w.-]+)/(?:\s|$)", line)
        if entry is None:
            continue  # a description running on from the line above
        indent = len(entry.group(1))
        assert indent % 2 == 0 and indent // 2 <= len(parents), f"bad indentation: {line!r}"
        del parents[indent // 2 :]
        parents.append(entry.group(2))
        folders.add("/".join(parents))
    return folders


def test_readme_layout_matches_the_tree() -> None:
    named = _layout_folders()
    packages = {
        init.parent.relative_to(REPO).as_posix()
        for top in ("indexer", "service")
        for init in (REPO / top).rglob("__init__.py")
    }
    unnamed = (packages | {"bench", "tests", "docs"}) - named
    assert not unnamed, f"README's Layout does not name {sorted(unnamed)}"
    missing = {folder for folder in named if not (REPO / folder).is_dir()}
    assert not missing, f"README's Layout names folders that do not exist: {sorted(missing)}"


def _help(*command: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *command, "--help"], cwd=REPO, capture_output=True, text=True, check=True
    )
    return result.stdout


def test_help_texts_show_no_restructured_text() -> None:
    """--help is read by people in a terminal: no ``literals`` or :class:`roles` from docstrings."""
    top = _help("indexer")
    match = re.search(r"\{([\w,]+)\}", top)
    assert match, top
    pages = {"indexer": top, "service": _help("service")}
    pages.update({f"indexer {c}": _help("indexer", c) for c in match.group(1).split(",")})
    assert set(pages) >= {"indexer build", "indexer watch", "indexer inspect", "indexer eval"}
    for name, text in pages.items():
        assert not RESTRUCTURED_TEXT.search(text), f"python -m {name} --help:\n{text}"


def test_clients_extra_has_what_the_readme_examples_import() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    clients = project["optional-dependencies"]["clients"]
    assert any(requirement.startswith("openai") for requirement in clients)
    assert any(requirement.startswith("mcp") for requirement in project["dependencies"])
    assert "pip install -e '.[clients]'" in README and "from openai import OpenAI" in README
