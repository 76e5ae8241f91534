"""``GET /`` and ``GET /documents/{doc_id}``: one HTML shell whose script shows a search or a document
from the address; its script, style sheet and icon are served from ``static/`` under ``/static/app/``.

The shell names each asset with a digest of its content (``app.js?v=…``), so assets may be cached for
good and a new version is fetched as soon as it ships. A Content-Security-Policy lets the page load and
connect to nothing but this service: no CDN, no web font, no inline script or style."""

from __future__ import annotations

import hashlib
from pathlib import Path

from litestar import Response, get
from litestar.datastructures import CacheControlHeader
from litestar.enums import MediaType
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from service.admission.auth import PUBLIC

ASSETS_PATH = "/static/app"
HERE = Path(__file__).parent
STATIC = HERE / "static"
ASSETS = ("app.js", "writes.js", "app.css", "icon.svg")
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
"""Headers of the shell. Its assets get ``nosniff`` and a long ``Cache-Control`` (their URLs change
with their content)."""


def shell() -> bytes:
    """``shell.html`` with each asset's URL carrying its content digest."""
    html = (HERE / "shell.html").read_text(encoding="utf-8")
    for name in ASSETS:
        digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
        html = html.replace(f'"{ASSETS_PATH}/{name}"', f'"{ASSETS_PATH}/{name}?v={digest}"')
    return html.encode("utf-8")


def page_routes() -> list[ControllerRouterHandler]:
    """The page's routes: the shell at ``/``, ``/documents/…`` and ``/collections/{name}/documents/…``
    and the assets under ``/static/app/``
    (all public: the page asks for an API key itself when the service needs one)."""
    body = shell()

    @get(
        ["/", "/documents/{doc_id:path}", "/collections/{name:str}/documents/{doc_id:path}"],
        opt=PUBLIC,
        include_in_schema=False,
        media_type=MediaType.HTML,
        sync_to_thread=False,
        name="page",
    )
    def page() -> Response[bytes]:
        """The search page (a document's page is the same shell: its script reads the address)."""
        return Response(body, media_type=MediaType.HTML, headers=PAGE_HEADERS)

    assets = create_static_files_router(
        path=ASSETS_PATH,
        directories=[STATIC],
        opt=PUBLIC,
        name="app-assets",
        cache_control=CacheControlHeader(public=True, max_age=365 * 86400, immutable=True),
        after_request=_nosniff,
    )
    return [page, assets]


async def _nosniff(response: Response[bytes]) -> Response[bytes]:
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
