"""The search page as HTTP serves it (the browser tests in tests/web/ drive it): one shell at ``/`` and
``/documents/…`` under a strict Content-Security-Policy, its assets from the package, no key and no
rate limit for the page itself, nothing that points elsewhere, and a page weight under 100 KB."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.settings import AppSettings, AuthSettings
from service.web.page import ASSETS, CONTENT_SECURITY_POLICY, STATIC
from tests.conftest import REPO
from tests.hash_embedder import HashEmbedder

Client = TestClient  # type: ignore[type-arg]
PAGE_WEIGHT_LIMIT = 100_000
"""Bytes of HTML, JavaScript and CSS the page loads (its icon aside)."""


@pytest.fixture
def client(settings: AppSettings) -> Iterator[Client]:
    """An app with no index yet (the page is served all the same) and the fast stand-in model."""
    with TestClient(app=create_app(settings, embedder=HashEmbedder())) as test_client:
        yield test_client


def assets_of(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)""", html)


def test_the_page_is_served_under_a_strict_content_security_policy(client: Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "connect-src", "form-action"):
        assert policy[directive] == "'self'", directive
    assert policy["img-src"] == "'self' blob:"  # page images are fetched with the API key, shown as blobs
    assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["x-content-type-options"] == "nosniff"
    assert 'data-testid="query"' in page.text
    assert client.get("/documents/some/folder/report.pdf?start=1&end=9").text == page.text  # same shell


def test_assets_are_versioned_by_their_content_and_cached(client: Client) -> None:
    html = client.get("/").text
    named = assets_of(html) + re.findall(r"""content=["'](/static/[^"']+)""", html)  # writes.js: loaded later
    linked = {url.split("?")[0].rsplit("/", 1)[-1]: url for url in named if url.startswith("/static/")}
    assert set(linked) == set(ASSETS), linked
    for name, url in linked.items():
        digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
        assert url == f"/static/app/{name}?v={digest}"
        asset = client.get(url)
        assert asset.status_code == 200 and asset.content == (STATIC / name).read_bytes()
        assert "immutable" in asset.headers["cache-control"]
        assert asset.headers["x-content-type-options"] == "nosniff"
    assert client.get(linked["app.js"]).headers["content-type"].split(";")[0] in (
        "text/javascript",
        "application/javascript",
    )


def test_the_page_weighs_under_100_kb(client: Client) -> None:
    """What everyone downloads; the upload panel's script (writes.js) loads only for a key that may write."""
    html = client.get("/").content
    total = len(html) + sum(
        len(client.get(url).content) for url in assets_of(html.decode()) if "icon" not in url
    )
    assert total < PAGE_WEIGHT_LIMIT, f"HTML+JS+CSS weigh {total} bytes"


def test_nothing_in_the_page_points_elsewhere() -> None:
    """No URL of another origin, no inline script, style or event handler (the policy would refuse
    them), no web font."""
    shell = (STATIC.parent / "shell.html").read_text(encoding="utf-8")
    sources = {"shell.html": shell, **{name: (STATIC / name).read_text(encoding="utf-8") for name in ASSETS}}
    for name, text in sources.items():
        text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")  # a name, never fetched
        assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/", text, flags=re.IGNORECASE), name
    assert all(url.startswith("/") and not url.startswith("//") for url in assets_of(shell))
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=", shell)
    css = sources["app.css"]
    assert "@import" not in css and "@font-face" not in css and "url(" not in css
    for script in ("app.js", "writes.js"):
        assert ".innerHTML" not in sources[script] and "insertAdjacentHTML" not in sources[script]


def test_the_page_needs_no_key_and_is_not_rate_limited(settings: AppSettings) -> None:
    keyed = msgspec.structs.replace(
        settings,
        auth=AuthSettings(api_keys=("page-key-0123456789abcdef",)),
        service=msgspec.structs.replace(settings.service, rate_limit=2),
    )
    with TestClient(app=create_app(keyed, embedder=HashEmbedder())) as client:
        for _ in range(3):
            assert client.get("/").status_code == 200
            assert client.get("/documents/a.txt").status_code == 200
            assert client.get(assets_of(client.get("/").text)[1]).status_code == 200
        statuses = [client.get("/v1/index").status_code for _ in range(3)]
        assert statuses == [401, 401, 429]  # what the page asks of the API needs the key and is counted


def test_a_built_wheel_ships_the_page(tmp_path: Path) -> None:
    """``pip install .`` installs a wheel: it must carry the page's files (package data)."""
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            ".",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("citesearch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"service/web/shell.html", *(f"service/web/static/{name}" for name in ASSETS)}
    assert expected <= names, expected - names
