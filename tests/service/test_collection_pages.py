"""Page images of the PDFs of any collection over real HTTP: ``/v1/collections/{name}/documents/{doc_id}
/pages/{n}`` renders the collection's own file (not the default's of the same id), under the same
access rules as its documents (404 for a collection the key may not search, as for one that does not
exist), and a citation's url plus ``/pages/{n}`` is the page its boxes are drawn on."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from indexer.build import Builder
from indexer.embedding import Embedder
from service.app import create_app
from service.settings import AppSettings, AuthSettings, KeySettings
from tests.documents import make_pdf
from tests.service.helpers import with_collections
from tests.service.server import serve

API = "api-key-0123456789abcdef"  # every collection
DEFAULT_ONLY = "default-key-0123456789abcdef"
PDFS = {
    "default": make_pdf([["The lighthouse keeper logs the fog."], ["Ships pass the rocky coast."]]),
    "papers": make_pdf(
        [["Honey bees dance in the hive."], ["Nectar and pollen feed the colony."], ["Drones."]]
    ),
}


def _build(settings: AppSettings, name: str, embedder: Embedder) -> None:
    collection = settings.collection(name)
    (collection.seeds_dir / "report.pdf").write_bytes(PDFS[name])
    assert Builder(collection, lambda: embedder).build().published


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    settings = with_collections(
        tmp_path_factory.mktemp("pages"), ("default", "papers"), reload_poll_seconds=0
    )
    for name in ("default", "papers"):
        _build(settings, name, embedder)
    keys = (KeySettings(name="default-only", key=DEFAULT_ONLY, collections={"default": ("search",)}),)
    settings = msgspec.structs.replace(settings, auth=AuthSettings(keys=keys, api_keys=(API,)))
    with serve(create_app(settings, embedder=embedder)) as base:
        yield base


def get(site: str, key: str, path: str) -> httpx.Response:
    return httpx.get(site + path, headers={"authorization": f"Bearer {key}"}, timeout=30)


def _image(response: httpx.Response) -> Any:
    from PIL import Image

    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content))


def test_a_collections_pdf_page_renders_from_its_own_file(site: str) -> None:
    papers = get(site, API, "/v1/collections/papers/documents/report.pdf/pages/3?width=200")
    assert papers.headers["content-type"] == "image/png" and _image(papers).width == 200
    # The default collection has a report.pdf too, of two pages: page 3 is the papers one's.
    assert get(site, API, "/v1/documents/report.pdf/pages/3").status_code == 404
    default = get(site, API, "/v1/collections/default/documents/report.pdf/pages/1?width=200")
    assert default.content == get(site, API, "/v1/documents/report.pdf/pages/1?width=200").content
    webp = get(site, API, "/v1/collections/papers/documents/report.pdf/pages/1?width=64&format=webp")
    assert webp.headers["content-type"] == "image/webp" and _image(webp).width == 64


def test_a_citations_boxes_are_on_the_page_its_url_names(site: str) -> None:
    body = {"query": "honey bees dance", "collections": ["papers"], "top_k": 1}
    response = httpx.post(
        site + "/v1/search", json=body, headers={"authorization": f"Bearer {API}"}, timeout=30
    )
    citation = response.json()["results"][0]["citation"]
    assert citation["collection"] == "papers" and citation["boxes"], citation
    page = citation["boxes"][0]["page"]
    url = citation["url"].split("?")[0] + f"/pages/{page}"
    assert url.startswith("/v1/collections/papers/documents/report.pdf/")
    assert _image(get(site, API, url)).height > 0


@pytest.mark.parametrize(
    ("key", "path", "status", "detail"),
    [
        (DEFAULT_ONLY, "/v1/collections/papers/documents/report.pdf/pages/1", 404, "no collection"),
        (API, "/v1/collections/nope/documents/report.pdf/pages/1", 404, "no collection"),
        (API, "/v1/collections/papers/documents/report.pdf/pages/4", 404, "no page 4"),
        (API, "/v1/collections/papers/documents/other.pdf/pages/1", 404, "no document"),
        (API, "/v1/collections/papers/documents/report.pdf/pages/1?width=9", 422, "width"),
        (API, "/v1/collections/papers/documents/report.pdf/pages/1?format=gif", 422, "format"),
    ],
)
def test_refusals_name_the_reason_and_hide_other_collections(
    site: str, key: str, path: str, status: int, detail: str
) -> None:
    response = get(site, key, path)
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]
    if key == DEFAULT_ONLY:
        assert (
            response.json()["detail"].split("'")[0]
            == get(site, API, path.replace("papers", "nope")).json()["detail"].split("'")[0]
        )
