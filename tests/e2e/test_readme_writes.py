"""The README's "Add and delete documents" commands, run as shown (curl, with ``$KEY`` set) against a
real server: the uploaded documents become searchable, the metadata filterable, the deleted one gone."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import msgspec
import pytest

from service.app import create_app
from service.settings import AuthSettings
from tests.conftest import REPO, make_settings
from tests.documents import make_pdf
from tests.hash_embedder import HashEmbedder
from tests.service.server import serve

KEY = "readme-writer-key-000001"
README = (REPO / "README.md").read_text(encoding="utf-8")


def commands() -> list[str]:
    section = README.split("\n## Add and delete documents\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.+?)\n```", section, flags=re.DOTALL)
    return str(block).splitlines()


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's commands use curl")
def test_the_readme_s_write_commands_work_as_shown(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    settings = make_settings(tmp_path, auth=AuthSettings(admin_keys=(KEY,)))
    settings = msgspec.structs.replace(settings, reading=msgspec.structs.replace(settings.reading, ocr="off"))
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.md").write_text("# Team notes\n\nThe kiln reaches 1200 degrees for stoneware.\n")
    (work / "report.pdf").write_bytes(make_pdf([["Quarterly report", "Sales of glazes doubled in spring."]]))
    upload, post, remove = commands()
    headers = {"Authorization": f"Bearer {KEY}"}
    with serve(create_app(settings, embedder=HashEmbedder())) as url:

        def run(command: str) -> None:
            command = command.replace("http://127.0.0.1:8000", url)
            done = subprocess.run(
                ["bash", "-c", f"{command} --fail-with-body -sS"],
                cwd=work,
                env={**os.environ, "KEY": KEY},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stdout + done.stderr

        def top(query: str, **body: object) -> list[str]:
            answer = httpx.post(
                f"{url}/v1/search", json={"query": query, "mode": "lexical", **body}, headers=headers
            )
            assert answer.status_code == 200, answer.text
            return [str(r["citation"]["doc_id"]) for r in answer.json()["results"]]

        def eventually(check: Callable[[], bool]) -> None:
            deadline = time.monotonic() + 30
            while not check():
                assert time.monotonic() < deadline, "not published within 30 s"
                time.sleep(0.1)

        run(upload)  # ?wait=true: searchable once it answers
        assert top("kiln stoneware")[:1] == ["team/notes.md"]
        run(post)
        team = {"type": "eq", "key": "team", "value": "a"}
        status = f"{url}/v1/collections/default/status/report.pdf"
        eventually(lambda: httpx.get(status, headers=headers).json().get("status") == "indexed")
        assert top("glazes sales", filters=team)[:1] == ["report.pdf"]
        run(remove)
        eventually(lambda: "team/notes.md" not in top("kiln stoneware"))
