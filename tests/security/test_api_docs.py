"""Issue 24: the API docs load nothing from other sites. The package's stock ``index.html`` (which
loads petstore.swagger.io and validator.swagger.io in the browser) is not served, only the files our
page uses, and ``/schema/swagger`` carries a Content-Security-Policy with ``frame-ancestors``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from service.app import create_app
from tests.conftest import make_settings

STOCK_FILES = [
    "index.html",
    "swagger-initializer.js",
    "oauth2-redirect.html",
    "oauth2-redirect.js",
    "index.j2",
    "swagger-ui.js.map",
    "swagger-ui-es-bundle.js",
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[type-arg]
    (tmp_path / "seeds").mkdir()
    with TestClient(create_app(make_settings(tmp_path))) as client:
        yield client


def _policy(header: str) -> dict[str, str]:
    return {
        part.split()[0]: part.partition(" ")[2] for part in (p.strip() for p in header.split(";")) if part
    }


@pytest.mark.parametrize("name", STOCK_FILES)
def test_the_package_s_own_pages_are_not_served(client: TestClient, name: str) -> None:  # type: ignore[type-arg]
    assert client.get(f"/static/swagger-ui/{name}").status_code == 404


def test_the_docs_page_runs_no_inline_script_and_may_not_be_framed(client: TestClient) -> None:  # type: ignore[type-arg]
    page = client.get("/schema/swagger")
    assert page.status_code == 200
    policy = _policy(page.headers["content-security-policy"])
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text and "onload" not in page.text  # every script is a file
    assert "swagger.io" not in page.text
    for asset in re.findall(r"""(?:src|href)=["']([^"']+)""", page.text):
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert answer.headers["x-content-type-options"] == "nosniff", asset
        assert answer.headers["content-type"].split(";")[0] in ("text/javascript", "text/css", "image/png")
        assert b"petstore.swagger.io" not in answer.content, asset


def test_the_schema_itself_carries_the_policy(client: TestClient) -> None:  # type: ignore[type-arg]
    answer = client.get("/schema/openapi.json")
    assert answer.status_code == 200
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
