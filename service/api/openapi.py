"""The OpenAPI schema at ``/schema`` and its Swagger UI, served fully offline: the UI's JavaScript and
CSS come from the ``swagger-ui-bundle-v2`` package (Swagger UI 5, which reads OpenAPI 3.1) under
``/static/swagger-ui/``, not from a CDN.

Only the files our page uses are served from the package, not its stock ``index.html`` (which loads the
petstore example and the swagger.io validator). The page at ``/schema/swagger`` has no inline script
(it starts Swagger UI from ``swagger-init.js``) and every answer under ``/schema`` carries a
Content-Security-Policy that lets it load and connect to nothing but this service, and be framed by
no page (``frame-ancestors 'none'``)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from litestar import Request, Router, get
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import FromPath
from litestar.response import File

from service import __version__
from service.admission.auth import BEARER_SCHEME, PUBLIC
from service.errors import NotFoundError

SWAGGER_ASSETS = "/static/swagger-ui"
INIT_SCRIPT = "swagger-init.js"
PACKAGE_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
"""The files of the ``swagger-ui-bundle-v2`` package the page uses: nothing else of it is served."""
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # Swagger UI's stylesheet draws its icons as data: SVGs
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SCHEMA_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _swagger_folder() -> Path:
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


def swagger_assets() -> Router:
    """``/static/swagger-ui/<name>``: :data:`PACKAGE_FILES` from the package and our ``swagger-init.js``
    (404 for any other name)."""
    folder = _swagger_folder()
    files = {name: folder / name for name in PACKAGE_FILES}
    files[INIT_SCRIPT] = Path(__file__).parent / INIT_SCRIPT

    @get("/{name:str}", opt=PUBLIC, include_in_schema=False, sync_to_thread=False, name="swagger-ui")
    def swagger_asset(name: FromPath[str]) -> File:
        """One file of the API docs page."""
        if name not in files:
            raise NotFoundError(f"no such file: {SWAGGER_ASSETS}/{name}")
        path = files[name]
        media_type = MEDIA_TYPES[path.suffix]
        return File(
            path=path, media_type=media_type, content_disposition_type="inline", headers=SCHEMA_HEADERS
        )

    return Router(path=SWAGGER_ASSETS, route_handlers=[swagger_asset])


class OfflineSwagger(SwaggerRenderPlugin):
    """Swagger UI with no inline script or style: the schema is fetched from ``/schema/openapi.json``
    by ``swagger-init.js``, and no OAuth2 redirect page is served (the API takes bearer keys)."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema["info"]["title"]))
        schema_url = escape(self.get_openapi_json_route(request))
        return (
            "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
            f"<title>{title}</title>\n{self.favicon}\n"
            f"<link rel='stylesheet' href='{self.css_url}'>\n"
            f"<script src='{self.js_url}'></script>\n"
            f"<script src='{SWAGGER_ASSETS}/{INIT_SCRIPT}'></script>\n"
            f"</head>\n<body>\n<div id='swagger-ui' data-schema='{schema_url}'></div>\n</body>\n</html>\n"
        ).encode()

    def receive_router(self, router: Router) -> None:
        return


def openapi_config() -> OpenAPIConfig:
    swagger = OfflineSwagger(
        js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
        favicon=f"<link rel='icon' type='image/png' href='{SWAGGER_ASSETS}/favicon-32x32.png'>",
    )
    return OpenAPIConfig(
        title="citesearch",
        version=__version__,
        description="Semantic search over your documents with exact citations.",
        openapi_router=Router(
            path="/schema", route_handlers=[], response_headers=SCHEMA_HEADERS, include_in_schema=False
        ),
        render_plugins=[JsonRenderPlugin(), swagger],
        components=Components(security_schemes={BEARER_SCHEME: SecurityScheme(type="http", scheme="bearer")}),
    )
