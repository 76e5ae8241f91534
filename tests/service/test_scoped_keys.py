"""Scoped keys (``auth.keys``): each reaches the collections it names; ``api_keys`` and
``admin_keys`` keep reaching every collection; ``python -m service keys new`` makes a key."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.errors import ConfigError
from service.admission.auth import NOBODY, KeyChecker
from service.errors import ForbiddenError, UnauthorizedError
from service.settings import AppSettings, load_app_settings

TEAM_KEY = "team-key-0123456789abcdef"
READER_KEY = "reader-key-0123456789abcdef"
API_KEY = "api-key-0123456789abcdef"
ADMIN_KEY = "admin-key-0123456789abcdef"

CONFIG = f"""
collections:
  default: {{seeds_dir: seeds}}
  papers: {{seeds_dir: papers}}
  private: {{seeds_dir: private}}
auth:
  api_keys: ["{API_KEY}"]
  admin_keys: ["{ADMIN_KEY}"]
  keys:
    - name: team-a
      sha256: "{hashlib.sha256(TEAM_KEY.encode()).hexdigest()}"
      collections: {{default: [search], papers: [search, write]}}
    - name: reader
      key: "{READER_KEY}"
      collections: {{"*": [search]}}
"""


def _settings(tmp_path: Path, text: str = CONFIG) -> AppSettings:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_app_settings(path, environ={})


def _bearer(key: str) -> str:
    return f"Bearer {key}"


def test_a_scoped_key_reaches_only_its_collections(tmp_path: Path) -> None:
    checker = KeyChecker(_settings(tmp_path).auth)
    team = checker.check(_bearer(TEAM_KEY), "api")
    assert team.name == "team-a" and not team.admin
    assert team.visible(("default", "papers", "private")) == ("default", "papers")
    assert team.may("papers", "write") and not team.may("default", "write")
    reader = checker.check(_bearer(READER_KEY), "api")
    assert reader.visible(("default", "papers", "private")) == ("default", "papers", "private")
    assert not reader.may("papers", "write")


def test_unscoped_keys_keep_reaching_every_collection(tmp_path: Path) -> None:
    checker = KeyChecker(_settings(tmp_path).auth)
    api = checker.check(_bearer(API_KEY), "api")
    assert api.visible(("default", "private")) == ("default", "private") and not api.may("private", "write")
    admin = checker.check(_bearer(ADMIN_KEY), "admin")
    assert admin.admin and admin.may("private", "write")
    with pytest.raises(ForbiddenError):
        checker.check(_bearer(TEAM_KEY), "admin")


def test_unknown_keys_and_no_key_are_refused_once_scoped_keys_exist(tmp_path: Path) -> None:
    checker = KeyChecker(_settings(tmp_path, CONFIG.replace(f'  api_keys: ["{API_KEY}"]\n', "")).auth)
    with pytest.raises(UnauthorizedError, match="required"):
        checker.check(None, "api")
    with pytest.raises(UnauthorizedError, match="not valid"):
        checker.check(_bearer(TEAM_KEY + "x"), "api")
    assert checker.check(None, "public") is NOBODY


def test_without_keys_every_collection_is_open(tmp_path: Path) -> None:
    checker = KeyChecker(_settings(tmp_path, "seeds_dir: s\n").auth)
    assert checker.check(None, "api").visible(("default",)) == ("default",)


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ("{name: x, collections: {default: [search]}}", "exactly one of sha256 and key"),
        (f'{{name: x, key: "{TEAM_KEY}", sha256: "{"0" * 64}"}}', "exactly one of sha256 and key"),
        ('{name: x, sha256: "ABC"}', "sha256"),
        (
            f'{{name: x, key: "{TEAM_KEY}", collections: {{nope: [search]}}}}',
            "'nope', which is not configured",
        ),
        (f'{{name: x, key: "{TEAM_KEY}", collections: {{default: [read]}}}}', "Invalid enum value 'read'"),
        ("{name: x, key: short}", "key"),
    ],
)
def test_a_bad_key_entry_is_a_config_error(tmp_path: Path, entry: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        _settings(tmp_path, f"auth:\n  keys: [{entry}]\n")


def test_two_keys_with_one_name_are_a_config_error(tmp_path: Path) -> None:
    entry = f'{{name: x, key: "{TEAM_KEY}"}}'
    with pytest.raises(ConfigError, match="more than one key"):
        _settings(tmp_path, f"auth:\n  keys: [{entry}, {entry}]\n")


def test_keys_new_prints_a_key_and_its_sha256(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "service", "keys", "new"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    lines = dict(line.split(": ", 1) for line in run.stdout.strip().splitlines())
    key, digest = lines["key"].strip(), lines["sha256"].strip()
    assert len(key) >= 40 and hashlib.sha256(key.encode()).hexdigest() == digest
    assert digest in run.stderr  # the config line to paste
    settings = _settings(tmp_path, f'auth:\n  keys: [{{name: new, sha256: "{digest}"}}]\n')
    assert KeyChecker(settings.auth).check(_bearer(key), "api").name == "new"
